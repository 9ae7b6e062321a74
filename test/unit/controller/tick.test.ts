// The scaling tick with in-memory stand-ins for the cluster and the signal (pure logic: the real
// cluster is covered by test/integration/controller).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../../common/logger.ts';
import { createMetricRegistry } from '../../../common/metrics.ts';
import { resolveSpec, type PredictiveScaler } from '../../../controller/crd/predictive-scaler.ts';
import type { ClusterReader, ClusterWriter } from '../../../controller/kube/cluster.ts';
import type { ScaleClient } from '../../../controller/kube/scale-target.ts';
import { createDecisionLog } from '../../../controller/reconcile/decision-log.ts';
import { createScalingLoop } from '../../../controller/reconcile/tick.ts';
import { createHoltWintersForecaster } from '../../../inference/holt-winters.ts';

type Schedule = NonNullable<PredictiveScaler['spec']['schedule']>;

function scaler(name: string, schedule?: Schedule): PredictiveScaler {
  return {
    apiVersion: 'surgeguard.io/v1alpha1',
    kind: 'PredictiveScaler',
    metadata: { name, namespace: 'ns', generation: 1 },
    spec: resolveSpec({ targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name }, signal: { prometheus: { query: name } }, requestsPerSecondPerReplica: 10, maxReplicas: 50, startupSeconds: 30, ...(schedule ? { schedule } : {}) }),
  };
}

function harness(opts: { leader: boolean; rates: Record<string, number>; schedule?: Schedule }) {
  const replicas = new Map<string, number>();
  const writes: string[] = [];
  const scale: ScaleClient = {
    read: async (ref) => ({ replicas: replicas.get(ref.name) ?? 1, currentReplicas: replicas.get(ref.name) ?? 1, selector: `app=${ref.name}`, resourceVersion: '1' }),
    writerOf: async () => undefined,
    setReplicas: async (ref, n) => {
      writes.push(`scale ${ref.name} ${n}`);
      replicas.set(ref.name, n);
      return { replicas: n, currentReplicas: n, selector: '', resourceVersion: '2' };
    },
  };
  const reader: ClusterReader = { hpaTargets: async () => new Map(), paused: async () => false, podStats: async () => ({ unschedulable: 0, ready: 1 }) };
  const writer: ClusterWriter = { patchScalerStatus: async (_ns, name) => void writes.push(`status ${name}`), event: async (o, _t, reason) => void writes.push(`event ${o.name} ${reason}`) };
  let list = Object.keys(opts.rates).map((n) => scaler(n, opts.schedule));
  let clock = 1_000_000;
  const metrics = createMetricRegistry();
  const decisions = createDecisionLog(100);
  const loop = createScalingLoop(
    {
      scalers: () => list,
      signals: [{ read: async (reqs) => new Map(reqs.map((r) => [r.key, { ok: true as const, rate: opts.rates[r.key.split('/')[1] ?? ''] ?? 0, detail: {} }])), close: async () => undefined }],
      forecaster: createHoltWintersForecaster(),
      scale,
      reader,
      writer,
      isLeader: () => opts.leader,
      now: () => clock,
      logger: silentLogger(),
      metrics,
      decisions,
    },
    { intervalSeconds: 15, historyIntervals: 100, pauseFlag: false, pauseConfigMap: { namespace: 'x', name: 'y' }, podStatsEveryTicks: 4, forecasting: true, forecastTimeScale: 1 },
  );
  return {
    writes,
    metrics,
    decisions,
    setScalers: (names: string[]) => void (list = names.map((n) => scaler(n))),
    async tick() {
      clock += 15_000;
      return loop.tick();
    },
  };
}

test('the leader patches only targets whose replicas change, with an Event for each', async () => {
  const h = harness({ leader: true, rates: { busy: 200, idle: 5 } });
  const r = await h.tick();
  assert.equal(r.patched, 1);
  assert.ok(h.writes.some((w) => /^scale busy \d+$/.test(w)));
  assert.ok(!h.writes.some((w) => w.startsWith('scale idle')), 'a target at the right size was patched');
  assert.ok(h.writes.includes('event busy ScaledUp'));
});

