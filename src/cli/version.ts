/** fhirdq's version, from package.json: for --version and the reports that name their tool. */
import { readFileSync } from 'node:fs';

export function packageVersion(): string {
  // The same relative path from src/cli/ and from dist/cli/.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
