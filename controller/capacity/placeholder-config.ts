import { z } from 'zod';

/** A name that fits in a pod name and a label value: a DNS label, short enough for `-<index>`. */
const POOL_NAME = /^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/;
/** A resource name as the device plugin advertises it (the CRD's spec.gpu.resource pattern). */
const RESOURCE = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

const toleration = z.strictObject({
  key: z.string().regex(LABEL_KEY, 'a label key').optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().max(63).optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.number().int().min(0).optional(),
});

const pool = z.strictObject({
  /** Names the placeholder pods and their label; name it as the node pool's label value (karpenter.sh/nodepool, ...) to use its learned lead time. */
  name: z.string().regex(POOL_NAME, 'lowercase letters, digits and -, at most 40, starting and ending with a letter or digit'),
  /** The GPU resource the placeholders request: nvidia.com/gpu, a MIG profile, a time-sliced name. */
  resource: z.string().regex(RESOURCE, 'a resource name such as nvidia.com/gpu').default('nvidia.com/gpu'),
  /** The pool's nodes: the placeholders' nodeSelector, and what free and coming GPUs are counted on. */
  nodeSelector: z.record(z.string().regex(LABEL_KEY, 'a label key'), z.string().max(63)).default({}),
  tolerations: z.array(toleration).max(20).default([]),
  /** The most GPUs placeholders may hold or ask for in this pool: what a crashed controller can leave behind. */
  capGpus: z.number().int().min(0).max(10_000),
  /**
   * What one GPU of this pool costs an hour (any currency, the same as `capCostPerHour`): prices the
   * placeholders for `surgeguard_placeholder_cost_per_hour` and the cost cap.
   */
  pricePerGpuHour: z.number().positive('a price above 0').max(1_000_000).optional(),
  /** The most the pool's placeholders may cost an hour (bound or Pending, at pricePerGpuHour); needs pricePerGpuHour. */
  capCostPerHour: z.number().min(0).max(1_000_000_000).optional(),
  /** GPUs one placeholder pod requests (a node's worth makes the autoscaler bring whole nodes). */
  gpusPerPod: z.number().int().min(1).max(64).default(1),
  /** Used until the pool's lead time is learned (lead-time.ts), seconds. */
  nodeLeadTimeSeconds: z.number().min(1).max(7200).optional(),
  /** The scalers (`namespace/name`) whose forecasts size this pool; empty: every scaler whose spec.gpu.resource is the pool's. */
  scalers: z.array(z.string().regex(/^[a-z0-9][-a-z0-9.]*\/[a-z0-9][-a-z0-9.]*$/, 'namespace/name')).max(1000).optional(),
  /**
   * What holds the placeholders: `pods` (placeholder pods at the low PriorityClass), `capacityBuffer`
   * (one autoscaling.x-k8s.io CapacityBuffer of the same count, for the cluster autoscaler to turn into
   * virtual pods; capacity-buffer.ts), or `auto` (a CapacityBuffer where the API server serves the
   * resource, else pods).
   */
  mode: z.enum(['pods', 'capacityBuffer', 'auto']).default('pods'),
});

/**
 * Forecast-sized placeholder pods (capacity/placeholder-*.ts): off by default. Checked as a whole
 * at start: pool names unique, a placeholder pod fits under its cap, and no scaler falls into two
 * pools (two pools of one resource without `scalers` lists would both count it).
 */
export const placeholderConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    /** The controller's own namespace: the only one it creates pods in (its Role). */
    namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a namespace name').default('surgeguard'),
    /** Shipped by the chart: a negative value with preemptionPolicy Never, below every real workload. */
    priorityClassName: z.string().min(1).max(253).default('surgeguard-placeholder'),
    /** A container that does nothing and exits on SIGTERM. */
    image: z.string().min(1).default('registry.k8s.io/pause:3.10'),
    /** How long the highest recent need holds before placeholders are released, seconds. */
    stabilizationSeconds: z.number().min(0).max(86_400).default(600),
    /** Lead time for pools with none learned and none configured, seconds (the cluster autoscaler's usual 3 to 10 minutes). */
    defaultNodeLeadTimeSeconds: z.number().min(1).max(7200).default(300),
    pools: z.array(pool).max(100).default([]),
  })
  .superRefine((c, ctx) => {
    if (c.enabled && c.pools.length === 0) ctx.addIssue({ code: 'custom', path: ['pools'], message: 'placeholders are enabled but no pool is configured' });
    const seen = new Set<string>();
    const open = new Set<string>();
    const listed = new Map<string, string>();
    c.pools.forEach((p, i) => {
      if (seen.has(p.name)) ctx.addIssue({ code: 'custom', path: ['pools', i, 'name'], message: `pool ${p.name} is configured twice` });
      seen.add(p.name);
      for (const issue of capIssues(p)) ctx.addIssue({ code: 'custom', path: ['pools', i, issue.key], message: issue.message });
      (p.scalers ?? []).forEach((key, j) => {
        const other = listed.get(key);
        if (other !== undefined && other !== p.name) ctx.addIssue({ code: 'custom', path: ['pools', i, 'scalers', j], message: `${key} is listed in pool ${other} too` });
        listed.set(key, p.name);
      });
      if (p.scalers !== undefined) return;
      if (open.has(p.resource)) ctx.addIssue({ code: 'custom', path: ['pools', i, 'scalers'], message: `another pool of ${p.resource} has no scalers list either: list the scalers of each` });
      open.add(p.resource);
    });
  })
  .prefault({});

/** A pool's caps that cannot hold even one placeholder pod, or a cost cap with no price to apply it. */
function capIssues(p: z.output<typeof pool>): Array<{ key: string; message: string }> {
  const out: Array<{ key: string; message: string }> = [];
  if (p.gpusPerPod > p.capGpus && p.capGpus > 0) out.push({ key: 'gpusPerPod', message: `one placeholder pod (${p.gpusPerPod} GPUs) exceeds the pool's capGpus (${p.capGpus})` });
  if (p.capCostPerHour === undefined) return out;
  if (p.pricePerGpuHour === undefined) return [...out, { key: 'pricePerGpuHour', message: 'capCostPerHour needs the price of a GPU-hour in this pool (pricePerGpuHour) to turn GPUs into cost' }];
  const podCost = p.gpusPerPod * p.pricePerGpuHour;
  if (p.capCostPerHour > 0 && podCost > p.capCostPerHour) out.push({ key: 'capCostPerHour', message: `one placeholder pod (${p.gpusPerPod} GPUs at ${p.pricePerGpuHour} per GPU-hour = ${podCost} an hour) exceeds the pool's capCostPerHour (${p.capCostPerHour})` });
  return out;
}

export type PlaceholderConfig = z.output<typeof placeholderConfigSchema>;
export type PlaceholderPoolConfig = PlaceholderConfig['pools'][number];
