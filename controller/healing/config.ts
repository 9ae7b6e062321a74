import { z } from 'zod';
import { httpUrl } from '../http-url.ts';
import { DEFAULT_CONDITION_TYPE } from './node-condition.ts';
import { xidPolicySchema } from './xid-policy.ts';

/** Conditions the kubelet writes and owns; a second writer would fight it every heartbeat. */
const KUBELET_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable'];

const receiver = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and -'),
  url: httpUrl,
  /** `alertmanager`: Alertmanager's webhook body (version 4); `json`: SurgeGuard's own, signed. */
  format: z.enum(['alertmanager', 'json']).default('json'),
  /** Severities this receiver gets (on-call pager: critical; a team channel: warning too). */
  severities: z.array(z.enum(['critical', 'warning', 'info'])).min(1).default(['critical']),
  /** File holding the HMAC-SHA256 key for the `json` format's X-SurgeGuard-Signature header. */
  hmacKeyFile: z.string().optional(),
  /** File holding a bearer token sent as Authorization. */
  bearerTokenFile: z.string().optional(),
});

/** The healing loop's configuration: checks, the safety gate, drains and on-call receivers. */
export const healingConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Decide and report, never act (every decision is recorded as dry_run). */
    dryRun: z.boolean().default(false),
    intervalSeconds: z.number().min(1).max(600).default(5),
    checks: z
      .strictObject({
        /** A XID counts for this long after the agent read it. */
        xidWindowSeconds: z.number().min(10).default(900),
        /** What each XID code leads to (xid-policy.ts; docs/healing.md has today's table). */
        xidPolicy: xidPolicySchema,
        /** Window over which uncorrectable ECC errors must not increase. */
        eccWindowSeconds: z.number().min(10).default(600),
        /** Corrected volatile ECC errors per window above which a GPU counts as degraded. */
        correctableEccPerWindow: z.number().min(1).default(1000),
        /** A thermal or power-brake slowdown active in every sample for this long. */
        thermalSustainSeconds: z.number().min(5).default(120),
        /** Restarts in a CrashLoopBackOff before it is reported. */
        crashLoopRestarts: z.number().int().min(1).default(3),
        /** Not ready after this multiple of the observed startup time (p90 of its siblings). */
        neverReadyFactor: z.number().min(1).default(2),
        /** Floor for pods without siblings to learn a startup time from. */
        neverReadyMinSeconds: z.number().min(5).default(600),
        /** A group's committed offsets still while its lag grows for this long. */
        consumerStalledSeconds: z.number().min(10).default(300),
      })
      .prefault({}),
    gate: z
      .strictObject({
        /** At most max(1, floor(fraction × nodes)) nodes cordoned at once. */
        maxCordonedFraction: z.number().min(0).max(1).default(0.1),
        maxInFlight: z.number().int().min(1).default(3),
        nodeCooldownSeconds: z.number().min(0).default(1800),
        maxActionsPerHour: z.number().int().min(1).default(10),
        /** Above this share of unhealthy nodes, act on none and page on-call. */
        fleetUnhealthyFraction: z.number().min(0).max(1).default(0.2),
      })
      .prefault({}),
    drain: z
      .strictObject({
        /** A degraded node drains when replacements are ready or after this long. */
        replacementTimeoutSeconds: z.number().min(1).default(600),
        /** The raised floors expire after this long, so a stuck drain cannot pin capacity. */
        floorTtlSeconds: z.number().min(60).default(3600),
        /**
         * Before a degraded node is cordoned, the GPUs its pods hold must be available elsewhere in
         * its pool (free, held by placeholders, or on nodes coming within the horizon); otherwise the
         * drain waits (capacity-wait.ts). Fatal faults never wait.
         */
        capacity: z
          .strictObject({
            enabled: z.boolean().default(true),
            /** A wait this long pages on-call (critical receivers). */
            timeoutSeconds: z.number().min(0).max(7 * 86_400).default(1800),
            /** After the timeout: keep waiting (the node still serves, degraded) or drain anyway. */
            onTimeout: z.enum(['wait', 'proceed']).default('wait'),
            /** A node or Karpenter NodeClaim not Ready after this long is stuck, not coming. */
            horizonSeconds: z.number().min(1).max(7200).default(600),
          })
          .prefault({}),
      })
      .prefault({}),
    oncall: z
      .strictObject({
        receivers: z.array(receiver).default([]),
        /** A firing problem is sent again after this long (0: once). */
        repeatIntervalSeconds: z.number().min(0).default(14_400),
        attempts: z.number().int().min(1).max(20).default(5),
        initialBackoffMs: z.number().int().min(10).default(500),
        timeoutMs: z.number().int().min(100).default(10_000),
        /** The link in notifications (the controller's public URL), if any. */
        externalUrl: httpUrl.optional(),
      })
      .prefault({}),
    nodeCondition: z
      .strictObject({
        /** Write a GPU health condition on nodes (faultStatus while a node fault is found or repaired), for other repair tools. */
        enabled: z.boolean().default(true),
        /** The condition type: GPUHealthy, or the one your repair tool acts on. */
        type: z
          .string()
          .regex(/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, 'a condition type: letters, digits, - _ . and an optional DNS prefix with /')
          .max(316)
          .refine((t) => !KUBELET_CONDITIONS.includes(t), { message: `the kubelet owns ${KUBELET_CONDITIONS.join(', ')}: SurgeGuard must not write them` })
          .default(DEFAULT_CONDITION_TYPE),
        /**
         * The status the condition has while a fault is found: `False` for a type that names health
         * (GPUHealthy, AWS's AcceleratedHardwareReady), `True` for one that names a problem, as Node
         * Problem Detector's do (KernelDeadlock) and Karpenter's kwok provider's KWOKUnhealthy. The
         * other status is written when the fault clears.
         */
        faultStatus: z.enum(['False', 'True']).default('False'),
      })
      .refine((c) => !(c.faultStatus === 'True' && c.type === DEFAULT_CONDITION_TYPE), {
        path: ['faultStatus'],
        message: `True would make ${DEFAULT_CONDITION_TYPE}=True mean a faulty GPU: with faultStatus True, name a problem as the type (for example GPUProblem)`,
      })
      .prefault({}),
    /** Remediation entries kept for GET /api/remediations. */
    entriesKept: z.number().int().min(10).max(100_000).default(1000),
  })
  .prefault({});

export type HealingConfig = z.output<typeof healingConfigSchema>;
export type ReceiverConfig = z.output<typeof receiver>;