test('a follower decides and records, but writes nothing', async () => {
  const h = harness({ leader: false, rates: { busy: 200 } });
  await h.tick();
  assert.deepEqual(h.writes, []);
  const d = h.decisions.list();
  assert.equal(d.length, 1);
  assert.equal(d[0]?.leader, false);
  assert.equal(d[0]?.decision, 'scale_up');
});

test('a deleted scaler loses its series and memory', async () => {
  const h = harness({ leader: true, rates: { a: 50, b: 50 } });
  await h.tick();
  assert.match((await h.metrics.render()).body, /surgeguard_scaler_desired_replicas\{namespace="ns",scaler="b"\}/);
  h.setScalers(['a']);
  await h.tick();
  const body = (await h.metrics.render()).body;
  assert.doesNotMatch(body, /scaler="b"/);
  assert.match(body, /surgeguard_scaler_desired_replicas\{namespace="ns",scaler="a"\}/);
});

test('the live loop applies the ramp floor by default: rising demand scales ahead of it, reason Ramp in the log, the message and the counter', async () => {
  // 15 s interval, startup 30 s: K = 2, lead 3, window 6 rises. Demand rises 20/s a tick; the ramp asks
  // for current + 20 x 3 x 2 = current + 120 requests/s, at 10 per replica 12 replicas more than now.
  const opts = { leader: true, rates: { ramp: 100 } };
  const h = harness(opts);
  for (let t = 0; t < 10; t++) {
    opts.rates.ramp = 100 + 20 * t;
    await h.tick();
  }
  const all = h.decisions.list({ scaler: 'ns/ramp' });
  // Every tick after the first sees a rise of 20: the ramp's ask is there each time, named in the message.
  for (const d of all.slice(1)) assert.equal(d.rules?.ramp, Math.ceil(((d.demandPerSecond ?? 0) + 120) / 10), JSON.stringify(d));
  const last = all.at(-1);
  assert.ok(last);
  assert.match(last.message, /ramp 40/);
  // Where it is above every other rule (the surge rule binds in some ticks), it is the reason.
  const bound = all.filter((d) => d.reason === 'Ramp');
  assert.ok(bound.length > 0, all.map((d) => `${d.reason} ${JSON.stringify(d.rules)}`).join('\n'));
  for (const d of bound) assert.equal(d.desiredReplicas, d.rules?.ramp);
  assert.match((await h.metrics.render()).body, /surgeguard_controller_decisions_total\{decision="scale_up",reason="Ramp"\} [1-9]/);
});

test('the live loop holds a lone spike by default: reason SpikeHold in the log, the message and the counter, and it lets go after the hold', async () => {
  // 15 s interval, lead 3: the spike hold needs 2 x 3 intervals of baseline before a spike. Demand is
  // 10/s, then one tick at 100/s (10x the median before it), then 10/s again. The tick after the spike
  // knows it was lone and asks for 2.5 x 100 / 10 = 25 replicas for the rest of the 8-interval hold.
  // The stabilization window (300 s, 20 ticks) does not remember the hold: it holds the spike tick's
  // own asks (its surge, 13), so the 25 ends with the hold.
  const opts = { leader: true, rates: { spiky: 10 } };
  const h = harness(opts);
  for (let t = 0; t < 40; t++) {
    opts.rates.spiky = t === 8 ? 100 : 10;
    await h.tick();
  }
  const all = h.decisions.list({ scaler: 'ns/spiky' });
  const trace = all.map((d) => `${d.desiredReplicas} ${d.reason} ${JSON.stringify(d.rules)}`).join('\n');
  const held = all.filter((d) => d.rules?.spikeHold !== undefined);
  // Ticks 9..15: the spike (tick 8) is in the 8-interval hold and known lone from tick 9 on.
  assert.equal(held.length, 7, trace);
  for (const d of held) assert.equal(d.rules?.spikeHold, 25, trace);
  // The first ticks are held back by the scale-up rate limit; then the hold is the reason.
  const bound = held.filter((d) => d.reason === 'SpikeHold');
  assert.ok(bound.length > 0, trace);
  for (const d of bound) assert.equal(d.desiredReplicas, 25, trace);
  assert.match(bound[0]?.message ?? '', /spike hold 25/);
  assert.match((await h.metrics.render()).body, /surgeguard_controller_decisions_total\{decision="scale_up",reason="SpikeHold"\} 1/);
  const after = all[all.indexOf(held.at(-1) as (typeof all)[number]) + 1];
  assert.deepEqual([after?.desiredReplicas, after?.reason, after?.rules?.spikeHold], [13, 'Stabilized', undefined], trace);
  // Once the stabilization window has passed the spike tick too, the fleet goes back to what 10/s needs.
  assert.ok((all.at(-1)?.desiredReplicas ?? 99) <= 2, trace);
});

