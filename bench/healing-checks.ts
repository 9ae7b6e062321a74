// How the healing checks that read every pod grow with the cluster: each check's time per pod at
// 3,000 and at 30,000 pods (the scale benchmark's full size, bench/scale-cluster.ts: 8 owned GPU
// pods per Deployment, the rest bare filler pods, 1 in 100 owned pods not Ready). A check that
// reads each pod a bounded number of times keeps about the same time per pod (ratio ~1); one that
// compares pods with each other shows the growth as a ratio near 10. Pure functions on synthetic
// pods: no cluster needed. `npm run bench:healing-checks`.
import type { V1Pod } from '@kubernetes/client-node';
import { podCrashLoopCheck } from '../controller/healing/checks/pod-crashloop.ts';
import { podNeverReadyCheck } from '../controller/healing/checks/pod-never-ready.ts';
import type { HealingConfig } from '../controller/healing/config.ts';
import type { HealthCheck } from '../controller/healing/types.ts';

const NOW = Date.UTC(2026, 11, 7);
const iso = (ms: number): string => new Date(ms).toISOString();

function cluster(total: number): V1Pod[] {
  const owned = Math.round(total * 0.27); // 8,000 of 30,000 in the scale benchmark
  const pods: V1Pod[] = [];
  for (let i = 0; i < total - owned; i++) {
    pods.push({ metadata: { name: `filler-${i}`, namespace: 'filler', creationTimestamp: iso(NOW - 600_000) as unknown as Date }, spec: { nodeName: `node-${i % 2000}`, containers: [] }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: iso(NOW - 590_000) as unknown as Date }] } });
  }
  for (let i = 0; i < owned; i++) {
    const rs = Math.floor(i / 8);
    const ready = i % 100 !== 0;
    pods.push({
      metadata: { name: `gpu-${i}`, namespace: `ns-${rs % 20}`, creationTimestamp: iso(NOW - 600_000) as unknown as Date, ownerReferences: [{ apiVersion: 'apps/v1', controller: true, kind: 'ReplicaSet', name: `rs-${rs}`, uid: `u${rs}` }] },
      spec: { nodeName: `node-${i % 2000}`, containers: [] },
      status: { phase: 'Running', conditions: ready ? [{ type: 'Ready', status: 'True', lastTransitionTime: iso(NOW - 580_000) as unknown as Date }] : [] },
    });
  }
  return pods;
}

const config = { neverReadyFactor: 3, neverReadyMinSeconds: 600, crashLoopRestarts: 3 } as HealingConfig['checks'];
const checks: HealthCheck[] = [podNeverReadyCheck(undefined, config), podCrashLoopCheck(undefined, config)];

async function perPodMicros(check: HealthCheck, pods: V1Pod[]): Promise<{ us: number; findings: number }> {
  let best = Infinity;
  let findings = 0;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    findings = (await check.run({ nowMs: NOW, nodes: [], pods })).length;
    best = Math.min(best, performance.now() - t0);
  }
  return { us: (best * 1000) / pods.length, findings };
}

const small = cluster(3_000);
const large = cluster(30_000);
console.log('| check | µs per pod at 3,000 pods | µs per pod at 30,000 pods | ratio (30,000 / 3,000) | findings at 30,000 |');
console.log('|---|---:|---:|---:|---:|');
for (const c of checks) {
  const a = await perPodMicros(c, small);
  const b = await perPodMicros(c, large);
  console.log(`| ${c.name} | ${a.us.toFixed(2)} | ${b.us.toFixed(2)} | ${(b.us / a.us).toFixed(2)} | ${b.findings} |`);
}
