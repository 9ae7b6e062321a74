// Makes the Helm chart (deploy/helm/surgeguard) the one source of SurgeGuard's Kubernetes
// manifests: copies the repository's rules/ and dashboards/ into the chart's files/ (a chart
// cannot read outside its folder), keeps the chart's appVersion at package.json's version, then
// renders the chart with its default values into the plain manifests deploy/agent/*.yaml,
// deploy/controller/*.yaml and deploy/monitoring/*.yaml, one file per template.
// test/integration/helm/chart.test.ts fails when a committed file differs from what this writes.
//   node scripts/render-manifests.ts
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const run = promisify(execFile);

/** The repository's root folder. */
export const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** The chart, relative to the repository root. */
export const CHART = 'deploy/helm/surgeguard';
/** The release the plain manifests are rendered as: names and namespace stay surgeguard*. */
export const RELEASE = { name: 'surgeguard', namespace: 'surgeguard' } as const;
/** Folders whose YAML files this script owns, except KEEP. */
export const MANIFEST_DIRS = ['deploy/agent', 'deploy/controller', 'deploy/monitoring'] as const;
/** Written by scripts/render-crd.ts (the chart ships the CRD in crds/, which `helm template` leaves out). */
const KEEP = new Set(['deploy/controller/crd.yaml']);
const HEADER = '# Rendered from deploy/helm/surgeguard by scripts/render-manifests.ts; edit the chart, then run\n# `node scripts/render-manifests.ts`.\n';

/**
 * The chart's copies of the repository's rule files and dashboards: path (relative to the root)
 * to content. Only rule files with top-level `groups` are copied; promtool test files are not rules.
 */
export function chartFileCopies(root: string = ROOT): Map<string, string> {
  const out = new Map<string, string>();
  for (const [from, ext] of [['rules', '.yaml'], ['dashboards', '.json']] as const) {
    const dir = join(root, from);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).filter((f) => f.endsWith(ext)).sort()) {
      const text = readFileSync(join(dir, name), 'utf8');
      if (from === 'rules' && !isRuleFile(text)) continue;
      out.set(`${CHART}/files/${from}/${name}`, text);
    }
  }
  return out;
}

function isRuleFile(text: string): boolean {
  const doc: unknown = parse(text);
  return typeof doc === 'object' && doc !== null && 'groups' in doc;
}

/** The folders of chartFileCopies, relative to the root. */
export const COPY_DIRS = [`${CHART}/files/rules`, `${CHART}/files/dashboards`] as const;

/** Builds helm with scripts/build-helm.sh (cached after the first time) and returns its path. */
export async function helmBinary(root: string = ROOT): Promise<string> {
  const { stdout } = await run('bash', [join(root, 'scripts/build-helm.sh')], { maxBuffer: 16 << 20 });
  const bin = stdout.trim().split('\n').pop() ?? '';
  return join(bin, 'helm');
}

/** Runs `helm template` on a chart folder and returns its stdout. */
export async function helmTemplate(helm: string, chartDir: string, opts: { release?: string; namespace?: string; set?: readonly string[] } = {}): Promise<string> {
  const args = ['template', opts.release ?? RELEASE.name, chartDir, '--namespace', opts.namespace ?? RELEASE.namespace];
  for (const s of opts.set ?? []) args.push('--set', s);
  try {
    return (await run(helm, args, { maxBuffer: 64 << 20 })).stdout;
  } catch (err) {
    throw new Error(`helm ${args.join(' ')}: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`, { cause: err });
  }
}

/**
 * Splits `helm template` output into the plain manifest files: templates/<dir>/<file> of the chart
 * becomes deploy/<dir>/<file>, its documents in the order helm printed them.
 */
export function manifestFiles(helmOutput: string): Map<string, string> {
  const docs = new Map<string, string[]>();
  for (const chunk of helmOutput.split(/^---[ \t]*$/m)) {
    const m = /^\s*# Source: [^/]+\/templates\/(.+)\n/.exec(chunk);
    if (!m?.[1]) continue;
    const file = `deploy/${m[1]}`;
    const body = chunk.slice(m.index + m[0].length).replace(/\s+$/, '\n');
    docs.set(file, [...(docs.get(file) ?? []), body]);
  }
  return new Map([...docs].map(([file, bodies]) => [file, HEADER + bodies.join('---\n')]));
}

/**
 * What differs between the files wanted (path relative to root → content) and the disk: changed,
 * missing, and stale files in `dirs` (YAML and JSON files not wanted, except `keep`).
 */
export function drift(root: string, wanted: ReadonlyMap<string, string>, dirs: readonly string[], keep: ReadonlySet<string> = KEEP): string[] {
  const out: string[] = [];
  for (const [file, text] of wanted) {
    const p = join(root, file);
    if (!existsSync(p)) out.push(`${file} is missing`);
    else if (readFileSync(p, 'utf8') !== text) out.push(`${file} differs`);
  }
  for (const dir of dirs) {
    if (!existsSync(join(root, dir))) continue;
    for (const name of readdirSync(join(root, dir))) {
      const file = `${dir}/${name}`;
      if (/\.(ya?ml|json)$/.test(name) && !wanted.has(file) && !keep.has(file)) out.push(`${file} is stale`);
    }
  }
  return out;
}

/** Chart.yaml with its appVersion set to package.json's version. */
export function chartYamlWithAppVersion(root: string = ROOT): string {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  return readFileSync(join(root, CHART, 'Chart.yaml'), 'utf8').replace(/^appVersion:.*$/m, `appVersion: "${version}"`);
}

function writeAll(root: string, wanted: ReadonlyMap<string, string>, dirs: readonly string[]): void {
  for (const dir of dirs) {
    if (!existsSync(join(root, dir))) continue;
    for (const name of readdirSync(join(root, dir))) {
      const file = `${dir}/${name}`;
      if (/\.(ya?ml|json)$/.test(name) && !wanted.has(file) && !KEEP.has(file)) rmSync(join(root, file));
    }
  }
  for (const [file, text] of wanted) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  }
}

if (import.meta.main) {
  writeAll(ROOT, chartFileCopies(), COPY_DIRS);
  writeFileSync(join(ROOT, CHART, 'Chart.yaml'), chartYamlWithAppVersion());
  const files = manifestFiles(await helmTemplate(await helmBinary(), join(ROOT, CHART)));
  writeAll(ROOT, files, MANIFEST_DIRS);
  for (const dir of MANIFEST_DIRS) if (existsSync(join(ROOT, dir)) && readdirSync(join(ROOT, dir)).length === 0) rmSync(join(ROOT, dir), { recursive: true });
  process.stdout.write(`rendered ${[...files.keys()].join(', ')}\n`);
}
