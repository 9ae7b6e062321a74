import { readFile } from 'node:fs/promises';
import type { Command } from '../command.ts';
import { parseFlags } from '../flags.ts';
import { createLogger } from '../../common/logger.ts';
import { createMetricRegistry } from '../../common/metrics.ts';
import { ErrorCode, SurgeGuardError } from '../../common/errors.ts';
import { createDecisionLog } from '../../controller/reconcile/decision-log.ts';
import { conventionCapacity, conventionStartupSteps } from '../../replay/convention.ts';
import { readTraceFile } from '../../replay/trace-file.ts';
import { EXIT_CODES_HELP } from '../exit-codes.ts';
import { listenOn, parseListen } from '../listen.ts';
import { TRACE_LIMIT_OPTIONS, TRACE_LIMITS_HELP, traceLimits } from '../trace-input.ts';
import { defaultModelPath, loadPolicyForecaster } from '../../inference/load.ts';
import { FORECASTER_HELP, parseForecaster } from '../forecaster-flag.ts';
import { initialReplicas, liveStart, startDemo } from '../../demo/demo.ts';
import { startDemoHealing, type FaultPlan } from '../../demo/healing.ts';
import { buildDemoServer } from '../../demo/server.ts';
import { sampleTracePath } from './replay.ts';

/**
 * The demo's default trace: a real flash crowd the forecasting model never read (it is under
 * never_scored_here in inference/models/training-corpus.json), 1-minute intervals, so that at one
 * interval a second the surge comes within a minute and the 300 s stabilization spans 5 ticks.
 */
export const DEMO_TRACE = 'wc98_1998-07-03_12-22Z.csv';

const HELP = `Usage: surgeguard demo [options]

Runs SurgeGuard's main job with nothing installed: the agent on this machine, and the
controller's forecast and scaling loop against an embedded simulated fleet of GPU nodes fed by
a real recorded trace the forecasting model never read (requests per minute to the 1998 World
Cup web site on 3 July 1998, 12:00 to 22:00 GMT: a quarter-final's flash crowd), sped up so
that the surge arrives within a minute. Midway, one node's kernel log gets an XID 79 line and
another node's GPU a thermal slowdown: the healing loop's checks, safety gate, drain and on-call
message run on them. Serves a live page with demand, the forecast band, replicas, every decision
with its reason, the healing and the agent's readings; also /metrics, /api/decisions,
/api/demo/state, /api/demo/healing and /api/demo/agent. Ctrl-C stops it.

Options:
  --listen HOST:PORT     where to serve the page (default 127.0.0.1:9480)
  --trace FILE           another trace (CSV with timestamp,value columns)
${TRACE_LIMITS_HELP}
  --speed N              recorded seconds per wall second (default: one interval per second)
  --lead N               ticks between opening the page and the first surge (default 30)
  --gpu-fault-at N       ticks between opening the page and the XID 79 (default: lead + 45);
                         the thermal slowdown follows 30 ticks later
  --no-gpu-fault         no GPU faults (the healing loop still runs)
${FORECASTER_HELP}
  --no-agent             do not start the agent
  --agent-listen H:P     where the agent serves /metrics (default 127.0.0.1:0, any free port)
  --exit-at-end          stop when the trace ends instead of serving until Ctrl-C
  -h, --help             this text

${EXIT_CODES_HELP}`;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Run the agent and the scaling loop on a recorded trace, with a live page',
  async run(argv, io) {
    const v = parseDemoFlags(argv);
    if (v.help) {
      io.stdout.write(HELP);
      return 0;
    }
    const o = await demoOptions(v);
    const layout = demoLayout(o);
    const logger = createLogger({ level: io.env.SURGEGUARD_LOG_LEVEL ?? 'info', component: 'demo' });
    const metrics = createMetricRegistry({ processMetrics: true });
    const decisions = createDecisionLog(2000);
    const parts = await startParts(o, layout, { env: io.env, logger, metrics });
    // The demo loop stops on Ctrl-C, or when the page cannot be served.
    const stop = new AbortController();
    const onStop = (): void => stop.abort(io.stopSignal.reason);
    if (io.stopSignal.aborted) onStop();
    else io.stopSignal.addEventListener('abort', onStop, { once: true });
    const { trace } = o;
    const demo = startDemo(
      { forecaster: parts.forecaster, logger, metrics, decisions, healing: parts.healing },
      { demand: trace.demand, timestamps: trace.timestamps, intervalSeconds: trace.intervalSeconds, capacity: layout.capacity, startupSteps: layout.startupSteps, minReplicas: 1, maxReplicas: layout.nodes, liveFrom: layout.liveFrom, tickMs: (trace.intervalSeconds / o.speed) * 1000, scaler: 'demo/inference' },
      stop.signal,
    );
    const about = aboutLine(o, layout, parts.forecaster);
    const server = buildDemoServer({ registry: metrics, decisions, demo, about, healing: parts.healing, ...(parts.agent ? { agentUrl: parts.agent.url } : {}) });
    let address: string;
    try {
      address = await listenOn(server, '--listen', o.listen);
    } catch (err) {
      // Nothing may keep running once the command has failed: the loop, the model session, the agent.
      stop.abort(err);
      await demo.done;
      await closeParts(parts);
      throw err;
    }
    io.stdout.write(`surgeguard demo: open ${address}/ (metrics ${address}/metrics, decisions ${address}/api/decisions, healing ${address}/api/demo/healing${parts.agent ? `, agent ${parts.agent.url}/metrics` : ''})\n`);
    io.stdout.write(`${about}; the first surge arrives in about ${o.lead} ticks. Ctrl-C stops.\n`);
    await demo.done;
    if (!o.exitAtEnd && !io.stopSignal.aborted) {
      io.stdout.write('the trace has ended; still serving the page (Ctrl-C stops)\n');
      await new Promise<void>((resolve) => io.stopSignal.addEventListener('abort', () => resolve(), { once: true }));
    }
    await server.close();
    await closeParts(parts);
    return 0;
  },
};

