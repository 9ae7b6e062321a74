import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../../common/logger.ts';
import type { MetricRegistry } from '../../common/metrics.ts';
import { errorMessage } from '../../common/errors.ts';
import type { RemediationAudit, RemediationEntry } from './audit.ts';
import type { HealingCluster, LedgerEntry } from './cluster.ts';
import type { HealingConfig } from './config.ts';
import { createGate, type GateView } from './gate.ts';
import { GPU_RESOURCE } from './checks/gpu-missing.ts';
import type { OnCall, Notice } from './oncall.ts';
import { cordonNode } from './remediations/cordon-node.ts';
import { drainNode, type DrainDeps } from './remediations/drain-node.ts';
import { notify } from './remediations/notify.ts';
import { restartPod } from './remediations/restart-pod.ts';
import { planConditions } from './node-condition.ts';
import { isCordoned, lastRemediationUnix, remediationOf, type NodeRemediation } from './state.ts';
import { decideCapacityWait } from './capacity-wait.ts';
import { poolOf } from '../capacity/lead-time.ts';
import { replacementCapacity, type ComingClaim, type OutstandingClaim, type ReplacementVerdict } from '../capacity/replacement.ts';
import { findingKey, type CheckContext, type Finding, type HealthCheck, type Remediation, type VectorQuery } from './types.ts';

export interface HealingDeps extends Omit<DrainDeps, 'cluster'> {
  cluster: HealingCluster;
  checks: readonly HealthCheck[];
  query?: VectorQuery;
  audit: RemediationAudit;
  oncall: OnCall;
  isLeader: () => boolean;
  now: () => number;
  logger: Logger;
  metrics: MetricRegistry;
  /**
   * Karpenter NodeClaims launched and not Ready yet, counted as coming capacity by the
   * replacement check; absent or undefined where the CRD is not served or not read yet.
   */
  comingClaims?: () => readonly ComingClaim[] | undefined;
}

export interface HealingReport {
  leader: boolean;
  findings: Finding[];
  fleetWide: boolean;
  checkErrors: Record<string, string>;
}

export interface HealingLoop {
  tick(): Promise<HealingReport>;
}

type NodeFinding = Finding & { fault: 'fatal' | 'degraded' };
const isNodeFault = (f: Finding): f is NodeFinding => f.target.kind === 'Node' && (f.fault === 'fatal' || f.fault === 'degraded');
const isPodFault = (f: Finding): boolean => f.target.kind === 'Pod' && (f.fault === 'app' || f.fault === 'stuck');
/** What a cordon claimed for its replacements, for the audit message ('' when it claimed none). */
const claimTextOf = (plan: Pick<NodeRemediation, 'claim' | 'pool'>, why: string | undefined): string =>
  plan.claim ? `; claimed ${Object.entries(plan.claim).map(([r, n]) => `${n} ${r}`).join(', ')} in pool ${plan.pool} for the replacements (${why ?? ''})` : '';
/** A node whose repair started and has not drained yet. */
const repairing = (n: V1Node): boolean => {
  const r = remediationOf(n);
  return r !== undefined && r.phase !== 'drained';
};

/**
 * The healing loop: each tick reads the cluster, runs every health check, decides through
 * the safety gate, advances node repairs recorded on the nodes, restarts pods, and tells
 * on-call. Only the leader acts; a follower does nothing, and a new leader resumes from the
 * state on the nodes and the ledger ConfigMap.
 */
