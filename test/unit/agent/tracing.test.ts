// One OTLP trace per collector cycle: a local HTTP endpoint stands in for the collector and
// receives the exported spans.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, test } from 'node:test';
import { otelObserver } from '../../../agent/tracing.ts';

const bodies: Array<{ url: string; bytes: number; text: string }> = [];
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const buf = Buffer.concat(chunks);
    bodies.push({ url: req.url ?? '', bytes: buf.length, text: buf.toString('latin1') });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
after(() => new Promise<void>((r) => server.close(() => r())));

test('each cycle becomes a span exported over OTLP/HTTP, errors marked', async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_SERVICE_NAME: 'sg-agent-test' };
  Object.assign(process.env, env, { OTEL_TRACES_SAMPLER: 'always_on', OTEL_BSP_SCHEDULE_DELAY: '50' });
  const observer = await otelObserver(env);
  assert.equal(await observer.cycle('gpu', () => Promise.resolve(42)), 42);
  await assert.rejects(observer.cycle('kafka', () => Promise.reject(new Error('broker down'))), /broker down/);
  await observer.shutdown();
  const traces = bodies.filter((b) => b.url === '/v1/traces');
  assert.ok(traces.length > 0, `no OTLP request; got ${JSON.stringify(bodies.map((b) => b.url))}`);
  const all = traces.map((b) => b.text).join('');
  assert.match(all, /collect gpu/);
  assert.match(all, /collect kafka/);
  assert.match(all, /broker down/);
  assert.match(all, /sg-agent-test/);
});
