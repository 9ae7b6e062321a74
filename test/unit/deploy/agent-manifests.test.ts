// The agent's plain manifests (deploy/agent, the chart's default render; the helm test keeps them
// current) give it what it needs and nothing more: the kernel log readable by its uid through a
// supplemental group (checked by the kernel: a file 0640 root:adm read with the pod's uid, gid and
// groups), no API access and no token while Kafka attribution is off, and every GPU visible for
// nvidia-smi without taking one.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments, parseDocument, isMap, isSeq, type Node } from 'yaml';

const run = promisify(execFile);
const DIR = new URL('../../../deploy/agent/', import.meta.url);
type Obj = { kind: string; metadata: { name: string }; spec?: any; rules?: unknown; automountServiceAccountToken?: boolean }; // eslint-disable-line @typescript-eslint/no-explicit-any

const objects: Obj[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => parseAllDocuments(readFileSync(new URL(f, DIR), 'utf8')).map((d) => d.toJS() as Obj));
const ds = objects.find((o) => o.kind === 'DaemonSet') ?? assert.fail('no DaemonSet in deploy/agent');
const pod = ds.spec.template.spec;
const agent = pod.containers.find((c: { name: string }) => c.name === 'agent');
const argAfter = (flag: string): string => agent.args[agent.args.indexOf(flag) + 1];

const scratch = mkdtempSync(join(tmpdir(), 'sg-deploy-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const ADM = 4;
const asRoot = process.getuid?.() === 0;
const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
const kernelCheckSkip = !asRoot ? 'needs root, to make a file owned by root:adm' : setpriv ? false : 'needs setpriv (util-linux)';

/** Reads `file` as a process with the pod's uid, gid and supplemental groups; resolves to the error code or 'ok'. */
async function readAs(file: string, ids: { uid: number; gid: number; groups: readonly number[] }): Promise<string> {
  const groups = ids.groups.length > 0 ? [`--groups=${ids.groups.join(',')}`] : ['--clear-groups'];
  try {
    await run(setpriv ?? 'setpriv', [`--reuid=${ids.uid}`, `--regid=${ids.gid}`, ...groups, '--no-new-privs', '--', 'cat', file]);
    return 'ok';
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? '');
    return /Permission denied/.test(stderr) ? 'EACCES' : `failed: ${stderr.trim() || (err as Error).message}`;
  }
}

test('the agent\'s uid reads a kern.log that is 0640 root:adm, as Debian and Ubuntu write it', { skip: kernelCheckSkip }, async () => {
  const sc = pod.securityContext;
  assert.equal(sc.runAsNonRoot, true);
  assert.deepEqual(sc.supplementalGroups ?? [], [ADM], 'the pod runs with the adm group (gid 4) and no other extra group');
  // The folder the hostPath mounts, traversable by anyone as /var/log is; the file as the distributions ship it.
  const log = join(scratch, 'var/log/kern.log');
  const folder = dirname(log);
  await run('mkdir', ['-p', folder]);
  chmodSync(scratch, 0o755);
  chmodSync(join(scratch, 'var'), 0o755);
  chmodSync(folder, 0o755);
  writeFileSync(log, 'Dec  5 10:00:00 gpu-7 kernel: NVRM: Xid (PCI:0000:9b:00): 79, GPU has fallen off the bus.\n');
  chownSync(log, 0, ADM);
  chmodSync(log, 0o640);
  const ids = { uid: sc.runAsUser as number, gid: sc.runAsGroup as number };
  assert.equal(await readAs(log, { ...ids, groups: [] }), 'EACCES', 'control: without the group the kernel refuses the read (the default install was blind)');
  assert.equal(await readAs(log, { ...ids, groups: sc.supplementalGroups ?? [] }), 'ok', 'with the pod\'s groups the agent reads the log');
});

test('--kernel-log names a file inside the read-only kernel-log mount, whose hostPath is that file\'s folder on the node', () => {
  const path = argAfter('--kernel-log');
  const mount = agent.volumeMounts.find((m: { name: string }) => m.name === 'kernel-log');
  const volume = pod.volumes.find((v: { name: string }) => v.name === 'kernel-log');
  assert.equal(mount.readOnly, true);
  assert.equal(posix.dirname(path), mount.mountPath, `${path} is not directly in ${mount.mountPath}`);
  assert.equal(mount.mountPath, `/host${volume.hostPath.path}`);
  assert.equal(path, '/host/var/log/kern.log');
  assert.equal(volume.hostPath.type, 'Directory', 'the folder, so that a rotated file is seen');
});

test('without Kafka attribution the agent has no ClusterRole, no binding and no API token', () => {
  assert.deepEqual(objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding').map((o) => `${o.kind}/${o.metadata.name}`), []);
  assert.equal(pod.automountServiceAccountToken, false, 'the pod mounts no ServiceAccount token');
  assert.equal(objects.find((o) => o.kind === 'ServiceAccount')?.automountServiceAccountToken, false);
  const config = objects.find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
  assert.match(config.data['agent.yaml'] ?? '', /kafka:\n\s+enabled: false/);
});

test('NVIDIA_VISIBLE_DEVICES=all says why, and the agent neither requests a GPU nor gets the CUDA libraries', () => {
  const env = Object.fromEntries(agent.env.map((e: { name: string; value?: string }) => [e.name, e.value]));
  assert.equal(env.NVIDIA_VISIBLE_DEVICES, 'all');
  assert.equal(env.NVIDIA_DRIVER_CAPABILITIES, 'utility', 'nvidia-smi and NVML only, no compute');
  assert.equal(JSON.stringify(agent.resources ?? {}).includes('nvidia.com/gpu'), false, 'a GPU request would take a GPU from the workloads');
  assert.equal(agent.securityContext.privileged, false);
  // The reason sits right above the variable in the shipped file.
  const doc = parseDocument(readFileSync(new URL('daemonset.yaml', DIR), 'utf8'));
  const envSeq = doc.getIn(['spec', 'template', 'spec', 'containers', 0, 'env'], true) as Node;
  assert.ok(isSeq(envSeq));
  const item = envSeq.items.find((i) => isMap(i) && i.get('name') === 'NVIDIA_VISIBLE_DEVICES') as Node & { commentBefore?: string | null };
  const why = item.commentBefore ?? '';
  assert.match(why, /nvidia-smi/);
  assert.match(why, /every GPU|each GPU/);
  assert.match(why, /no nvidia\.com\/gpu/);
});

test('the agent listens on the chart\'s default address and port and mounts no metrics token by default', () => {
  assert.equal(argAfter('--listen'), '0.0.0.0:9402');
  assert.equal(pod.volumes.some((v: { name: string }) => v.name === 'metrics-token'), false);
  assert.deepEqual(agent.env.find((e: { name: string }) => e.name === 'HOST_IP')?.valueFrom, { fieldRef: { fieldPath: 'status.hostIP' } }, 'HOST_IP for listenAddress "$(HOST_IP)"');
});
