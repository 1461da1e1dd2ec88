import { tmpdir } from 'node:os';
import { basename, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('the test run', () => {
  it("makes its temporary files in a folder of its own, which the global setup removes (tests/temp-folder.ts)", () => {
    expect(basename(tmpdir())).toMatch(/^fhirdq-tests-/);
    expect(dirname(tmpdir())).not.toMatch(/fhirdq-tests-/);
  });
});