function parseDemoFlags(argv: readonly string[]) {
  return parseFlags(
    argv,
    {
      listen: { type: 'string' },
      trace: { type: 'string' },
      speed: { type: 'string' },
      lead: { type: 'string' },
      'gpu-fault-at': { type: 'string' },
      'no-gpu-fault': { type: 'boolean' },
      'no-agent': { type: 'boolean' },
      'agent-listen': { type: 'string' },
      'exit-at-end': { type: 'boolean' },
      forecaster: { type: 'string' },
      ...TRACE_LIMIT_OPTIONS,
    },
    HELP,
  );
}

/** The flags, checked, and the trace they name. */
interface DemoOptions {
  listen: ReturnType<typeof parseListen>;
  agentListen: string;
  noAgent: boolean;
  choice: ReturnType<typeof parseForecaster>;
  file: string;
  /** The user named the trace (the default's provenance goes in the page's header otherwise). */
  ownTrace: boolean;
  trace: Awaited<ReturnType<typeof readTraceFile>>;
  /** Recorded seconds per wall-clock second. */
  speed: number;
  lead: number;
  faultAt: number;
  noFault: boolean;
  exitAtEnd: boolean;
}

async function demoOptions(v: ReturnType<typeof parseDemoFlags>): Promise<DemoOptions> {
  // Both addresses are checked before anything starts, so a typo costs no model load.
  const listen = parseListen('--listen', v.listen ?? '127.0.0.1:9480');
  const agentListen = v['agent-listen'] ?? '127.0.0.1:0';
  parseListen('--agent-listen', agentListen);
  const limits = traceLimits(v);
  const choice = parseForecaster(v.forecaster);
  const file = v.trace ?? sampleTracePath(DEMO_TRACE);
  const trace = await readTraceFile({ file, timeColumn: 'timestamp', valueColumn: 'value', fill: 'previous', maxGapIntervals: limits.maxGapIntervals, maxBytes: limits.maxBytes });
  const speed = v.speed !== undefined ? Number(v.speed) : trace.intervalSeconds;
  if (!(speed > 0)) throw new SurgeGuardError(ErrorCode.UsageInvalid, `--speed must be a positive number, got "${v.speed}"`);
  const lead = v.lead !== undefined ? Number(v.lead) : 30;
  if (!Number.isInteger(lead) || lead < 0) throw new SurgeGuardError(ErrorCode.UsageInvalid, `--lead must be a whole number of ticks, got "${v.lead}"`);
  const faultAt = faultTick(v['gpu-fault-at'], lead);
  return { listen, agentListen, noAgent: v['no-agent'] ?? false, choice, file, ownTrace: Boolean(v.trace), trace, speed, lead, faultAt, noFault: v['no-gpu-fault'] ?? false, exitAtEnd: v['exit-at-end'] ?? false };
}

/** The simulated fleet the trace is served by: the replay convention's pod size and startup, the nodes, when the live part starts, the faults. */
interface DemoLayout {
  capacity: number;
  startupSteps: number;
  liveFrom: number;
  nodes: number;
  initialReplicas: number;
  faults: FaultPlan;
}

