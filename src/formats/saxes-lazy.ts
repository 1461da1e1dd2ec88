/** saxes, loaded on first use: a CommonJS module whose loading costs every start-up, also when no XML is read. */
import { createRequire } from 'node:module';

type Saxes = typeof import('saxes');

const require = createRequire(import.meta.url);
let saxes: Saxes | undefined;

export function SaxesParserClass(): Saxes['SaxesParser'] {
  saxes ??= require('saxes') as Saxes;
  return saxes.SaxesParser;
}
