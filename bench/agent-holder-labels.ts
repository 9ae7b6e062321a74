// The cost of pod, namespace and container on the GPU series (issue 19), measured as peers in
// one run: two bench agents (bench/agent-server.ts), 8 GPUs each, one with every GPU held by a
// pod and one with none, scraped in turn (the order alternating) N times each at about 20/s.
// Prints bytes per scrape, CPU per scrape and p50/p99 latency of each; asserts nothing on time.
//   node bench/agent-holder-labels.ts [N]   (default 400)
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('./agent-server.ts', import.meta.url));
const n = Number(process.argv[2] ?? 400);

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  // utime and stime, fields 14 and 15 of stat; rest[] starts at field 3; clock ticks of 1/100 s.
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

function start(port: number, mode: 'held' | 'free'): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [SERVER, String(port), '2000', mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    c.stdout.on('data', (d: Buffer) => {
      if (String(d).includes('READY')) resolve(c);
    });
    c.on('exit', (code) => reject(new Error(`bench agent (${mode}) exited ${code} before it was ready`)));
  });
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

const peers = { held: { port: 19482, proc: await start(19482, 'held'), lat: [] as number[], bytes: 0, cpu0: 0 }, free: { port: 19483, proc: await start(19483, 'free'), lat: [] as number[], bytes: 0, cpu0: 0 } };
try {
  const scrape = async (p: (typeof peers)['held']): Promise<number> => {
    const t = performance.now();
    p.bytes = (await (await fetch(`http://127.0.0.1:${p.port}/metrics`)).arrayBuffer()).byteLength;
    return performance.now() - t;
  };
  for (let i = 0; i < 20; i++) for (const p of Object.values(peers)) await scrape(p); // warm-up
  for (const p of Object.values(peers)) p.cpu0 = cpuSeconds(p.proc.pid ?? 0);
  for (let i = 0; i < n; i++) {
    for (const p of i % 2 ? [peers.held, peers.free] : [peers.free, peers.held]) p.lat.push(await scrape(p));
    await sleep(20);
  }
  process.stdout.write(`${n} scrapes each, alternating\n\n| GPUs | bytes per scrape | CPU ms per scrape | p50 ms | p99 ms |\n|---|---|---|---|---|\n`);
  for (const [mode, p] of Object.entries(peers)) {
    const cpuMs = ((cpuSeconds(p.proc.pid ?? 0) - p.cpu0) * 1000) / n;
    process.stdout.write(`| ${mode === 'held' ? '8 held by pods' : 'none held'} | ${p.bytes} | ${cpuMs.toFixed(3)} | ${quantile(p.lat, 0.5).toFixed(2)} | ${quantile(p.lat, 0.99).toFixed(2)} |\n`);
  }
} finally {
  for (const p of Object.values(peers)) p.proc.kill();
}
