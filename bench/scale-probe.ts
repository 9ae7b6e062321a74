// What the scale benchmark reads to describe a tick, all from outside the controller: CPU and
// RSS of processes from /proc, the API server's audit log (who asked what, when) and
// Prometheus's query log (each query, when, and how long it ran).
import { closeSync, openSync, readSync, statSync, existsSync, readFileSync } from 'node:fs';

/** CPU seconds (user + system) and resident memory of a process, from /proc. */
export function procUsage(pid: number): { cpuSeconds: number; rssBytes: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm) ": state is field 3, utime 14 and stime 15 (1-based), in clock ticks.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]);
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpuSeconds: ticks / 100, rssBytes: Number(rss?.[1] ?? 0) * 1024 };
  } catch {
    return undefined;
  }
}

/** Samples processes' CPU every `everyMs`, so the CPU spent inside any window can be read back. */
export function cpuSampler(pids: Readonly<Record<string, number>>, everyMs = 250): { cpuBetween(name: string, fromMs: number, toMs: number): number; rss(name: string): number; stop(): void } {
  const samples = new Map<string, Array<[number, number]>>(Object.keys(pids).map((k) => [k, []]));
  const take = (): void => {
    const now = Date.now();
    for (const [name, pid] of Object.entries(pids)) {
      const u = procUsage(pid);
      if (u) samples.get(name)?.push([now, u.cpuSeconds]);
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  const at = (name: string, t: number): number => {
    const s = samples.get(name) ?? [];
    // The last sample at or before t (CPU counters only grow).
    let v = s[0]?.[1] ?? 0;
    for (const [ts, cpu] of s) {
      if (ts > t) break;
      v = cpu;
    }
    return v;
  };
  return {
    cpuBetween: (name, fromMs, toMs) => at(name, toMs) - at(name, fromMs),
    rss: (name) => procUsage(pids[name] ?? 0)?.rssBytes ?? 0,
    stop: () => clearInterval(timer),
  };
}

/** Reads a growing file's new complete lines since the last call. */
export function lineTail(file: string): () => string[] {
  let offset = 0;
  let rest = '';
  return () => {
    if (!existsSync(file)) return [];
    const size = statSync(file).size;
    if (size <= offset) return [];
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(size - offset);
      readSync(fd, buf, 0, buf.length, offset);
      offset = size;
      const text = rest + buf.toString('utf8');
      const cut = text.lastIndexOf('\n');
      rest = text.slice(cut + 1);
      return cut < 0 ? [] : text.slice(0, cut).split('\n');
    } finally {
      closeSync(fd);
    }
  };
}

/** One request the controller made, from the audit log. */
export interface ApiCall {
  atMs: number;
  /** verb resource[/subresource], as the table prints it: "get deployments/scale". */
  what: string;
}

/**
 * The API server's audit log: every request of `username` (the controller's ServiceAccount),
 * and a count of every request by anyone (the whole load on the server).
 */
export function auditReader(file: string, username: string): { read(): { calls: ApiCall[]; allRequests: number } } {
  const tail = lineTail(file);
  const needle = `"username":"${username}"`;
  return {
    read() {
      const calls: ApiCall[] = [];
      let all = 0;
      for (const line of tail()) {
        if (!line.includes('"stage":"ResponseComplete"')) continue;
        all++;
        if (!line.includes(needle)) continue;
        const e = JSON.parse(line) as { verb: string; objectRef?: { resource?: string; subresource?: string }; requestReceivedTimestamp: string };
        const res = e.objectRef?.resource ? `${e.objectRef.resource}${e.objectRef.subresource ? `/${e.objectRef.subresource}` : ''}` : 'nonresource';
        calls.push({ atMs: Date.parse(e.requestReceivedTimestamp), what: `${e.verb} ${res}` });
      }
      return { calls, allRequests: all };
    },
  };
}

/** One query from Prometheus's query log. */
export interface LoggedQuery {
  atMs: number;
  query: string;
  range: boolean;
  /** Seconds Prometheus spent executing it (execTotalTime: queueing plus evaluation). */
  seconds: number;
}

/** Prometheus's query log (global.query_log_file). */
export function queryLogReader(file: string): { read(): LoggedQuery[] } {
  const tail = lineTail(file);
  return {
    read: () =>
      tail().flatMap((line) => {
        if (!line) return [];
        const e = JSON.parse(line) as { params?: { query?: string; step?: number }; stats?: { timings?: { execTotalTime?: number } }; ts?: string };
        return [{ atMs: Date.parse(e.ts ?? ''), query: e.params?.query ?? '', range: (e.params?.step ?? 0) > 0, seconds: e.stats?.timings?.execTotalTime ?? 0 }];
      }),
  };
}

/** The value of one sample in a Prometheus text exposition (the first series of `name` matching `labels`). */
export function sampleOf(text: string, name: string, labels = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith(' ') || rest.startsWith('{'))) continue;
    if (labels && !rest.includes(labels)) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}
