// Item 12 of issue 15: a listen address is checked before anything starts, and a port in use is one
// coded error naming the flag and the address.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import Fastify from 'fastify';
import { listenOn, parseListen } from '../../../cli/listen.ts';
import type { SurgeGuardError } from '../../../common/errors.ts';

const cases: { value: string; host?: string; port?: number; error?: RegExp }[] = [
  { value: '127.0.0.1:9480', host: '127.0.0.1', port: 9480 },
  { value: ':9402', host: '0.0.0.0', port: 9402 },
  { value: '[::1]:0', host: '::1', port: 0 },
  { value: 'localhost:65535', host: 'localhost', port: 65535 },
  { value: '127.0.0.1:99999', error: /^--listen "127\.0\.0\.1:99999": port 99999 is not a TCP port \(0 to 65535; 0 picks a free one\)$/ },
  { value: '127.0.0.1', error: /^--listen must be HOST:PORT \(or \[IPv6\]:PORT\), got "127\.0\.0\.1"$/ },
  { value: '127.0.0.1:http', error: /must be HOST:PORT/ },
  { value: '::1:80', error: /must be HOST:PORT/ },
];

for (const c of cases) {
  test(`parseListen ${c.value}`, () => {
    if (c.error) {
      assert.throws(() => parseListen('--listen', c.value), (err: SurgeGuardError) => err.code === 'SG_USAGE_INVALID' && c.error!.test(err.message));
    } else assert.deepEqual(parseListen('--listen', c.value), { host: c.host, port: c.port });
  });
}

test('a port in use: SG_LISTEN_FAILED naming the flag and the address, the cause kept', async () => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as { port: number }).port;
  const app = Fastify();
  try {
    await assert.rejects(listenOn(app, '--listen', { host: '127.0.0.1', port }), (err: SurgeGuardError) => {
      assert.equal(err.code, 'SG_LISTEN_FAILED');
      assert.equal(err.message, `cannot listen on 127.0.0.1:${port} (--listen): the address is already in use (another process listens there; pick another port, or 0 for any free one)`);
      assert.equal((err.cause as { code?: string }).code, 'EADDRINUSE');
      return true;
    });
  } finally {
    await app.close();
    busy.close();
  }
});
