import { setFlagsFromString } from 'node:v8';
import type { Logger } from './logger.ts';

/**
 * Bounds how far V8 lets the heap grow past what survived the last full collection before it
 * collects again. Left to itself V8 picks a factor from 1.1 up to 4 by the machine's memory, so a
 * controller whose live heap is 150 MiB could hold two to three times that in garbage between
 * collections on a large node (docs/scale.md "Memory"). This is not a ceiling: a bigger cluster
 * still gets the memory it needs, at the price of more full collections. The flag cannot go in
 * NODE_OPTIONS (Node refuses it there); V8 reads it at every collection, so setting it at start,
 * before the caches fill, takes effect. 0 leaves V8's own choice.
 */
export function applyHeapGrowthPercent(percent: number, logger: Logger, setFlags: (flags: string) => void = setFlagsFromString): void {
  if (!Number.isInteger(percent) || percent < 0) throw new RangeError(`heapGrowthPercent must be a whole number >= 0, got ${percent}`);
  if (percent === 0) {
    logger.info('V8 heap growth between full collections: V8 default (heapGrowthPercent 0)');
    return;
  }
  setFlags(`--heap-growing-percent=${percent}`);
  logger.info({ heapGrowthPercent: percent }, `V8 heap grows at most ${percent}% past the live heap before the next full collection`);
}
