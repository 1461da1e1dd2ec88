/** How far the command line lets V8's heaps grow: the old generations between full collections, the young ones. */
import { setFlagsFromString } from 'node:v8';

/**
 * V8 lets a heap's old generation grow to up to 4 times what a full collection left alive before it collects again.
 * When threads validate, what waits for another thread lives long enough to be promoted: on a 100 MB NDJSON file each
 * validating thread's heap held about 100 MB of garbage. 1.25 times keeps them near their live size: a 100 MB Bundle
 * on every core peaked at 185 MB, against 196 MB at 1.5 times, for 0.2 s more of full collections over a 1 GB file.
 * On one thread, a big Bundle validated entry by entry promotes enough to matter too: a 1 GB Bundle with
 * `--workers 0` peaked at 318 MB, with this at 176 MB (100 MB: 159-163 MB either way).
 */
const HEAP_GROWING_PERCENT = 25;

/**
 * Sets it for every heap of the process, workers' too. V8 reads the flag at each collection, so it takes effect when
 * set at run time (unlike the heap's sizes). A process-wide setting: for the command line, not for the library.
 */
export function limitHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

/**
 * Semi-spaces of the heaps made from now on (workers'): 8 MB, their maximum (WORKER_YOUNG_GENERATION_MB in
 * validate-pool). They need not grow: held as below, they would stay at V8's first 1 MB.
 */
const WORKER_SEMI_SPACE_MB = 8;

/**
 * Keeps the main thread's young generation at the size Node's start-up left it (8 MB of new space; V8's maximum is
 * 32 MB), when workers validate beside it. V8 fixes that maximum when Node starts, before the command could set it,
 * but reads the factor a new space grows by at each growth: at 1, it does not grow. V8 puts the factor back to 2
 * whenever it makes a heap, so this is called again once the workers run (ValidatorPool.started), and nothing
 * else makes a heap after. `fhirdq validate` on 2 cores, peak RSS: 100 MB NDJSON 187-190 -> 163-174 MB, 100 MB
 * Bundle 201-207 -> 172-182 MB, 1 GB Bundle 198-205 -> 178-190 MB, for a few % more CPU time in scavenges.
 */
export function holdYoungGeneration(): void {
  setFlagsFromString(`--min-semi-space-size=${WORKER_SEMI_SPACE_MB}`);
  setFlagsFromString('--semi-space-growth-factor=1');
}
