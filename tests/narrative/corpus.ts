/** Real narratives for the narrative tests: every div in the JSON files under some folders. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Files under a folder (recursively) whose names end with `ext`; none when the folder is missing. */
export function filesUnder(root: string, ext: string, out: string[] = []): string[] {
  if (!existsSync(root)) return out;
  for (const name of readdirSync(root)) {
    const p = join(root, name);
    if (statSync(p).isDirectory()) filesUnder(p, ext, out);
    else if (name.endsWith(ext)) out.push(p);
  }
  return out;
}

/** Every Narrative.div in the JSON files under the folders, also in contained resources, Bundle entries and sections. */
export function jsonDivs(roots: string[]): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) for (const x of v) walk(x);
    else if (v !== null && typeof v === 'object') {
      const div = (v as { div?: unknown }).div;
      if (typeof div === 'string') out.push(div);
      for (const x of Object.values(v)) walk(x);
    }
  };
  for (const f of roots.flatMap((r) => filesUnder(r, '.json'))) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(f, 'utf8'));
    } catch {
      continue; // the deliberately broken JSON test cases
    }
    walk(json);
  }
  return out;
}
