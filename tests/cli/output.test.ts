import { describe, expect, it } from 'vitest';
import type { Issue } from '../../src/validation/issues.js';
import { operationOutcomeJson, toOperationOutcome } from '../../src/validation/outcome.js';
import { chunkedWriter, createReporter, formatIssueLine, renderResource, resourceLabel, type OutputFormat } from '../../src/cli/output.js';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Log as SarifLog } from 'sarif';
import { findPosition } from '../../src/formats/locations.js';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

const given: Issue = {
  severity: 'error',
  code: 'value',
  messageId: 'string-empty',
  message: 'The value is empty',
  path: 'Patient.name[0].given[0]',
  line: 12,
  column: 7,
};
const birthDate: Issue = {
  severity: 'warning',
  code: 'invariant',
  messageId: 'dom-6',
  message: 'A resource should have narrative',
  path: 'Patient',
  line: 1,
  column: 1,
};
const unplaced: Issue = { severity: 'information', code: 'informational', messageId: 'tx-not-checkable', message: 'SNOMED CT not checkable', path: 'Patient.x' };

function render(format: OutputFormat, run: (r: ReturnType<typeof createReporter>) => void): string {
  let text = '';
  run(createReporter(format, (s) => (text += s)));
  return text;
}

describe('chunkedWriter', () => {
  it('holds text until a chunk is full, and writes bytes at once after the text before them', () => {
    const writes: (string | Uint8Array)[] = [];
    const out = chunkedWriter((s) => void writes.push(s), (b) => void writes.push(b), 10);
    out.write('abc');
    out.write('def');
    expect(writes).toEqual([]);
    const bytes = new TextEncoder().encode('zoë\n');
    out.writeBytes(bytes);
    out.write('0123456789');
    expect(writes).toEqual(['abcdef', bytes, '0123456789']);
  });

  it('decodes bytes for a destination that takes text only', () => {
    let text = '';
    const out = chunkedWriter((s) => void (text += s));
    out.write('a ');
    out.writeBytes(new TextEncoder().encode('zoë'));
    out.flush();
    expect(text).toBe('a zoë');
  });
});

describe('formatIssueLine', () => {
  it('shows severity, path, line:column, message and message id', () => {
    expect(formatIssueLine(given)).toBe('  error    Patient.name[0].given[0] (12:7)  The value is empty  [string-empty]');
  });
  it('leaves out a position it does not have', () => {
    expect(formatIssueLine(unplaced)).toBe('  info     Patient.x  SNOMED CT not checkable  [tx-not-checkable]');
  });
});

describe('resourceLabel', () => {
  it('is Type/id, Type without id, null without resource', () => {
    expect(resourceLabel({ resourceType: 'Patient', id: 'p1' })).toBe('Patient/p1');
    expect(resourceLabel({ resourceType: 'Bundle' })).toBe('Bundle');
    expect(resourceLabel(undefined)).toBeNull();
  });
});

describe('text reporter', () => {
  it('groups by file, sorts by position, and summarises per file and overall', () => {
    const text = render('text', (r) => {
      r.resource('a.json', { resource: 'Patient/p1', issues: [unplaced, given, birthDate] });
      r.fileDone('a.json');
      r.resource('b.json', { resource: 'Patient/p2', issues: [] });
      r.fileDone('b.json');
      r.done({ files: 2, resources: 2, errors: 1, warnings: 1, information: 1 });
    });
    expect(text).toBe(
      [
        'a.json',
        '  warning  Patient (1:1)  A resource should have narrative  [dom-6]',
        '  error    Patient.name[0].given[0] (12:7)  The value is empty  [string-empty]',
        '  info     Patient.x  SNOMED CT not checkable  [tx-not-checkable]',
        '  1 resource: 1 error, 1 warning, 1 information',
        '',
        'b.json',
        '  1 resource: no issues',
        '',
        '2 files, 2 resources: 1 error, 1 warning, 1 information',
        '',
      ].join('\n'),
    );
  });
});

