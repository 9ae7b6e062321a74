// Bad configuration must end in one coded error that names the input, never a crash, and must
// not echo secrets or huge values back (issue 15, items 12 and 13).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { loadConfig } from '../../../common/config.ts';
import { ErrorCode, SurgeGuardError } from '../../../common/errors.ts';
import { cut, echo, redactUrlValue, redactUrls } from '../../../common/redact.ts';

const schema = z.strictObject({
  listen: z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected HOST:PORT').default('127.0.0.1:9400'),
  hook: z.strictObject({ url: z.url({ protocol: /^https?$/ }), token: z.string().optional() }).optional(),
  list: z.array(z.unknown()).optional(),
  nested: z.record(z.string(), z.unknown()).optional(),
});

function errorOf(sources: Parameters<typeof loadConfig>[1]): SurgeGuardError {
  try {
    loadConfig(schema, sources?.fileText === undefined ? sources : { file: 'c.yaml', ...sources });
  } catch (err) {
    assert.ok(err instanceof SurgeGuardError, `expected a SurgeGuardError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected an error');
}

for (const [name, yaml, path] of [
  ['a sequence holding its own alias', 'list: &x [1, *x]\n', /list\.1/],
  ['a mapping holding its own alias', 'nested: &m\n  self: *m\n', /nested\.self/],
  ['an alias of the whole document inside it', 'nested: &top\n  a:\n    b: *top\n', /nested\.a\.b/],
] as const) {
  test(`config: ${name} is a coded error naming the key, not a stack overflow`, () => {
    const err = errorOf({ fileText: yaml });
    assert.equal(err.code, ErrorCode.ConfigInvalid);
    assert.match(err.message, path);
    assert.match(err.message, /alias refers to a node that contains it/);
    assert.match(err.message, /c\.yaml line \d/);
  });
}

test('config: an alias used twice without a cycle is fine', () => {
  const c = loadConfig(schema, { fileText: 'nested:\n  a: &v {x: 1}\n  b: *v\n' });
  assert.deepEqual(c.nested, { a: { x: 1 }, b: { x: 1 } });
});

test('config: a webhook URL in an error keeps scheme and host only (no path token, no credentials)', () => {
  const secret = 'https://bot:hunter2@hooks.example.com/services/T0001/B0002/abcdefghijklmnopqrstuvwx';
  const err = errorOf({ fileText: `hook:\n  url: ${secret}\n  token: 5\n` });
  assert.equal(err.code, ErrorCode.ConfigInvalid);
  assert.match(err.message, /hook\.token/);
  const bad = errorOf({ fileText: `hook:\n  url: "ftp${secret.slice(5)}"\n` });
  assert.match(bad.message, /hook\.url/);
  assert.match(bad.message, /ftp:\/\/hooks\.example\.com\/<redacted>/);
  for (const leak of ['hunter2', 'bot:', 'T0001', 'B0002', 'abcdefghijklmnop']) {
    assert.ok(!bad.message.includes(leak), `the error echoes ${leak}: ${bad.message}`);
    assert.ok(!JSON.stringify(bad.details).includes(leak), `the error details carry ${leak}`);
  }
});

test('config: a 100 kB value, key or variable name is cut in the message', () => {
  const big = 'x'.repeat(100_000);
  for (const sources of [{ fileText: `listen: ${big}\n` }, { env: { SURGEGUARD_LISTEN: big } }, { env: { [`SURGEGUARD_${big.toUpperCase()}`]: '1' } }, { flags: { listen: big } }]) {
    const err = errorOf(sources);
    assert.equal(err.code, ErrorCode.ConfigInvalid);
    assert.ok(err.message.length < 1200, `the message is ${err.message.length} characters long`);
    assert.match(err.message, /more characters/);
  }
});

test('redact: URLs keep scheme://host; text around them is kept; long text is cut and counted', () => {
  assert.equal(redactUrls('POST https://u:p@h.example:8443/a/b?c=d failed'), 'POST https://h.example:8443/<redacted> failed');
  assert.equal(redactUrls('see http://prom:9090'), 'see http://prom:9090');
  assert.equal(redactUrls('"http://a.b/x" and "https://c.d/y"'), '"http://a.b/<redacted>" and "https://c.d/<redacted>"');
  assert.equal(cut('abcdef', 4), 'abcd...(2 more characters)');
  assert.equal(cut('abc', 4), 'abc');
  assert.equal(echo(`https://h/${'t'.repeat(500)}`, 20), 'https://h/<redacted>');
});

test('redact: a malformed URL value keeps its host only', () => {
  assert.equal(redactUrlValue('hooks.example.com:443/services/T1/B2/secret'), 'hooks.example.com:443/<redacted>');
  assert.equal(redactUrlValue('user:pw@host/x'), 'host/<redacted>');
  assert.equal(redactUrlValue('http://h'), 'http://h');
});
