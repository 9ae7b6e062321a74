// Start-up backfill memory benchmark (`npm run bench:backfill`, issue 21): the batch form's one
// range query for every scaler, read two ways, each in a fresh process of its own, peers in one
// run: `stream` (controller/signals/backfill.ts: the body parsed as it arrives into one
// Float64Array per scaler) and `json` (the body read whole, JSON.parse'd, then split per scaler).
// This process serves the answer (so its bytes are not counted in the readers) in Prometheus's
// own format: `--scalers` series of `--intervals` + 1 points, values written as Go writes a
// rate() (17 significant digits) or, with `--values short`, as a gauge (a few digits).
//
// Reported per reader: RSS and V8 heap used after loading modules (after a full GC), the process's
// peak RSS (the kernel's high-water mark), the largest heap used plus array buffers seen (sampled after each chunk,
// and for json after the read and after the parse), the heap after a full GC with every history
// kept, and seconds; then the ratios json / stream. Nothing is asserted.
//
//   npm run bench:backfill -- --scalers 1000 --intervals 2880 --rounds 2
//   options: --readers stream,json (default both), --values full|short, --semi-space MiB (16, as the chart)
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { silentLogger } from '../common/logger.ts';
import { createMetricRegistry } from '../common/metrics.ts';
import { createBackfill, gridOf, historyFromGrid, prometheusRangeStream, type RangeStream } from '../controller/signals/backfill.ts';
import { prometheusSignalOf } from '../controller/signals/prometheus-batch.ts';