export function createHealingLoop(deps: HealingDeps, config: HealingConfig): HealingLoop {
  const gate = createGate(config.gate);
  const cordon = cordonNode(deps, config.drain);
  const drain = drainNode(deps, config.drain);
  const restart = restartPod(deps);
  const tell = notify();
  const findingsGauge = deps.metrics.gauge('surgeguard_health_findings', 'Open findings of the health checks, by check and severity.', ['check', 'severity']);
  const checkErrors = deps.metrics.counter('surgeguard_health_check_errors_total', 'Health check runs that failed, by check.', ['check']);
  const inFlightGauge = deps.metrics.gauge('surgeguard_remediations_in_flight', 'Node remediations started and not yet drained.');
  const cordonedGauge = deps.metrics.gauge('surgeguard_nodes_cordoned', 'Nodes looked after by the healing loop that are cordoned now (by anyone).');
  const tickDuration = deps.metrics.histogram('surgeguard_healing_tick_duration_seconds', 'Duration of healing ticks.', [], [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10]);
  let knownKeys = new Set<string>();
  let lastSeries = new Set<string>();
  const capacityChecks = deps.metrics.counter('surgeguard_drain_capacity_checks_total', 'Replacement-capacity checks before cordoning a node, by result (proceed, wait) and reason (NoReplacementCapacity, CapacityWaitTimeout, ReplacementCapacity, NoGpuPods, FatalFault, CapacityCheckOff); one per node and tick.', ['result', 'reason']);
  const capacityWaiting = deps.metrics.gauge('surgeguard_drains_waiting_for_capacity', 'Degraded node repairs waiting for replacement capacity before cordoning, now.');
  /** When each waiting node repair (by finding key) started waiting; this leader's memory (a failover restarts the timeout). */
  let waitingSince = new Map<string, number>();

  const entry = (f: Finding, action: Remediation, step: string, decision: RemediationEntry['decision'], reason: string, message: string, evidence: Record<string, unknown> = f.evidence): Omit<RemediationEntry, 'at'> => ({
    key: findingKey(f), check: f.check, target: f.target, severity: f.severity, fault: f.fault, action, step, decision, reason, message, evidence,
  });

  const runChecks = async (ctx: CheckContext): Promise<{ findings: Finding[]; errors: Record<string, string> }> => {
    const errors: Record<string, string> = {};
    const results = await Promise.all(
      deps.checks.map(async (c) => {
        try {
          return await c.run(ctx);
        } catch (err) {
          // One check failing (Prometheus down) must not stop the others.
          errors[c.name] = errorMessage(err);
          checkErrors.inc({ check: c.name });
          deps.logger.warn({ check: c.name, err: errors[c.name] }, 'health check failed');
          return [];
        }
      }),
    );
    // Two sources can report the same problem (a check and its alert): one key, first wins.
    const byKey = new Map<string, Finding>();
    for (const f of results.flat()) if (!byKey.has(findingKey(f))) byKey.set(findingKey(f), f);
    return { findings: [...byKey.values()], errors };
  };

  const exportFindings = (findings: readonly Finding[]): void => {
    const counts = new Map<string, number>();
    for (const f of findings) counts.set(`${f.check}\n${f.severity}`, (counts.get(`${f.check}\n${f.severity}`) ?? 0) + 1);
    for (const k of lastSeries) if (!counts.has(k)) counts.set(k, 0);
    for (const [k, v] of counts) {
      const [check, severity] = k.split('\n');
      findingsGauge.set({ check: check ?? '', severity: severity ?? '' }, v);
    }
    lastSeries = new Set([...counts].filter(([, v]) => v > 0).map(([k]) => k));
  };

  const conditionWrites = deps.metrics.counter('surgeguard_node_condition_writes_total', 'GPU health condition writes to nodes, by status and outcome (acted, failed); dry runs are in surgeguard_remediation_decisions_total.', ['status', 'decision']);

  /**
   * Writes the GPU health condition where it should change (node-condition.ts decides). A failed
   * write is recorded and retried next tick: the plan is recomputed from the node as it is.
   */
  const writeConditions = async (nodes: readonly V1Node[], findings: readonly Finding[], fleetWide: boolean, nowUnix: number, record: (e: Omit<RemediationEntry, 'at'>) => Promise<void>): Promise<void> => {
    if (!config.nodeCondition.enabled) return;
    const { type, faultStatus } = config.nodeCondition;
    const byName = new Map(nodes.map((n) => [n.metadata?.name ?? '', n]));
    for (const c of planConditions(nodes, findings, { type, fleetWide, faultStatus })) {
      const node = byName.get(c.node) as V1Node;
      const f: Finding = c.finding ?? { check: 'gpu-condition', severity: 'info', fault: 'notice', target: { kind: 'Node', name: c.node }, summary: c.message, evidence: {} };
      const what = `${type}=${c.status} (${c.reason}) on ${c.node}`;
      // One key per node for its condition, apart from the finding's (whose cordon decision it must not replace).
      const base = (decision: RemediationEntry['decision'], reason: string, message: string): Omit<RemediationEntry, 'at'> => ({ ...entry(f, 'node-condition', 'condition', decision, reason, message), key: `node-condition/Node/${c.node}` });
      if (config.dryRun) {
        await record(base('dry_run', 'DryRun', `would set ${what}: ${c.message}`));
        continue;
      }
      try {
        await deps.cluster.setNodeCondition(node, { type, status: c.status, reason: c.reason, message: c.message }, nowUnix);
        conditionWrites.inc({ status: c.status, decision: 'acted' });
        await record(base('acted', c.status === faultStatus ? 'GpuUnhealthyCondition' : 'GpuHealthyCondition', `set ${what}: ${c.message}`));
      } catch (err) {
        conditionWrites.inc({ status: c.status, decision: 'failed' });
        await record(base('failed', 'ConditionWriteFailed', `setting ${what} failed: ${errorMessage(err)}; retrying next tick`));
      }
    }
  };

  /**
   * Drains admitted and still awaiting replacements: their claims are taken (replacement.ts). From
   * the records on the nodes, and this tick's cordons in case a written node was not read back.
   */
  const outstandingOf = (nodes: readonly V1Node[], thisTick: readonly OutstandingClaim[]): OutstandingClaim[] => {
    const recorded = nodes.flatMap((n) => {
      const r = remediationOf(n);
      return r?.phase === 'awaiting-replacements' && r.claim ? [{ node: n.metadata?.name ?? '', pool: r.pool ?? poolOf(n), gpus: r.claim }] : [];
    });
    return [...recorded, ...thisTick.filter((c) => !recorded.some((r) => r.node === c.node))];
  };

  const askReplacement = (node: V1Node, x: { nodes: () => readonly V1Node[]; pods: readonly V1Pod[]; claimed: OutstandingClaim[]; nowMs: number }): ReplacementVerdict => {
    const nodes = x.nodes();
    return replacementCapacity({ node, nodes, pods: x.pods, claims: deps.comingClaims?.() ?? [], outstanding: outstandingOf(nodes, x.claimed), horizonSeconds: config.drain.capacity.horizonSeconds, nowMs: x.nowMs });
  };

  /**
   * Asks for replacement capacity before a cordon (capacity-wait.ts decides): returns the claim to
   * record on the node, or `wait`. A wait is recorded (blocked, NoReplacementCapacity or
   * CapacityWaitTimeout) and, past the timeout, paged through `pages`.
   */
  const askCapacity = async (f: NodeFinding, node: V1Node, x: { nodes: () => readonly V1Node[]; pods: readonly V1Pod[]; claimed: OutstandingClaim[]; nowMs: number; waiting: Map<string, number>; pages: Notice[]; record: (e: Omit<RemediationEntry, 'at'>) => Promise<void> }): Promise<'wait' | (Pick<NodeRemediation, 'claim' | 'pool'> & { why?: string })> => {
    const key = findingKey(f);
    const verdict = f.fault === 'degraded' && config.drain.capacity.enabled ? askReplacement(node, x) : undefined;
    const d = decideCapacityWait({ node: f.target.name, fault: f.fault, verdict, waitingSinceMs: waitingSince.get(key), nowMs: x.nowMs }, config.drain.capacity);
    capacityChecks.inc({ result: d.action, reason: d.reason });
    const evidence = { ...f.evidence, capacity: verdict?.resources ?? [], pool: verdict?.pool, waitedSeconds: Math.round(d.waitedSeconds) };
    if (d.page) x.pages.push({ finding: { check: 'drain-capacity', severity: 'critical', fault: 'notice', target: f.target, summary: `the repair of ${f.target.name} (${f.summary}) has waited ${Math.round(d.waitedSeconds)} s for replacement capacity`, evidence }, decision: d.message });
    if (d.action === 'wait') {
      x.waiting.set(key, d.waitingSinceMs ?? x.nowMs);
      await x.record(entry(f, 'cordon-node', 'capacity', 'blocked', d.reason, `${f.summary}: ${d.message}`, evidence));
      return 'wait';
    }
    if (d.reason === 'CapacityWaitTimeout') await x.record(entry(f, 'cordon-node', 'capacity', 'acted', d.reason, `${f.summary}: ${d.message}`, evidence));
    return verdict && verdict.reason === 'ReplacementCapacity' ? { claim: verdict.claim, pool: verdict.pool, why: verdict.message } : {};
  };

  /** What one tick read and decided so far, shared by its stages in order. */
  interface TickState {
    nowMs: number;
    nowUnix: number;
    nodes: readonly V1Node[];
    pods: readonly V1Pod[];
    ledger: readonly LedgerEntry[];
    findings: Finding[];
    errors: Record<string, string>;
    /** The GPU nodes (every node where none has GPUs): what the gate's fractions count. */
    fleet: readonly V1Node[];
    /** Node faults, fatal first, then by node name. */
    nodeFindings: NodeFinding[];
    view: GateView;
    fleetWide: boolean;
    admitted: { cordons: number; actions: number };
    newLedger: LedgerEntry[];
    /** Nodes cordoned earlier in this tick, read as written (a cordoned node's GPUs are no replacement). */
    fresh: Map<string, V1Node>;
    capacity: { nodes: () => readonly V1Node[]; pods: readonly V1Pod[]; claimed: OutstandingClaim[]; nowMs: number; waiting: Map<string, number>; pages: Notice[]; record: (e: Omit<RemediationEntry, 'at'>) => Promise<void> };
    /** The decision on each finding, for the on-call notice. */
    decisionOf: Map<string, string>;
    record(e: Omit<RemediationEntry, 'at'>): Promise<void>;
  }

  /** Reads the nodes, pods and ledger, runs every check, and sees whether the problem is fleet-wide. */
  const readTick = async (): Promise<TickState> => {
    const nowMs = deps.now();
    const nowUnix = Math.floor(nowMs / 1000);
    const [nodes, pods, ledger] = await Promise.all([deps.cluster.listNodes(), deps.cluster.listPods(), deps.cluster.readLedger()]);
    const { findings, errors } = await runChecks({ nowMs, nodes, pods, ...(deps.query ? { query: deps.query } : {}) });
    exportFindings(findings);
    const gpuNodes = nodes.filter((n) => Number(n.status?.allocatable?.[GPU_RESOURCE] ?? 0) > 0);
    const fleet = gpuNodes.length > 0 ? gpuNodes : nodes;
    const nodeFindings = findings.filter(isNodeFault).sort((a, b) => (a.fault === b.fault ? a.target.name.localeCompare(b.target.name) : a.fault === 'fatal' ? -1 : 1));
    const view: GateView = {
      nodes: fleet.length,
      cordoned: fleet.filter(isCordoned).length,
      unhealthyNodes: new Set(nodeFindings.map((f) => f.target.name)).size,
      inFlight: nodes.filter(repairing).length,
      actionsLastHour: ledger.filter((e) => e.atUnix > nowUnix - 3600).length,
    };
    const fresh = new Map<string, V1Node>();
    const decisionOf = new Map<string, string>();
    const record = async (e: Omit<RemediationEntry, 'at'>): Promise<void> => {
      decisionOf.set(e.key, e.decision === 'acted' ? e.message : `${e.decision}: ${e.reason}: ${e.message}`);
      await deps.audit.record(e, nowMs);
    };
    const capacity = { nodes: () => nodes.map((n) => fresh.get(n.metadata?.name ?? '') ?? n), pods, claimed: [] as OutstandingClaim[], nowMs, waiting: new Map<string, number>(), pages: [] as Notice[], record };
    return { nowMs, nowUnix, nodes, pods, ledger, findings, errors, fleet, nodeFindings, view, fleetWide: gate.fleetWide(view), admitted: { cordons: 0, actions: 0 }, newLedger: [], fresh, capacity, decisionOf, record };
  };

  /** Stage 1: a new node fault, through the gate and the capacity wait, to a cordon (or the reason there is none). */
  const admitNodeFault = async (t: TickState, f: NodeFinding, node: V1Node): Promise<void> => {
    const current = remediationOf(node);
    if (current) return escalate(t, f, node, current);
    const verdict = gate.admitNode(t.view, t.admitted, lastRemediationUnix(node), t.nowUnix);
    if (!verdict.allow) {
      // A repair waiting for capacity that the gate now holds keeps its wait's start.
      const since = waitingSince.get(findingKey(f));
      if (since !== undefined) t.capacity.waiting.set(findingKey(f), since);
      await t.record(entry(f, 'cordon-node', 'cordon', 'blocked', verdict.reason, `${f.summary}: not cordoning ${f.target.name}: ${verdict.detail}`));
      return;
    }
    const claim = await askCapacity(f, node, t.capacity);
    if (claim === 'wait') return;
    const { why, ...claimed } = claim;
    const plan = { ...cordon.plan(f, t.nowMs), ...claimed };
    if (config.dryRun) {
      await t.record(entry(f, 'cordon-node', 'cordon', 'dry_run', 'DryRun', `${f.summary}: would cordon ${f.target.name} and ${f.fault === 'fatal' ? 'drain it at once' : 'drain it after replacements are ready'}`));
      return;
    }
    let written: V1Node;
    try {
      written = await cordon.apply(node, plan, t.nowMs);
    } catch (err) {
      await t.record(entry(f, 'cordon-node', 'cordon', 'failed', 'CordonFailed', `${f.summary}: cordoning ${f.target.name} failed: ${errorMessage(err)}`));
      return;
    }
    t.admitted.cordons++;
    t.admitted.actions++;
    t.newLedger.push({ atUnix: t.nowUnix, key: findingKey(f), action: 'cordon-node' });
    t.fresh.set(f.target.name, written);
    if (plan.claim) t.capacity.claimed.push({ node: f.target.name, pool: plan.pool ?? poolOf(node), gpus: plan.claim });
    const claimText = claimTextOf(plan, why);
    await t.record(entry(f, 'cordon-node', 'cordon', 'acted', 'NodeCordoned', `${f.summary}: cordoned ${f.target.name} (taint surgeguard.io/unhealthy:NoSchedule); ${f.fault === 'fatal' ? 'draining it at once' : 'draining it once replacements are ready'}${claimText}`));
  };

  /** A fault on a node already under repair: a degraded node that turns fatal is drained now, not after replacements. */
  const escalate = async (t: TickState, f: NodeFinding, node: V1Node, current: NodeRemediation): Promise<void> => {
    if (current.fault === 'degraded' && f.fault === 'fatal' && current.phase === 'awaiting-replacements') {
      const next = { ...current, fault: 'fatal' as const, phase: 'draining' as const, summary: f.summary };
      await deps.cluster.recordPhase(node, next);
      await t.record(entry(f, 'drain-node', 'escalate', 'acted', 'DrainEscalated', `${f.summary}: draining ${f.target.name} now`));
    } else {
      t.decisionOf.set(findingKey(f), `node ${f.target.name} is being repaired (${current.phase})`);
    }
  };

  const admitNodeFaults = async (t: TickState): Promise<void> => {
    const byName = new Map(t.nodes.map((n) => [n.metadata?.name ?? '', n]));
    for (const f of t.nodeFindings) {
      const node = byName.get(f.target.name);
      if (node) await admitNodeFault(t, f, node);
    }
    // Repairs no longer waiting (admitted, or their finding gone) forget their wait.
    waitingSince = t.capacity.waiting;
    capacityWaiting.set(t.capacity.waiting.size);
  };

  /** One node repair a step further (drain-node.ts decides the step); each event it reports is recorded. */
  const advanceOne = async (t: TickState, node: V1Node, r: NodeRemediation): Promise<void> => {
    const f: Finding = t.findings.find((x) => findingKey(x) === r.key) ?? { check: r.check, severity: r.fault === 'fatal' ? 'critical' : 'warning', fault: r.fault, target: { kind: 'Node', name: node.metadata?.name ?? '' }, summary: r.summary, evidence: {} };
    try {
      const { next, events } = await drain.advance(node, r, t.pods, t.nowMs, !config.dryRun);
      if (JSON.stringify(next) !== JSON.stringify(r)) await deps.cluster.recordPhase(node, next);
      for (const e of events) {
        const base = entry(f, 'drain-node', e.step, e.outcome, e.reason, e.message, e.evidence ?? {});
        await t.record(e.step === 'evict' ? { ...base, key: `${base.key}/evict/${String(e.evidence?.pod)}` } : base);
      }
    } catch (err) {
      await t.record(entry(f, 'drain-node', r.phase, 'failed', 'DrainStepFailed', `advancing the repair of ${node.metadata?.name} (${r.phase}) failed: ${errorMessage(err)}; retrying next tick`));
    }
  };

  /**
   * Stages 2 and 3: advances every node repair in progress, from what is recorded on the nodes,
   * then writes the node conditions from the findings and the repairs as they now stand. Nodes
   * cordoned in stage 1 are taken as written (their new resourceVersion); pods did not move.
   */
  const advanceRepairs = async (t: TickState): Promise<void> => {
    const fresher = t.nodes.map((n) => t.fresh.get(n.metadata?.name ?? '') ?? n);
    for (const node of fresher) {
      const r = remediationOf(node);
      if (r && r.phase !== 'drained') await advanceOne(t, node, r);
    }
    await writeConditions(fresher, t.findings, t.fleetWide, t.nowUnix, t.record);
    inFlightGauge.set(fresher.filter(repairing).length);
    cordonedGauge.set(fresher.filter((n) => t.fleet.some((x) => x.metadata?.name === n.metadata?.name) && isCordoned(n)).length);
  };

  /** One pod a fault implicates: restarted (evicted, so its owner replaces it) unless it is cooling down, the gate holds it, or this is a dry run. */
  const restartOne = async (t: TickState, f: Finding): Promise<void> => {
    const key = findingKey(f);
    const cooling = [...t.ledger, ...t.newLedger].some((e) => e.key === key && t.nowUnix - e.atUnix < config.gate.nodeCooldownSeconds);
    if (cooling) return t.record(entry(f, 'restart-pod', 'restart', 'skipped', 'PodCooldown', `${f.summary}: restarted less than ${config.gate.nodeCooldownSeconds} s ago; not again yet`));
    const verdict = gate.admitPod(t.view, t.admitted);
    if (!verdict.allow) return t.record(entry(f, 'restart-pod', 'restart', 'blocked', verdict.reason, `${f.summary}: not restarting: ${verdict.detail}`));
    if (config.dryRun) return t.record(entry(f, 'restart-pod', 'restart', 'dry_run', 'DryRun', `${f.summary}: would restart the pod (evict it)`));
    try {
      const r = await restart.apply(f);
      if (r.outcome === 'acted') {
        t.admitted.actions++;
        t.newLedger.push({ atUnix: t.nowUnix, key, action: 'restart-pod' });
      }
      const said = r.outcome === 'blocked' ? `eviction refused: ${r.detail}` : r.outcome === 'acted' ? 'evicted the pod so its owner replaces it' : 'the pod is already gone';
      await t.record(entry(f, 'restart-pod', 'restart', r.outcome, r.reason, `${f.summary}: ${said}`));
    } catch (err) {
      await t.record(entry(f, 'restart-pod', 'restart', 'failed', 'RestartFailed', `${f.summary}: eviction failed: ${errorMessage(err)}`));
    }
  };

  /** Stage 4: restarts the pods a fault implicates, within the cooldown and the gate, then writes the ledger. */
  const restartPods = async (t: TickState): Promise<void> => {
    for (const f of t.findings.filter(isPodFault)) await restartOne(t, f);
    if (t.newLedger.length > 0) {
      // The ledger is what makes the hourly limit hold across leaders: a failed write is an error.
      await deps.cluster.appendLedger(t.newLedger, t.nowUnix - 3600).catch((err: unknown) => deps.logger.error({ err: errorMessage(err) }, 'could not write the healing ledger; the hourly limit may under-count'));
    }
  };

  /** Stage 5: on-call, one page for a fleet-wide problem instead of one per node. */
  const tellOnCall = async (t: TickState): Promise<void> => {
    const notices: Notice[] = [];
    if (t.fleetWide) {
      const f: Finding = { check: 'fleet-unhealthy', severity: 'critical', fault: 'notice', target: { kind: 'Fleet', name: 'gpu-nodes' }, summary: `${t.view.unhealthyNodes} of ${t.view.nodes} nodes look unhealthy at once`, evidence: { nodes: [...new Set(t.nodeFindings.map((x) => x.target.name))] } };
      await t.record(entry(f, 'notify', 'page', 'acted', 'FleetWideProblem', `${f.summary}: no node is touched (over ${Math.round(config.gate.fleetUnhealthyFraction * 100)}% is rarely the nodes' fault); paging on-call`));
      notices.push({ finding: f, decision: 'no automatic repair: a fleet-wide problem' });
    }
    for (const f of t.findings) {
      if (t.fleetWide && isNodeFault(f)) continue;
      const n = tell.notice(f, t.decisionOf.get(findingKey(f)));
      if (n) notices.push(n);
    }
    notices.push(...t.capacity.pages);
    deps.oncall.update(notices, t.nowMs);
  };

  return {
    async tick() {
      const started = performance.now();
      if (!deps.isLeader()) return { leader: false, findings: [], fleetWide: false, checkErrors: {} };
      const t = await readTick();
      await admitNodeFaults(t);
      await advanceRepairs(t);
      await restartPods(t);
      await tellOnCall(t);
      const keys = new Set(t.findings.map(findingKey));
      for (const k of knownKeys) if (!keys.has(k)) deps.audit.forget(k);
      knownKeys = keys;
      tickDuration.observe((performance.now() - started) / 1000);
      return { leader: true, findings: t.findings, fleetWide: t.fleetWide, checkErrors: t.errors };
    },
  };
}
