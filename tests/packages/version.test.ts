import { describe, expect, it } from 'vitest';
import { compareVersions, newest, versionMatches } from '../../src/packages/version.js';

describe('compareVersions', () => {
  it('orders semver numerically, pre-releases below their release', () => {
    const shuffled = ['0.12.1', '1.0', '0.2.0', '0.12.1-beta.10', '0.12.10', '0.12.1-beta.1', '0.12.1-rc.1', '0.12.1-beta.2', '0.1.0'];
    expect([...shuffled].sort(compareVersions)).toEqual([
      '0.1.0', '0.2.0', '0.12.1-beta.1', '0.12.1-beta.2', '0.12.1-beta.10', '0.12.1-rc.1', '0.12.1', '0.12.10', '1.0',
    ]);
  });

  it('treats missing parts as zero and numeric pre-release identifiers below alphanumeric ones', () => {
    expect(compareVersions('1.2', '1.2.0')).toBe(0);
    expect(compareVersions('1.0.0-alpha', '1.0.0-alpha.1')).toBeLessThan(0);
    expect(compareVersions('1.0.0-1', '1.0.0-alpha')).toBeLessThan(0);
    expect(compareVersions('1.0.0+build.5', '1.0.0')).toBe(0);
  });

  it('falls back to lexical order for non-semver versions and puts no version first', () => {
    expect(compareVersions('2019May', '2020Jan')).toBeLessThan(0);
    expect(compareVersions('current', '1.0.0')).toBeGreaterThan(0);
    expect(compareVersions(undefined, '0.0.1')).toBeLessThan(0);
    expect(compareVersions('0.0.1', undefined)).toBeGreaterThan(0);
  });

  it('newest picks the highest version', () => {
    expect(newest(['0.1.3-beta3', '0.1.3', '0.1.3-beta10'], (v) => v)).toBe('0.1.3');
    expect(newest([], (v: string) => v)).toBeUndefined();
  });
});

describe('versionMatches', () => {
  it('matches exact, partial and wildcard versions', () => {
    expect(versionMatches('1.2.3', '1.2.3')).toBe(true);
    expect(versionMatches('1.2', '1.2.7')).toBe(true);
    expect(versionMatches('1.2', '1.2.0-beta.1')).toBe(true);
    expect(versionMatches('1', '1.9.0')).toBe(true);
    expect(versionMatches('2.2.x', '2.2.14')).toBe(true);
    expect(versionMatches('0.1.x', '0.1.0')).toBe(true);
  });

  it('rejects other series and non-partial prefixes', () => {
    expect(versionMatches('1.2', '1.20.0')).toBe(false);
    expect(versionMatches('1.2.3', '1.2.30')).toBe(false);
    expect(versionMatches('2.2.x', '2.3.0')).toBe(false);
    expect(versionMatches('current', 'current.1')).toBe(false);
    expect(versionMatches('1.2', undefined)).toBe(false);
  });
});
