/** `fhirdq run --check`: what a run would skip or stop on, found without reading a record. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { expandInputs, noSuchInput } from '../formats/stream-open.js';
import { loadMapping, type Mapper } from '../mapping/compile.js';
import { SpecErrors } from '../mapping/yaml-file.js';
import { loadRules } from '../quality/rules.js';
import type { LoadedRunConfig, SourceConfig } from './config.js';

/** A source's mapping, checked against the run's exchanges; a string is why the source cannot run. */
export async function sourceMapping(src: SourceConfig & { mapping: string }, baseDir: string, exchanges: ReadonlySet<string>): Promise<Mapper | string> {
  try {
    const mapper = await loadMapping(path.resolve(baseDir, src.mapping));
    const problems = mapper.exchangeProblems(src.exchange, exchanges);
    if (problems.length > 0) throw new SpecErrors(problems);
    return mapper;
  } catch (err) {
    return err instanceof SpecErrors ? err.message : `${src.mapping}: ${(err as Error).message}`;
  }
}

export interface RunCheck {
  /** One entry per problem, naming the source or setting. */
  problems: string[];
  sources: number;
  /** Input files the sources' patterns match now. */
  files: number;
}

/** Loads every mapping spec and the rule packs, and expands every source's inputs, as a run would. */
export async function checkRun(loaded: LoadedRunConfig): Promise<RunCheck> {
  const { config, baseDir } = loaded;
  const exchanges = new Set(config.exchanges.map((e) => e.id));
  const problems: string[] = [];
  let files = 0;
  for (const src of config.sources) {
    if (src.mapping) {
      const mapper = await sourceMapping({ ...src, mapping: src.mapping }, baseDir, exchanges);
      if (typeof mapper === 'string') problems.push(`source ${src.name}: ${mapper}`);
    }
    if (src.inputs) {
      const expanded = await expandInputs(src.inputs, baseDir);
      files += expanded.files.length;
      for (const input of expanded.missing) problems.push(`source ${src.name}: ${noSuchInput(input)}`);
    }
  }
  for (const ig of config.validation.igs) if (!existsSync(path.resolve(baseDir, ig))) problems.push(`validation.igs: ${ig}: no such file or folder`);
  try {
    await loadRules();
  } catch (err) {
    problems.push(`rule packs: ${(err as Error).message}`);
  }
  return { problems, sources: config.sources.length, files };
}
