import type { Command } from '../command.ts';
import { parseFlags } from '../flags.ts';
import { configFileFrom, loadConfig } from '../../common/config.ts';
import { createLogger } from '../../common/logger.ts';
import { agentConfigSchema } from '../../agent/config.ts';
import { EXIT_CODES_HELP } from '../exit-codes.ts';
import { listenOn, parseListen } from '../listen.ts';
import { packageVersion } from './version.ts';

const HELP = `Usage: surgeguard agent [options]

Runs the node agent: GPU (nvidia-smi), XID (kernel log), network and Kafka lag collectors,
served on /metrics, /healthz and /readyz.

Options:
  --config FILE        YAML configuration (or SURGEGUARD_CONFIG)
  --listen HOST:PORT   where to serve (default 0.0.0.0:9402)
  --nvidia-smi PATH    the nvidia-smi binary (default: nvidia-smi on PATH)
  --kernel-log PATH    kernel log file to follow for XID errors (default /var/log/kern.log)
  --log-level LEVEL    trace, debug, info, warn, error
  -h, --help           this text

Environment: SURGEGUARD_* (nested keys joined by __, e.g. SURGEGUARD_COLLECTORS__KAFKA__BROKERS),
NODE_NAME (the node, from the downward API), OTEL_EXPORTER_OTLP_ENDPOINT (one trace per cycle).
Metrics go over OTLP too when otlp.metrics.endpoint is set (SURGEGUARD_OTLP__METRICS__ENDPOINT).

${EXIT_CODES_HELP}`;

export const agentCommand: Command = {
  name: 'agent',
  summary: 'Run the node agent (GPU, XID, network, Kafka collectors on /metrics)',
  async run(argv, io) {
    const values = parseFlags(
      argv,
      {
        config: { type: 'string' },
        listen: { type: 'string' },
        'nvidia-smi': { type: 'string' },
        'kernel-log': { type: 'string' },
        'log-level': { type: 'string' },
      },
      HELP,
    );
    if (values.help) {
      io.stdout.write(HELP);
      return 0;
    }
    const config = loadConfig(agentConfigSchema, {
      file: configFileFrom(values.config, io.env),
      env: io.env,
      flags: {
        listen: values.listen,
        logLevel: values['log-level'],
        nodeName: io.env.NODE_NAME || undefined,
        'collectors.gpu.nvidiaSmiPath': values['nvidia-smi'],
        'collectors.xid.kernelLogPath': values['kernel-log'],
      },
    });
    // Checked before any collector starts: a port above 65535 is a usage error, not a RangeError.
    const listen = parseListen('--listen (or listen in the config)', config.listen);
    const logger = createLogger({ level: config.logLevel, component: 'agent' });
    // Loaded here, not at the top: `surgeguard --help` and the other commands should not pay
    // for the agent's modules, and the agent loads the Kubernetes client and the OpenTelemetry
    // SDK only when its configuration uses them (each costs tens of MiB of RSS).
    const { createAgent } = await import('../../agent/agent.ts');
    const observer = io.env.OTEL_EXPORTER_OTLP_ENDPOINT ? await (await import('../../agent/tracing.ts')).otelObserver(io.env) : undefined;
    const node = config.nodeName;
    const kafka = config.collectors.kafka;
    const podIps = kafka.enabled && kafka.scope === 'node' && node ? (await import('../../agent/pod-ips-kube.ts')).watchNodePodIps(node, logger) : undefined;
    const agent = await createAgent(config, logger, {
      ...(observer ? { observer } : {}),
      ...(podIps ? { podIps: () => podIps } : {}),
      version: packageVersion(),
    });
    agent.runner.start();
    const address = await listenOn(agent.server, '--listen (or listen in the config)', listen).catch(async (err: unknown) => {
      await agent.stop();
      throw err;
    });
    logger.info({ address, node: agent.node, collectors: [...agent.runner.states.keys()] }, 'agent serving');
    io.stdout.write(`surgeguard agent listening on ${address}\n`);
    await new Promise<void>((resolve) => (io.stopSignal.aborted ? resolve() : io.stopSignal.addEventListener('abort', () => resolve(), { once: true })));
    logger.info('stopping');
    await agent.stop();
    await observer?.shutdown();
    return 0;
  },
};