describe('json reporter', () => {
  it('writes one document with files, resources with their OperationOutcome, and the summary', () => {
    const doc = JSON.parse(
      render('json', (r) => {
        r.resource('a.ndjson', { resource: 'Patient/p1', line: 3, issues: [given] });
        r.resource('a.ndjson', { resource: 'Patient/p2', line: 4, issues: [] });
        r.fileDone('a.ndjson');
        r.done({ files: 1, resources: 2, errors: 1, warnings: 0, information: 0 });
      }),
    );
    expect(doc.summary).toEqual({ files: 1, resources: 2, errors: 1, warnings: 0, information: 0 });
    expect(doc.files).toHaveLength(1);
    const [first, second] = doc.files[0].resources;
    expect(first.resource).toBe('Patient/p1');
    expect(first.line).toBe(3);
    expect(first.outcome.issue[0].expression).toEqual(['Patient.name[0].given[0]']);
    expect(first.outcome.issue[0].details.coding[0].code).toBe('string-empty');
    expect(second.outcome.issue[0].details.text).toBe('All OK');
  });

  it('writes each resource as it comes, parts rendered apart too, as JSON.stringify(document, null, 2) would', () => {
    let text = '';
    const r = createReporter('json', (s) => (text += s));
    // The first two resources come rendered apart (as workers render NDJSON lines), each part starting with a comma.
    const part = ['Patient/p1', 'Patient/p2'].map((resource, i) => renderResource('json', 'a.ndjson', { resource, line: i + 1, issues: i ? [] : [given, unplaced] })).join('');
    r.rendered('a.ndjson', new TextEncoder().encode(part), 2, { errors: 1, warnings: 0, information: 1 });
    r.resource('a.ndjson', { resource: 'Patient/p3', line: 3, issues: [birthDate] });
    // Written before the report ends: a big export's report is never held whole.
    expect(text).toContain('"resource": "Patient/p3"');
    r.fileDone('a.ndjson');
    r.fileDone('empty.ndjson');
    r.resource('b.json', { resource: null, issues: [{ ...given, message: 'line\nbreak "quoted"' }] });
    r.fileDone('b.json');
    const summary = { files: 3, resources: 4, errors: 2, warnings: 1, information: 1 };
    r.done(summary);
    const doc = JSON.parse(text);
    expect(text).toBe(`${JSON.stringify(doc, null, 2)}\n`);
    expect(doc.files.map((f: { file: string; resources: unknown[] }) => [f.file, f.resources.length])).toEqual([
      ['a.ndjson', 3],
      ['empty.ndjson', 0],
      ['b.json', 1],
    ]);
    expect(doc.files[0].resources[0]).toEqual({ resource: 'Patient/p1', line: 1, outcome: toOperationOutcome([given, unplaced]) });
    expect(doc.files[2].resources[0].outcome.issue[0].details.text).toBe('line\nbreak "quoted"');
    expect(doc.summary).toEqual(summary);
    // No file at all: still one document.
    const none = render('json', (rep) => rep.done({ files: 0, resources: 0, errors: 0, warnings: 0, information: 0 }));
    expect(none).toBe(`${JSON.stringify({ files: [], summary: { files: 0, resources: 0, errors: 0, warnings: 0, information: 0 } }, null, 2)}\n`);
  });
});

describe('ndjson reporter', () => {
  it('writes one line per resource with file, resource, error and warning counts and the outcome', () => {
    const text = render('ndjson', (r) => {
      r.resource('x.json', { resource: 'Patient/p1', issues: [given, birthDate, unplaced] });
      r.resource('y.json', { resource: null, issues: [{ ...given, severity: 'fatal' }] });
      r.done({ files: 2, resources: 2, errors: 2, warnings: 1, information: 1 });
    });
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(Object.keys(lines[0])).toEqual(['file', 'resource', 'errors', 'warnings', 'outcome']);
    expect(lines[0]).toMatchObject({ file: 'x.json', resource: 'Patient/p1', errors: 1, warnings: 1 });
    expect(lines[0].outcome.issue).toHaveLength(3);
    expect(lines[1]).toMatchObject({ file: 'y.json', resource: null, errors: 1, warnings: 0 });
  });
});

