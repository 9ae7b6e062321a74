import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { ErrorCode, SurgeGuardError, errorMessage } from '../../common/errors.ts';
import { adoptHpa, type AdoptOptions } from '../../controller/adapters/adopt.ts';
import type { Command, CommandIO } from '../command.ts';
import { EXIT_CODES_HELP } from '../exit-codes.ts';

const USAGE = `Usage: surgeguard adopt --hpa FILE --requests-per-replica N (--kafka-topic T --consumer-group G | --prometheus-query Q) [options]

Prints, as YAML to apply, a PredictiveScaler for the target of an existing HorizontalPodAutoscaler
(actuator Hpa) or KEDA ScaledObject (actuator Keda), and that object with SurgeGuard's metric or
trigger added (what it had kept, for when SurgeGuard stops), so the HPA or KEDA stays the only
writer of the replicas and scales ahead of demand. What changed and why goes to stderr.
docs/hpa.md explains both paths; the controller needs externalMetrics (Hpa) or keda (Keda) on.

  --hpa FILE                  the HPA or ScaledObject as kubectl prints it (kubectl get hpa NAME -o yaml), - for stdin
  --scaler-address HOST:PORT  for a ScaledObject: SurgeGuard's external scaler (default the chart's Service)
  --requests-per-replica N    requests per second one ready replica serves
  --kafka-topic T --consumer-group G    demand from a Kafka consumer group's lag and rate
  --prometheus-query Q        or demand from PromQL returning requests per second
  --startup-seconds S         seconds from creating a pod to it serving (default: the controller's)
  --no-tolerance              for clusters before Kubernetes 1.33: leave the HPA's tolerance alone

With --prometheus-query it also prints the two replay commands that compare the target's own
history with and without SurgeGuard.

${EXIT_CODES_HELP}`;

const OPTIONS = {
  hpa: { type: 'string' },
  'requests-per-replica': { type: 'string' },
  'kafka-topic': { type: 'string' },
  'consumer-group': { type: 'string' },
  'prometheus-query': { type: 'string' },
  'startup-seconds': { type: 'string' },
  'no-tolerance': { type: 'boolean' },
  'scaler-address': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function usageError(message: string): SurgeGuardError {
  return new SurgeGuardError(ErrorCode.UsageInvalid, `${message}\n\n${USAGE}`);
}

function readInput(file: string, cwd: string): { text: string; where: string } {
  if (file === '-') return { text: readFileSync(0, 'utf8'), where: 'stdin' };
  const path = resolve(cwd, file);
  try {
    return { text: readFileSync(path, 'utf8'), where: file };
  } catch (err) {
    throw usageError(`--hpa ${file}: ${errorMessage(err)}`);
  }
}

async function runAdopt(argv: readonly string[], io: CommandIO): Promise<number> {
  let v: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true; allowPositionals: false }>>['values'];
  try {
    v = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw usageError(errorMessage(err));
  }
  if (v.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  if (!v.hpa) throw usageError('--hpa FILE is required');
  const rps = Number(v['requests-per-replica']);
  if (v['requests-per-replica'] === undefined || !(rps > 0)) throw usageError(`--requests-per-replica must be a number above 0, got ${JSON.stringify(v['requests-per-replica'] ?? '')}`);
  const kafka = v['kafka-topic'] !== undefined || v['consumer-group'] !== undefined;
  if (kafka && v['prometheus-query'] !== undefined) throw usageError('give a Kafka signal or --prometheus-query, not both');
  if (kafka && (!v['kafka-topic'] || !v['consumer-group'])) throw usageError('a Kafka signal needs both --kafka-topic and --consumer-group');
  if (!kafka && !v['prometheus-query']) throw usageError('name the demand signal: --kafka-topic and --consumer-group, or --prometheus-query');
  const startup = v['startup-seconds'] === undefined ? undefined : Number(v['startup-seconds']);
  if (startup !== undefined && !(Number.isInteger(startup) && startup >= 0 && startup <= 7200)) throw usageError(`--startup-seconds must be an integer in [0, 7200], got ${JSON.stringify(v['startup-seconds'])}`);
  const signal: AdoptOptions['signal'] = kafka ? { kafka: { topic: v['kafka-topic'] as string, consumerGroup: v['consumer-group'] as string } } : { prometheus: { query: v['prometheus-query'] as string } };

  const { text, where } = readInput(v.hpa, io.cwd);
  const docs = parseAllDocuments(text);
  const objects = (Array.isArray(docs) ? docs : [docs]).filter((d) => d.contents !== null);
  const broken = objects.find((d) => d.errors.length > 0);
  if (broken) throw new SurgeGuardError(ErrorCode.InputInvalid, `${where}: not YAML: ${broken.errors[0]?.message ?? ''}`);
  if (objects.length !== 1) throw new SurgeGuardError(ErrorCode.InputInvalid, `${where}: expected one HorizontalPodAutoscaler or ScaledObject, found ${objects.length} documents`);
  if (v['scaler-address'] !== undefined && !/^[^\s:]+:\d{1,5}$/.test(v['scaler-address'])) throw usageError(`--scaler-address must be HOST:PORT, got ${JSON.stringify(v['scaler-address'])}`);
  let adoption;
  try {
    adoption = adoptHpa(objects[0]?.toJS(), { signal, requestsPerSecondPerReplica: rps, ...(startup !== undefined ? { startupSeconds: startup } : {}), tolerance: !v['no-tolerance'], ...(v['scaler-address'] ? { scalerAddress: v['scaler-address'] } : {}) });
  } catch (err) {
    throw new SurgeGuardError(ErrorCode.InputInvalid, `${where}: ${errorMessage(err)}`);
  }
  io.stdout.write(`${stringify(adoption.scaler)}---\n${stringify(adoption.hpa)}`);
  for (const n of adoption.notes) io.stderr.write(`note: ${n}\n`);
  if (v['prometheus-query']) {
    const q = JSON.stringify(v['prometheus-query']);
    io.stderr.write(`compare on the target's own history (capacity = requests per replica per step):\n  surgeguard replay --prometheus-url URL --query ${q} --range 7d --step 1m --capacity ${rps * 60}\n  surgeguard replay --prometheus-url URL --query ${q} --range 7d --step 1m --capacity ${rps * 60} --actuator hpa\n`);
  }
  return 0;
}

export const adoptCommand: Command = {
  name: 'adopt',
  summary: 'Print the PredictiveScaler and the changed HPA or ScaledObject that move it to forecast-driven scaling',
  run: runAdopt,
};
