// The demand series of the scale benchmark: one gauge per scaler, served over HTTP for the real
// Prometheus to scrape. Most scalers' demand is steady at 70% of the capacity of the replicas
// they start a size with; one in ten (the "moving" ones) swings ±50% over five minutes, so a
// tick has a few targets to change and many to leave alone.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CAPACITY_PER_REPLICA, benchScaler } from './scale-cluster.ts';

export interface DemandExporter {
  /** host:port to scrape. */
  readonly address: string;
  /** Sets the replicas every scaler's steady demand is sized for. */
  setReplicas(replicas: number): void;
  close(): Promise<void>;
}

/** Demand of scaler `i` at `nowMs` when sized for `replicas` (pure, so a reader can predict it). */
export function demandOf(i: number, replicas: number, nowMs: number): number {
  const base = replicas * CAPACITY_PER_REPLICA * 0.7;
  if (i % 10 !== 3) return base;
  return base * (1 + 0.5 * Math.sin((2 * Math.PI * nowMs) / 300_000 + i));
}

export async function startDemandExporter(scalers: number, replicas: number): Promise<DemandExporter> {
  let r = replicas;
  const names = Array.from({ length: scalers }, (_, i) => benchScaler(i));
  const server: Server = createServer((req, res) => {
    const now = Date.now();
    const lines = ['# TYPE sg_bench_demand_rps gauge'];
    for (const s of names) lines.push(`sg_bench_demand_rps{namespace="${s.namespace}",deployment="${s.deployment}"} ${demandOf(s.index, r, now).toFixed(3)}`);
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(`${lines.join('\n')}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    setReplicas: (n) => void (r = n),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
