import type { Command } from '../command.ts';
import { parseFlags } from '../flags.ts';
import { configFileFrom, loadConfig } from '../../common/config.ts';
import { applyHeapGrowthPercent } from '../../common/heap-growth.ts';
import { createLogger } from '../../common/logger.ts';
import { createMetricRegistry } from '../../common/metrics.ts';
import { startOtlpMetrics } from '../../common/otlp/exporter.ts';
import { registryFamilies } from '../../common/otlp/families.ts';
import { controllerConfigSchema } from '../../controller/config.ts';
import { startController } from '../../controller/controller.ts';
import { startTracing } from '../../controller/tracing.ts';
import { EXIT_CODES_HELP } from '../exit-codes.ts';
import { listenOn, parseListen } from '../listen.ts';
import { packageVersion } from './version.ts';

const HELP = `Usage: surgeguard controller [options]

Runs the controller: watches PredictiveScalers, forecasts each one's demand further ahead than
its pods take to start, and pre-scales the targets through the scale subresource. Replicas
elect a leader with a Lease; only the leader writes.

Options:
  --config FILE        YAML configuration (or SURGEGUARD_CONFIG)
  --listen HOST:PORT   where to serve /metrics, /healthz, /readyz, /api/* (default 0.0.0.0:9403)
  --kubeconfig FILE    kubeconfig (default: the pod's ServiceAccount)
  --paused             decide and report, but write nothing to targets
  --log-level LEVEL    debug, info, warn, error
  -h, --help           this text

Environment: SURGEGUARD_* (nested keys joined by __, e.g. SURGEGUARD_KAFKA__BROKERS='[kafka:9092]'),
POD_NAME (the Lease identity), OTEL_EXPORTER_OTLP_ENDPOINT (one trace per tick).
Metrics go over OTLP too when otlp.metrics.endpoint is set (SURGEGUARD_OTLP__METRICS__ENDPOINT).

${EXIT_CODES_HELP}`;

export const controllerCommand: Command = {
  name: 'controller',
  summary: 'Run the controller (forecast, pre-scale, leader election)',
  async run(argv, io) {
    const values = parseFlags(
      argv,
      {
        config: { type: 'string' },
        listen: { type: 'string' },
        kubeconfig: { type: 'string' },
        paused: { type: 'boolean' },
        'log-level': { type: 'string' },
      },
      HELP,
    );
    if (values.help) {
      io.stdout.write(HELP);
      return 0;
    }
    const config = loadConfig(controllerConfigSchema, {
      file: configFileFrom(values.config, io.env),
      env: io.env,
      flags: { listen: values.listen, kubeconfig: values.kubeconfig ?? io.env.KUBECONFIG, paused: values.paused, logLevel: values['log-level'] },
    });
    // Checked before the controller starts: a port above 65535 is a usage error, not a RangeError.
    const listen = parseListen('--listen (or listen in the config)', config.listen);
    const logger = createLogger({ level: config.logLevel, component: 'controller' });
    applyHeapGrowthPercent(config.heapGrowthPercent, logger);
    const tracing = await startTracing(io.env, 'surgeguard-controller');
    const metrics = createMetricRegistry({ processMetrics: true });
    const controller = await startController({ logger, metrics, env: io.env }, config, io.stopSignal);
    const otlp = await startOtlpMetrics(config.otlp.metrics, {
      source: registryFamilies(metrics.registry),
      logger,
      registry: metrics,
      serviceName: 'surgeguard-controller',
      serviceVersion: packageVersion(),
      resource: { 'service.instance.id': controller.elector.identity() },
    });
    const address = await listenOn(controller.server, '--listen (or listen in the config)', listen);
    logger.info({ address, identity: controller.elector.identity() }, 'controller serving');
    io.stdout.write(`surgeguard controller listening on ${address}\n`);
    if (controller.externalMetricsAddress) io.stdout.write(`surgeguard external metrics listening on ${controller.externalMetricsAddress}\n`);
    if (controller.kedaScalerAddress) io.stdout.write(`surgeguard KEDA external scaler listening on ${controller.kedaScalerAddress}\n`);
    await controller.done;
    // After the controller stopped: the last export carries its final counts.
    await otlp?.shutdown();
    await tracing?.shutdown();
    logger.info('stopped');
    return 0;
  },
};