describe('junit reporter', () => {
  it('a test suite per file, a test case per resource: failed by its errors, warnings as its output, XML-safe', () => {
    const text = render('junit', (r) => {
      r.resource('a.ndjson', { resource: 'Patient/p1', line: 3, issues: [unplaced, given, birthDate] });
      r.resource('a.ndjson', { resource: 'Patient/p2', line: 4, issues: [] });
      r.fileDone('a.ndjson');
      r.resource('b & <c>.json', { resource: null, issues: [{ ...given, severity: 'fatal', message: 'bad byte \u0001 in "x"', path: '' }] });
      r.fileDone('b & <c>.json');
      r.fileDone('empty.json');
      r.done({ files: 3, resources: 3, errors: 2, warnings: 1, information: 1 });
    });
    expect(XMLValidator.validate(text)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', trimValues: false, isArray: (name) => name === 'testsuite' || name === 'testcase' }).parse(text);
    const suites = doc.testsuites.testsuite;
    expect(suites.map((s: { name: string }) => s.name)).toEqual(['a.ndjson', 'b & <c>.json', 'empty.json']);
    const [p1, p2] = suites[0].testcase;
    expect(p1).toMatchObject({ classname: 'a.ndjson', name: 'Patient/p1 (line 3)', failure: { type: 'error', message: '1 error', '#text': '  error    Patient.name[0].given[0] (12:7)  The value is empty  [string-empty]' } });
    expect(p1['system-out']).toBe('  warning  Patient (1:1)  A resource should have narrative  [dom-6]\n  info     Patient.x  SNOMED CT not checkable  [tx-not-checkable]');
    expect(p2).toEqual({ classname: 'a.ndjson', name: 'Patient/p2 (line 4)' });
    expect(suites[1].testcase[0]).toMatchObject({ name: '(not a resource)', failure: { message: '1 error', '#text': '  fatal    (file) (12:7)  bad byte  in "x"  [string-empty]' } });
    expect(suites[2].testcase).toBeUndefined();
  });
});

describe('sarif reporter', () => {
  it('one SARIF log for all files: a result per issue at its file, line and column, also from parts rendered apart', () => {
    const outside = path.resolve('..', 'elsewhere', 'x y.json');
    const text = render('sarif', (r) => {
      // The first results come rendered apart (as workers render NDJSON), each part starting with a comma.
      const part = renderResource('sarif', 'exports/a.ndjson', { resource: 'Patient/p1', line: 3, issues: [unplaced, given] });
      r.rendered('exports/a.ndjson', new TextEncoder().encode(part), 1, { errors: 1, warnings: 0, information: 1 });
      r.resource('exports/a.ndjson', { resource: 'Patient/p2', line: 4, issues: [] });
      r.fileDone('exports/a.ndjson');
      r.resource(outside, { resource: 'Patient', issues: [{ ...birthDate, severity: 'fatal', message: 'bad "x"' }] });
      r.fileDone(outside);
      r.done({ files: 2, resources: 3, errors: 2, warnings: 0, information: 1 });
    });
    const log = JSON.parse(text) as SarifLog;
    expect(log).toMatchObject({ version: '2.1.0', runs: [{ tool: { driver: { name: 'fhirdq' } } }] });
    const results = log.runs[0]!.results!;
    expect(results.map((r) => [r.ruleId, r.level, r.locations![0]!.physicalLocation!.artifactLocation!.uri, r.locations![0]!.physicalLocation!.region])).toEqual([
      // Sorted by position; an issue without one is placed at its NDJSON line.
      ['string-empty', 'error', 'exports/a.ndjson', { startLine: 12, startColumn: 7 }],
      ['tx-not-checkable', 'note', 'exports/a.ndjson', { startLine: 3 }],
      ['dom-6', 'error', pathToFileURL(outside).href, { startLine: 1, startColumn: 1 }],
    ]);
    expect(results[0]!.message.text).toBe('The value is empty (Patient.name[0].given[0] in Patient/p1)');
    expect(results[0]!.locations![0]!.logicalLocations).toEqual([{ fullyQualifiedName: 'Patient.name[0].given[0]', kind: 'element' }]);
    // A resource without an id is not named again after its path.
    expect(results[2]!.message.text).toBe('bad "x" (Patient)');
    // With no issue at all, still a log.
    expect(JSON.parse(render('sarif', (r) => r.done({ files: 0, resources: 0, errors: 0, warnings: 0, information: 0 }))).runs[0].results).toEqual([]);
  });
});

describe('findPosition', () => {
  const locations = new Map([
    ['Patient', { line: 1, column: 1 }],
    ['Patient.name[0]', { line: 5, column: 5 }],
    ['Patient.name[0].given[1]', { line: 7, column: 9 }],
    ['Patient.extension[2]', { line: 20, column: 5 }],
  ]);
  it('finds an exact path', () => {
    expect(findPosition('Patient.name[0].given[1]', locations)).toEqual({ line: 7, column: 9 });
  });
  it('falls back to the longest known prefix', () => {
    expect(findPosition('Patient.name[0].given[2]', locations)).toEqual({ line: 5, column: 5 });
    expect(findPosition('Patient.name[0].family', locations)).toEqual({ line: 5, column: 5 });
    expect(findPosition('Patient.birthDate', locations)).toEqual({ line: 1, column: 1 });
  });
  it('does not cut inside function arguments or quotes', () => {
    expect(findPosition("Patient.extension[2].where(url='http://a.b/c[1]').value", locations)).toEqual({ line: 20, column: 5 });
  });
  it('returns nothing when no prefix is known', () => {
    expect(findPosition('Observation.code', locations)).toBeUndefined();
  });
});

describe('operationOutcomeJson', () => {
  it('writes what JSON.stringify writes of toOperationOutcome, for every shape of issue', () => {
    const texts = ['', 'plain', 'quote " backslash \\ newline \n tab \t', 'control \u0001 \u001f', 'é 😀 \u2028 \u2029', 'lone \ud800 surrogate'];
    const severities: Issue['severity'][] = ['fatal', 'error', 'warning', 'information'];
    const issues: Issue[] = [];
    for (let i = 0; i < 60; i++) {
      const text = texts[i % texts.length]!;
      issues.push({
        severity: severities[i % 4]!,
        code: i % 3 ? 'invalid' : 'structure',
        messageId: `id-${text}`,
        message: `${text} ${i}`,
        path: i % 5 ? `Patient.name[${i}].given` : text,
        ...(i % 3 === 0 ? {} : { line: i * 7 }),
        ...(i % 3 === 1 ? { column: i } : {}),
      });
    }
    for (let n = 0; n <= issues.length; n += 7) {
      const some = issues.slice(n, n + 9);
      expect(operationOutcomeJson(some)).toBe(JSON.stringify(toOperationOutcome(some)));
    }
    expect(operationOutcomeJson([])).toBe(JSON.stringify(toOperationOutcome([])));
  });
});
