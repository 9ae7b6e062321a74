import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ErrorCode, SurgeGuardError } from '../common/errors.ts';

/** uPlot's script, stylesheet and license, read from node_modules (no CDN: pages must work offline). */
export interface ChartAssets {
  readonly js: string;
  readonly css: string;
  readonly license: string;
}

let cached: ChartAssets | undefined;

/** Reads uPlot once from the installed package; a missing package is SG_INTERNAL naming the file. */
export function chartAssets(): ChartAssets {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const read = (rel: string): string => {
    try {
      return readFileSync(require.resolve(`uplot/${rel}`), 'utf8');
    } catch (err) {
      throw new SurgeGuardError(ErrorCode.Internal, `cannot read uplot/${rel} from node_modules (run npm install): ${String(err)}`, { cause: err });
    }
  };
  cached = Object.freeze({ js: read('dist/uPlot.iife.min.js'), css: read('dist/uPlot.min.css'), license: read('LICENSE') });
  return cached;
}