const { values: args } = parseArgs({
  options: {
    reader: { type: 'string' },
    url: { type: 'string' },
    scalers: { type: 'string', default: '1000' },
    intervals: { type: 'string', default: '2880' },
    rounds: { type: 'string', default: '1' },
    readers: { type: 'string', default: 'stream,json' },
    values: { type: 'string', default: 'full' },
    'semi-space': { type: 'string', default: '16' },
  },
});
const num = (name: 'scalers' | 'intervals' | 'rounds' | 'semi-space'): number => {
  const v = Number(args[name]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} ${String(args[name])}: expected a whole number >= 1`);
  return v;
};
const SCALERS = num('scalers');
const INTERVALS = num('intervals');
const STEP = 15;
const END = 1_765_000_000;
const START = END - INTERVALS * STEP;
const QUERY = 'sum by (namespace, deployment) (rate(vllm:request_success_total[1m]))';
const NAMESPACE = 'bench';
const target = (i: number): string => `model-${String(i).padStart(4, '0')}`;
const MiB = 1024 * 1024;

interface Report {
  reader: string;
  baseRss: number;
  /** The peak RSS before the backfill (module loading's), so that a peak above it is the backfill's. */
  basePeakRss: number;
  baseHeap: number;
  peakRss: number;
  peakHeap: number;
  retainedHeap: number;
  seconds: number;
  intervalsRead: number;
  bodyBytes: number;
}

// ---- the answer (this process) ----------------------------------------------------------------

function answer(short: boolean): Buffer {
  const parts: string[] = ['{"status":"success","data":{"resultType":"matrix","result":['];
  for (let i = 0; i < SCALERS; i++) {
    const values: string[] = [];
    for (let k = 0; k <= INTERVALS; k++) {
      const v = 20 + 15 * Math.sin((k + 37 * i) / 120) + (k % 7) / 3;
      values.push(`[${START + k * STEP},"${short ? v.toFixed(2) : String(v)}"]`);
    }
    parts.push(`${i ? ',' : ''}{"metric":{"deployment":"${target(i)}","namespace":"${NAMESPACE}"},"values":[${values.join(',')}]}`);
  }
  parts.push(']}}');
  return Buffer.from(parts.join(''));
}

async function main(): Promise<void> {
  const readers = (args.readers ?? '').split(',').filter((r) => r === 'stream' || r === 'json');
  if (readers.length === 0) throw new Error(`--readers ${args.readers}: expected stream, json or both`);
  if (args.values !== 'full' && args.values !== 'short') throw new Error(`--values ${args.values}: expected full or short`);
  const body = answer(args.values === 'short');
  // Written in 64 KiB pieces, as a Go server flushes a large answer.
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    let at = 0;
    const more = (): void => {
      while (at < body.length) {
        const ok = res.write(body.subarray(at, (at += 65536)));
        if (!ok) return void res.once('drain', more);
      }
      res.end();
    };
    more();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  console.log(`answer: ${SCALERS} series x ${INTERVALS + 1} points, ${(body.length / 1e6).toFixed(1)} MB, values ${args.values}; readers in fresh processes with --max-semi-space-size=${num('semi-space')}`);
  const reports: Report[] = [];
  for (let round = 0; round < num('rounds'); round++) {
    for (const reader of round % 2 === 0 ? readers : [...readers].reverse()) reports.push(await runReader(reader, url));
  }
  server.close();
  const mib = (b: number): string => (b / MiB).toFixed(0).padStart(6);
  console.log('\nreader  | RSS / heap after modules | peak RSS before | peak RSS | peak RSS - RSS after modules | peak heap + array buffers (sampled) | heap after GC, histories kept | seconds');
  console.log('--------|-------------------------:|----------------:|---------:|-----------------------------:|------------------------------------:|------------------------------:|-------:');
  for (const r of reports) console.log(`${r.reader.padEnd(7)} | ${mib(r.baseRss)} / ${mib(r.baseHeap)} MiB | ${mib(r.basePeakRss)} MiB | ${mib(r.peakRss)} MiB | ${mib(r.peakRss - r.baseRss)} MiB | ${mib(r.peakHeap)} MiB | ${mib(r.retainedHeap)} MiB | ${r.seconds.toFixed(2)}`);
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const of = (reader: string, f: (r: Report) => number): number => median(reports.filter((r) => r.reader === reader).map(f));
  if (readers.length === 2) {
    console.log(`\njson / stream (medians): peak RSS above modules ${(of('json', (r) => r.peakRss - r.baseRss) / of('stream', (r) => r.peakRss - r.baseRss)).toFixed(1)}x, peak heap ${(of('json', (r) => r.peakHeap) / of('stream', (r) => r.peakHeap)).toFixed(1)}x, time ${(of('json', (r) => r.seconds) / of('stream', (r) => r.seconds)).toFixed(2)}x`);
  }
  for (const r of reports) if (r.intervalsRead !== SCALERS * INTERVALS) throw new Error(`${r.reader} read ${r.intervalsRead} intervals, expected ${SCALERS * INTERVALS}`);
}

function runReader(reader: string, url: string): Promise<Report> {
  return new Promise((resolve, reject) => {
    const argv = ['--reader', reader, '--url', url, '--scalers', String(SCALERS), '--intervals', String(INTERVALS)];
    const child = fork(fileURLToPath(import.meta.url), argv, { execArgv: [...process.execArgv, `--max-semi-space-size=${num('semi-space')}`], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (m) => resolve(m as Report));
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`${reader} reader exited ${code}`))));
  });
}

// ---- a reader (child process) -------------------------------------------------------------------

async function read(reader: string, url: string): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const requests = Array.from({ length: SCALERS }, (_, i) => ({ namespace: NAMESPACE, name: `s${i}`, signal: prometheusSignalOf({ batch: { query: QUERY } }, NAMESPACE, target(i)) }));
  gc();
  gc();
  const base = process.memoryUsage();
  const basePeakRss = process.resourceUsage().maxRSS * 1024;
  let peakHeap = 0;
  // Heap and array buffers: the streaming reader's Float64Arrays live outside the V8 heap.
  const sample = (): void => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed + m.arrayBuffers);
  };
  const t0 = performance.now();
  const { histories, bodyBytes } = reader === 'stream' ? await readStreaming(url, requests, sample) : await readWhole(url, requests, sample);
  const seconds = (performance.now() - t0) / 1000;
  gc();
  gc();
  const retainedHeap = process.memoryUsage().heapUsed;
  const report: Report = { reader, baseRss: base.rss, basePeakRss, baseHeap: base.heapUsed, peakRss: process.resourceUsage().maxRSS * 1024, peakHeap, retainedHeap, seconds, intervalsRead: histories.reduce((n, h) => n + h.length, 0), bodyBytes };
  process.send?.(report);
  process.disconnect?.();
}

type Requests = ReadonlyArray<{ namespace: string; name: string; signal: ReturnType<typeof prometheusSignalOf> }>;

/** The controller's own reader, with a heap sample after each chunk. */
async function readStreaming(url: string, requests: Requests, sample: () => void): Promise<{ histories: number[][]; bodyBytes: number }> {
  const inner = prometheusRangeStream(url, 120_000);
  let bodyBytes = 0;
  const rangeStream: RangeStream = async (...a) => {
    const body = await inner(...a);
    return (async function* () {
      for await (const chunk of body) {
        bodyBytes += chunk.length;
        yield chunk;
        sample();
      }
    })();
  };
  const backfill = createBackfill({ api: { queryRange: () => Promise.reject(new Error('no per-scaler query expected')) }, rangeStream, now: () => END * 1000, logger: silentLogger(), metrics: createMetricRegistry() });
  const histories = await Promise.all(requests.map((r) => backfill.history(r, STEP, INTERVALS)));
  return { histories, bodyBytes };
}

/** The body read whole and parsed at once, as prometheusApi's other calls do; nothing of it outlives this call. */
async function readWhole(url: string, requests: Requests, sample: () => void): Promise<{ histories: number[][]; bodyBytes: number }> {
  const res = await fetch(`${url}/api/v1/query_range`, { method: 'POST', body: new URLSearchParams({ query: QUERY, start: String(START), end: String(END), step: String(STEP) }) });
  const text = await res.text();
  sample();
  const parsed = JSON.parse(text) as { data: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> } };
  sample();
  const byTarget = new Map(parsed.data.result.map((s) => [s.metric.deployment ?? '', s]));
  const w = { start: START, end: END, step: STEP, points: INTERVALS + 1 };
  const histories = requests.map((r) => {
    const s = r.signal.kind === 'prometheus' && r.signal.match ? byTarget.get(r.signal.match.deployment ?? '') : undefined;
    return historyFromGrid(gridOf((s?.values ?? []).map(([t, v]) => [t, Number(v)] as [number, number]), w));
  });
  sample();
  return { histories, bodyBytes: Buffer.byteLength(text) };
}

if (args.reader) await read(args.reader, args.url ?? '');
else await main();
