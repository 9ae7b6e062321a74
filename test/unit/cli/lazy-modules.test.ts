// The controller, the agent and the lag reader load @platformatic/kafka only when they describe a consumer group:
// it costs about 54 MiB of RSS at load (docs/scale.md "Memory"), which a controller reading
// Prometheus only should not pay. A static import anywhere on the command's import graph fails this.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The bare packages a fresh process resolves while it imports `entry` (a path from the repository root). */
function packagesLoadedBy(entry: string): string[] {
  const script = `
    const { registerHooks } = await import('node:module');
    const seen = new Set();
    registerHooks({ resolve(spec, ctx, next) { if (!spec.startsWith('.') && !spec.startsWith('node:') && !spec.startsWith('file:') && !spec.startsWith('/')) seen.add(spec); return next(spec, ctx); } });
    await import(${JSON.stringify(`./${entry}`)});
    process.stdout.write(JSON.stringify([...seen]));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  return JSON.parse(out) as string[];
}

for (const [entry, known] of [['cli/commands/controller.ts', 'zod'], ['agent/agent.ts', 'fastify'], ['common/kafka-lag.ts', 'kafkajs']] as const) {
  test(`${entry} does not load @platformatic/kafka until a consumer group is described`, () => {
    const loaded = packagesLoadedBy(entry);
    // The hook sees the command's own imports: without them this test would pass on anything.
    assert.ok(loaded.includes(known), `expected ${known} among the packages, saw ${loaded.join(', ')}`);
    assert.deepEqual(loaded.filter((p) => p.startsWith('@platformatic/kafka')), []);
  });
}
