// The Dockerfile builds a reproducible image: every base image is pinned by digest (after the
// build arguments' defaults are substituted), dependencies are installed from the lockfile, and
// the stage that becomes the image has node and the application but no package manager.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const TEXT = readFileSync(new URL('../../../Dockerfile', import.meta.url), 'utf8');

interface Instruction { readonly op: string; readonly args: string; readonly line: number }
interface Stage { readonly from: string; readonly name?: string; readonly line: number; readonly body: Instruction[] }

/** Instructions with continuation lines joined and comments left out. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (buf === '' && (line === '' || line.startsWith('#'))) return;
    if (buf === '') start = i + 1;
    if (line.startsWith('#')) return;
    buf += ` ${line.replace(/\\$/, '')}`;
    if (line.endsWith('\\')) return;
    const m = /^\s*(\S+)\s*(.*)$/.exec(buf) ?? assert.fail(`line ${start}`);
    out.push({ op: (m[1] ?? '').toUpperCase(), args: (m[2] ?? '').replace(/\s+/g, ' ').trim(), line: start });
    buf = '';
  });
  return out;
}

/** The stages, with FROM's image after substituting the global ARG defaults. */
function stages(text: string): Stage[] {
  const args = new Map<string, string>();
  const out: Array<Stage & { body: Instruction[] }> = [];
  for (const ins of instructions(text)) {
    if (ins.op === 'ARG' && out.length === 0) {
      const [k, v = ''] = ins.args.split(/=(.*)/s);
      args.set((k ?? '').trim(), v.trim().replace(/^"(.*)"$/, '$1'));
    } else if (ins.op === 'FROM') {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const from = (words[0] ?? '').replace(/\$\{?(\w+)\}?/g, (_, k: string) => args.get(k) ?? assert.fail(`FROM on line ${ins.line} uses ${k}, which has no default`));
      out.push({ from, ...(words[1]?.toUpperCase() === 'AS' && words[2] ? { name: words[2] } : {}), line: ins.line, body: [] });
    } else {
      out.at(-1)?.body.push(ins);
    }
  }
  return out;
}

const all = stages(TEXT);
const names = new Set(all.flatMap((s) => (s.name ? [s.name] : [])));
const runtime = all.at(-1) ?? assert.fail('no FROM');
const DIGEST = /^[a-z0-9./_-]+(:[\w.-]+)?@sha256:[0-9a-f]{64}$/;

test('every FROM is a stage of this file or an image pinned by digest', () => {
  assert.ok(all.length >= 2, 'a build stage and a runtime stage');
  for (const s of all) {
    if (names.has(s.from)) continue;
    assert.match(s.from, DIGEST, `FROM on line ${s.line} (${s.from}) has no @sha256 digest: a tag can move`);
  }
});

test('the runtime stage has node and the application, and no npm, npx, corepack or yarn', () => {
  assert.doesNotMatch(runtime.from, /^node[:@]/, 'the official node image ships npm, corepack and yarn');
  const text = runtime.body.map((i) => `${i.op} ${i.args}`).join('\n');
  assert.doesNotMatch(text, /\b(npm|npx|corepack|yarn)\b/, 'no package manager is copied in or run');
  assert.doesNotMatch(text, /\/usr\/local\/lib\/node_modules|\/opt\/yarn/, 'npm lives in /usr/local/lib/node_modules');
  const copies = runtime.body.filter((i) => i.op === 'COPY').map((i) => i.args);
  assert.ok(copies.some((c) => /--from=\S+\s+\/usr\/local\/bin\/node\s/.test(c)), 'the node binary alone, from the pinned node image');
  assert.ok(copies.some((c) => /--from=\S+\s+\/opt\/surgeguard\s/.test(c)), 'the application');
  const user = runtime.body.filter((i) => i.op === 'USER').at(-1)?.args ?? '';
  assert.match(user, /^[1-9]\d*(:\d+)?$/, 'a numeric non-root user, which the kubelet can check for runAsNonRoot');
});

test('dependencies come from the lockfile: npm ci, --omit=dev for the application, never npm install', () => {
  const runs = all.flatMap((s) => s.body.filter((i) => i.op === 'RUN').map((i) => i.args));
  assert.ok(runs.some((r) => /\bnpm ci\b[^&;]*--omit=dev/.test(r)), 'the application\'s node_modules come from `npm ci --omit=dev`');
  for (const r of runs) assert.doesNotMatch(r, /\bnpm (install|i|add)\b/, `npm install resolves package.json's ranges again: ${r}`);
  assert.ok(all.some((s) => s.body.some((i) => i.op === 'COPY' && /package-lock\.json/.test(i.args)) || s.body.some((i) => i.op === 'RUN' && /package-lock\.json/.test(i.args))), 'the lockfile reaches the build');
});

test('the image carries its SBOM, written by scripts/sbom.sh', () => {
  const runs = all.flatMap((s) => s.body.filter((i) => i.op === 'RUN').map((i) => i.args)).join('\n');
  assert.match(runs, /scripts\/sbom\.sh \/opt\/surgeguard\/sbom\.cdx\.json/);
});

test('the parser reads FROM lines as Docker does: substituted ARG defaults, named stages, continuation lines', () => {
  const parsed = stages('ARG B=debian:12@sha256:' + 'a'.repeat(64) + '\n# c\nFROM ${B} AS one\nRUN a \\\n  && b\nFROM --platform=linux/amd64 one\nUSER 1:1\n');
  assert.deepEqual(parsed.map((s) => [s.from, s.name]), [[`debian:12@sha256:${'a'.repeat(64)}`, 'one'], ['one', undefined]]);
  assert.equal(parsed[0]?.body[0]?.args, 'a && b');
  assert.throws(() => stages('FROM ${NOPE}\n'), /NOPE/);
});
