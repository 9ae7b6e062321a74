import { z } from 'zod';
import { otlpConfigSchema } from '../common/otlp/config.ts';

/**
 * A regular expression, checked at start: a bad pattern is a config error naming the key and
 * the parser's reason, not a SyntaxError from a collector long after the agent said it was ready.
 */
const regex = (def: string): z.ZodDefault<z.ZodString> =>
  z
    .string()
    .superRefine((src, ctx) => {
      try {
        new RegExp(src);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}` });
      }
    })
    .default(def);

const seconds = (def: number): z.ZodDefault<z.ZodNumber> => z.number().positive().default(def);

const gpu = z
  .strictObject({
    enabled: z.boolean().default(true),
    nvidiaSmiPath: z.string().min(1).default('nvidia-smi'),
    intervalSeconds: seconds(5),
    timeoutSeconds: seconds(3),
    pcieReplayIntervalSeconds: seconds(60),
  })
  .prefault({});

const xid = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** `file` follows a kernel log through a hostPath (unprivileged); `kmsg` reads /dev/kmsg (privileged). */
    source: z.enum(['file', 'kmsg']).default('file'),
    kernelLogPath: z.string().min(1).default('/var/log/kern.log'),
    intervalSeconds: seconds(2),
  })
  .prefault({});

const network = z
  .strictObject({
    enabled: z.boolean().default(true),
    intervalSeconds: seconds(5),
    /** Root under which `proc/` and `sys/` are read: `/host` when the host's are mounted there. */
    rootPath: z.string().min(1).default('/'),
    /** Interfaces whose name matches are skipped (pod veths, bridges of the CNI). */
    excludeInterfacePattern: regex('^(lo|veth.*|cali.*|flannel.*|cni.*|docker.*|vxlan.*|tunl.*|kube-ipvs.*|nodelocaldns)$'),
  })
  .prefault({});

const kafka = z
  .strictObject({
    enabled: z.boolean().default(false),
    brokers: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'must be host:port')).default([]),
    clientId: z.string().default('surgeguard-agent'),
    intervalSeconds: seconds(15),
    timeoutSeconds: seconds(10),
    /** `node`: only partitions owned by members on this node's pods; `cluster`: every partition, once. */
    scope: z.enum(['node', 'cluster']).default('node'),
    /** Consumer groups to report, as a regular expression on the group id. */
    groupPattern: regex('.*'),
    tls: z
      .strictObject({
        enabled: z.boolean().default(false),
        caFile: z.string().optional(),
        certFile: z.string().optional(),
        keyFile: z.string().optional(),
        rejectUnauthorized: z.boolean().default(true),
      })
      .prefault({}),
    sasl: z
      .strictObject({
        mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
        username: z.string().min(1),
        /** Read from this file at start, so the password stays out of the config. */
        passwordFile: z.string().min(1),
      })
      .optional(),
  })
  .prefault({})
  .refine((k) => !k.enabled || k.brokers.length > 0, { message: 'kafka.enabled needs at least one broker in kafka.brokers', path: ['brokers'] });

const podResources = z
  .strictObject({
    enabled: z.boolean().default(true),
    socketPath: z.string().min(1).default('/var/lib/kubelet/pod-resources/kubelet.sock'),
    intervalSeconds: seconds(30),
    timeoutSeconds: seconds(5),
    resourceNames: z.array(z.string()).default(['nvidia.com/gpu']),
  })
  .prefault({});

/** The agent's configuration: defaults here, then the YAML file, `SURGEGUARD_*`, flags. */
export const agentConfigSchema = z.strictObject({
  /**
   * The address to serve on. With hostNetwork, 0.0.0.0 is every interface of the node: set the
   * node's own IP (from the downward API) or 127.0.0.1 behind a proxy to narrow it.
   */
  listen: z
    .string()
    .regex(/^[^\s:]*:\d+$|^\[[0-9a-fA-F:]+\]:\d+$/, 'must be HOST:PORT')
    .default('0.0.0.0:9402'),
  /**
   * `bearerTokenFile`: /metrics answers only requests with `Authorization: Bearer <the file's
   * content>` (compared in constant time); /healthz and /readyz stay open for the kubelet's probes.
   */
  metricsAuth: z
    .strictObject({
      bearerTokenFile: z.string().min(1).optional(),
    })
    .prefault({}),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** Normally from NODE_NAME (downward API); the host name otherwise. */
  nodeName: z.string().min(1).optional(),
  collectors: z
    .strictObject({ gpu, xid, network, kafka, podResources })
    .prefault({}),
  /** `otlp.metrics.endpoint`: also push the metrics over OTLP/HTTP, GPU series under hw.* names (docs/agent.md, "OTLP"). */
  otlp: otlpConfigSchema,
});

export type AgentConfig = z.output<typeof agentConfigSchema>;

/** Splits `HOST:PORT` (or `[v6]:PORT`) for listen(). */
export function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[|\]$/g, '');
  return { host: host === '' ? '0.0.0.0' : host, port: Number(listen.slice(i + 1)) };
}