function demoLayout(o: DemoOptions): DemoLayout {
  const { demand } = o.trace;
  const capacity = conventionCapacity(demand);
  const startupSteps = conventionStartupSteps(o.trace.intervalSeconds);
  const liveFrom = liveStart(demand, 48, o.lead, { capacity, startupSteps });
  // One GPU per node, enough nodes for half again the peak: the gate's limits (10% cordoned) then allow two repairs at once.
  const nodes = Math.max(20, Math.ceil((1.5 * Math.max(...demand)) / capacity));
  const faults: FaultPlan = o.noFault ? {} : { xid: { node: 'gpu-node-01', atInterval: liveFrom + o.faultAt }, thermal: { node: 'gpu-node-02', atInterval: liveFrom + o.faultAt + 30 } };
  return { capacity, startupSteps, liveFrom, nodes, initialReplicas: initialReplicas({ demand, capacity, startupSteps, minReplicas: 1, maxReplicas: nodes }), faults };
}

/** What the demo runs beside its loop; each is stopped by closeParts. */
interface DemoParts {
  agent: { url: string; stop(): Promise<void> } | undefined;
  forecaster: Awaited<ReturnType<typeof loadPolicyForecaster>>;
  healing: Awaited<ReturnType<typeof startDemoHealing>>;
}

/** Starts the agent, the forecaster and the healing loop in that order; a failure stops those already started. */
async function startParts(o: DemoOptions, layout: DemoLayout, x: { env: Readonly<Record<string, string | undefined>>; logger: ReturnType<typeof createLogger>; metrics: ReturnType<typeof createMetricRegistry> }): Promise<DemoParts> {
  const { logger, metrics } = x;
  const agent = o.noAgent ? undefined : await startLocalAgent(o.agentListen, x.env, logger);
  const forecaster = await loadPolicyForecaster({ logger, metrics, readFile: async (p) => new Uint8Array(await readFile(p)) }, { forecaster: o.choice, modelPath: defaultModelPath(), providers: ['cuda', 'cpu'], minHistorySteps: 12 }).catch(async (err: unknown) => {
    await agent?.stop();
    throw err;
  });
  const { nodes, capacity, startupSteps, faults } = layout;
  const healing = await startDemoHealing({ logger, metrics }, { nodes, capacity, startupSteps, initialReplicas: layout.initialReplicas, intervalSeconds: o.trace.intervalSeconds, faults, agentNode: 'gpu-node-02' }).catch(async (err: unknown) => {
    await forecaster.close();
    await agent?.stop();
    throw err;
  });
  return { agent, forecaster, healing };
}

async function closeParts(parts: DemoParts): Promise<void> {
  await parts.healing.close();
  await parts.forecaster.close();
  await parts.agent?.stop();
}

/** The page's header line: the trace, its pace, the fleet and the forecaster. */
function aboutLine(o: DemoOptions, layout: DemoLayout, forecaster: DemoParts['forecaster']): string {
  const { intervalSeconds } = o.trace;
  const { nodes, capacity, startupSteps } = layout;
  return `${o.file.split('/').pop()}${o.ownTrace ? '' : ' (World Cup 98 web site, requests per minute; never read by the model)'}: ${intervalSeconds} s intervals at ${o.speed}× (one interval every ${(intervalSeconds / o.speed).toFixed(2)} s); ${nodes} GPU nodes, one pod per GPU; each pod serves ${capacity} requests per interval and starts in ${startupSteps} interval${startupSteps === 1 ? '' : 's'}; forecaster ${forecaster.name} on ${forecaster.runsOn}`;
}

/** --gpu-fault-at: ticks after the page opens (default: 45 after the surge's lead). */
function faultTick(flag: string | undefined, lead: number): number {
  const at = flag !== undefined ? Number(flag) : lead + 45;
  if (!Number.isInteger(at) || at < 0) throw new SurgeGuardError(ErrorCode.UsageInvalid, `--gpu-fault-at must be a whole number of ticks, got "${flag}"`);
  return at;
}

/** The real agent, in this process, with its defaults (collectors with nothing to read report so). */
async function startLocalAgent(listen: string, env: Readonly<Record<string, string | undefined>>, logger: ReturnType<typeof createLogger>): Promise<{ url: string; stop(): Promise<void> }> {
  const { loadConfig } = await import('../../common/config.ts');
  const { agentConfigSchema } = await import('../../agent/config.ts');
  const { createAgent } = await import('../../agent/agent.ts');
  const config = loadConfig(agentConfigSchema, { env, flags: { listen, nodeName: env.NODE_NAME || undefined } });
  const agent = await createAgent(config, logger.child({ component: 'agent' }), {});
  agent.runner.start();
  try {
    const url = await listenOn(agent.server, '--agent-listen', parseListen('--agent-listen', config.listen));
    return { url, stop: () => agent.stop() };
  } catch (err) {
    await agent.stop();
    throw err;
  }
}
