// Proves Prometheus is real: it scrapes an endpoint this test serves, and a PromQL query
// returns the value served.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, test } from 'node:test';
import { addScrapeTarget, promQuery, sharedPrometheus } from '../../helpers/infra/prometheus.ts';
import { waitUntil } from '../../helpers/infra/process.ts';

const value = 1000 + (process.pid % 1000);
const server = createServer((req, res) => {
  if (req.url !== '/custom-metrics') return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
  res.end(`# HELP smoke_queue_depth Items waiting.\n# TYPE smoke_queue_depth gauge\nsmoke_queue_depth{queue="orders"} ${value}\n`);
});
after(() => new Promise<void>((r) => server.close(() => r())));

test('a real Prometheus scrapes a test endpoint and PromQL returns its value', async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const prom = await sharedPrometheus();
  const name = `smoke-${process.pid}`;
  addScrapeTarget(prom, name, `127.0.0.1:${port}`, { __metrics_path__: '/custom-metrics' });
  const result = await waitUntil(
    'the scraped series',
    async () => {
      const r = await promQuery(prom.url, `smoke_queue_depth{sg_target="${name}"}`);
      return r.length > 0 ? r : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  );
  assert.equal(result[0]?.metric.queue, 'orders');
  assert.equal(Number(result[0]?.value[1]), value);
  // And a bad expression is refused with Prometheus's parse error, not swallowed.
  await assert.rejects(promQuery(prom.url, 'sum(smoke_queue_depth'), /parse error/);
});
