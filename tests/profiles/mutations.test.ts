import { beforeAll, describe, expect, it } from 'vitest';
import { createValidator, type Validator } from '../../src/index.js';
import { EXCHANGES, fixture, MUTATIONS } from './mutations.js';

let validator: Validator;
beforeAll(async () => {
  validator = await createValidator({});
});

describe.each(EXCHANGES)('%s: mutated valid examples are rejected', (exchange) => {
  it('has at least 20 mutations', () => {
    expect(MUTATIONS[exchange].length).toBeGreaterThanOrEqual(20);
  });

  it.each(MUTATIONS[exchange].map((m) => [m.name, m] as const))('%s', (_name, m) => {
    const base = fixture(exchange, m.base);
    const resource = structuredClone(base);
    m.mutate(resource);
    expect(resource).not.toEqual(base);
    const errors = validator.validateToIssues(resource).filter((i) => i.severity === 'error');
    expect(errors.map((e) => ({ messageId: e.messageId, path: e.path }))).toContainEqual({ messageId: m.messageId, path: m.path });
  });
});
