// `make sbom` (scripts/sbom.sh) writes a CycloneDX SBOM that lists exactly the packages the image
// installs with `npm ci --omit=dev`: every production entry of package-lock.json with its version
// and integrity hash, no dev-only one, and the same bytes twice for the same lockfile. Offline,
// about 2 s: it reads the lockfile only.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'sg-sbom-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface LockEntry { version?: string; name?: string; dev?: boolean; link?: boolean; integrity?: string }
interface Component { name: string; version: string; purl: string; 'bom-ref': string; hashes?: Array<{ alg: string; content: string }> }
interface Bom { bomFormat: string; specVersion: string; serialNumber: string; metadata: { timestamp: string; component: { name: string; version: string } }; components: Component[]; dependencies: Array<{ ref: string; dependsOn?: string[] }> }

const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string> };
const entries = Object.entries(lock.packages).filter(([path, e]) => path !== '' && !e.link);
const nameOf = (path: string, e: LockEntry): string => e.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
const ids = (filter: (e: LockEntry) => boolean): Set<string> => new Set(entries.filter(([, e]) => filter(e)).map(([p, e]) => `${nameOf(p, e)}@${e.version}`));
const production = ids((e) => !e.dev);
const devOnly = new Set([...ids((e) => e.dev === true)].filter((id) => !production.has(id)));

let bom: Bom;
const env = { ...process.env, PATH: `${join(process.execPath, '..')}:${process.env.PATH ?? ''}`, SOURCE_DATE_EPOCH: '1764892800' };

before(async () => {
  await run('make', ['-s', '-C', ROOT, 'sbom', `SBOM=${join(scratch, 'a.cdx.json')}`], { env, timeout: 120_000 });
  bom = JSON.parse(readFileSync(join(scratch, 'a.cdx.json'), 'utf8')) as Bom;
});

test('make sbom writes a CycloneDX document for the package itself', () => {
  assert.equal(bom.bomFormat, 'CycloneDX');
  assert.match(bom.specVersion, /^1\.[4-9]$/);
  assert.deepEqual([bom.metadata.component.name, bom.metadata.component.version], [pkg.name, pkg.version]);
  assert.equal(bom.metadata.timestamp, '2025-12-05T00:00:00.000Z', 'SOURCE_DATE_EPOCH');
});

test('it lists every production package of the lockfile, with its version and integrity hash, and nothing else', () => {
  const listed = new Set(bom.components.map((c) => `${c.name}@${c.version}`));
  assert.ok(production.size > 100, `the lockfile has ${production.size} production packages`);
  assert.deepEqual([...production].filter((id) => !listed.has(id)), [], 'production packages missing from the SBOM');
  assert.deepEqual([...listed].filter((id) => !production.has(id)), [], 'listed but not installed by npm ci --omit=dev');
  for (const id of devOnly) assert.equal(listed.has(id), false, `${id} is a dev dependency only`);
  // A direct dependency that dev tools use as well: npm's own `npm sbom --omit dev` drops it.
  for (const name of Object.keys(pkg.dependencies)) assert.ok(bom.components.some((c) => c.name === name), `direct dependency ${name}`);
  for (const c of bom.components) {
    assert.match(c.purl, /^pkg:npm\//, c.name);
    assert.ok(c.hashes?.some((h) => h.alg === 'SHA-512'), `${c.name}@${c.version} has the lockfile's SHA-512`);
  }
});

test('the dependency graph refers only to listed components', () => {
  const refs = new Set([...bom.components.map((c) => c['bom-ref']), `${pkg.name}@${pkg.version}`]);
  for (const d of bom.dependencies) {
    assert.ok(refs.has(d.ref), d.ref);
    for (const r of d.dependsOn ?? []) assert.ok(refs.has(r), `${d.ref} -> ${r}`);
  }
  const root = bom.dependencies.find((d) => d.ref === `${pkg.name}@${pkg.version}`);
  assert.equal(root?.dependsOn?.length, Object.keys(pkg.dependencies).length, 'the root depends on its production dependencies only');
});

test('the same lockfile gives the same bytes (SOURCE_DATE_EPOCH)', async () => {
  await run('bash', [join(ROOT, 'scripts/sbom.sh'), join(scratch, 'b.cdx.json')], { env, timeout: 120_000 });
  assert.equal(readFileSync(join(scratch, 'b.cdx.json'), 'utf8'), readFileSync(join(scratch, 'a.cdx.json'), 'utf8'));
});