test('a campaign window pre-scales ahead of its start by prescale + startup, above the forecast cap, and lets go after it ends', async () => {
  // The clock starts at 1000 s and moves 15 s a tick. The window starts at 1150 s with 60 s of
  // pre-scale; with 30 s of startup it is on from 1060 s (the 4th tick). Demand is 50/s: three times
  // that with the CRD's 10% headroom is 165/s, 17 replicas of 10/s. The forecast cap at 15 s lets the
  // forecast rule size for at most 2x recent demand (11 replicas): the window must not be cut to it.
  const opts = { leader: true, rates: { launch: 50 }, schedule: [{ name: 'launch', start: new Date(1_150_000).toISOString(), durationSeconds: 300, demandMultiplier: 3, prescaleSeconds: 60 }] };
  const h = harness(opts);
  const seen: { now: number; reason: string; desired?: number; campaign?: number; message: string }[] = [];
  for (let t = 1; t <= 60; t++) {
    // Demand rises inside the window: the window multiplies the level before it, not this.
    opts.rates.launch = t >= 8 && t < 20 ? 150 : 50;
    await h.tick();
    const d = h.decisions.list({ scaler: 'ns/launch' }).at(-1);
    assert.ok(d);
    seen.push({ now: 1000 + 15 * t, reason: d.reason, ...(d.desiredReplicas !== undefined ? { desired: d.desiredReplicas } : {}), ...(d.rules?.campaign !== undefined ? { campaign: d.rules.campaign } : {}), message: d.message });
  }
  const on = seen.filter((x) => x.campaign !== undefined).map((x) => x.now);
  assert.deepEqual([on[0], on.at(-1)], [1060, 1435], 'on from start - prescale - startup until the end (1150 + 300)');
  for (const x of seen.filter((y) => y.campaign !== undefined)) assert.equal(x.campaign, 17, JSON.stringify(x));
  // The scale-up limit (double or +4 per 15 s) still applies: the pre-scale time is there to absorb it.
  // The fleet before is 7 (50/s with the reactive floor's 1.25 headroom), so 14.
  const first = seen.find((x) => x.now === 1060);
  assert.deepEqual([first?.reason, first?.desired], ['ScaleUpLimited', 14], JSON.stringify(first));
  assert.match(first?.message ?? '', /campaign launch 17/);
  const next = seen.find((x) => x.now === 1075);
  assert.deepEqual([next?.reason, next?.desired], ['Campaign', 17], JSON.stringify(next));
  assert.match((await h.metrics.render()).body, /surgeguard_controller_decisions_total\{decision="scale_up",reason="Campaign"\} 1/);
  // Once the window is over (and the 300 s stabilization window after it), the fleet goes back.
  assert.equal(seen.at(-1)?.campaign, undefined);
  assert.ok((seen.at(-1)?.desired ?? 99) < 17, JSON.stringify(seen.at(-1)));
});

test('a schedule window whose start does not parse is left out, and the others still apply', async () => {
  // The API server's date-time check makes this rare (a CRD applied without its schema); one bad window must not stop another.
  const opts = { leader: true, rates: { launch: 50 }, schedule: [{ name: 'typo', start: 'not-a-date', durationSeconds: 300, demandMultiplier: 5 }, { name: 'ok', start: new Date(1_100_000).toISOString(), durationSeconds: 300, demandMultiplier: 2, prescaleSeconds: 0 }] };
  const h = harness(opts);
  for (let t = 1; t <= 6; t++) await h.tick();
  const d = h.decisions.list({ scaler: 'ns/launch' }).at(-1);
  assert.equal(d?.campaign?.window, 'ok');
  assert.equal(d?.rules?.campaign, 11);
});
