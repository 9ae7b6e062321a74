/** One decision as served at GET /api/decisions. */
export interface DecisionRecord {
  time: string;
  scaler: string;
  target: string;
  decision: string;
  reason: string;
  message: string;
  leader: boolean;
  applied: boolean;
  currentReplicas?: number;
  desiredReplicas?: number;
  demandPerSecond?: number;
  forecast?: { p50: number; p90: number; horizonSeconds: number; source: string };
  startupSeconds?: number;
  /** What each rule asked for, in replicas (forecast, reactive, surge, stabilized, guard). */
  rules?: Record<string, number>;
  /** The guard with the largest ask, when the scaler has guards: which one and what it read. */
  guard?: { name: string; replicas: number; detail?: string };
  /** The campaign window that is on (spec.schedule), and what it asks for. */
  campaign?: { window: string; replicas: number };
}

/** The last N decisions, newest last, in a fixed-size ring (no growth under load). */
export interface DecisionLog {
  add(record: DecisionRecord): void;
  list(filter?: { scaler?: string; limit?: number }): DecisionRecord[];
}

export function createDecisionLog(capacity: number): DecisionLog {
  const ring: (DecisionRecord | undefined)[] = new Array<DecisionRecord | undefined>(capacity);
  let next = 0;
  let size = 0;
  return {
    add(record) {
      ring[next] = record;
      next = (next + 1) % capacity;
      size = Math.min(capacity, size + 1);
    },
    list(filter = {}) {
      const out: DecisionRecord[] = [];
      for (let i = 0; i < size; i++) {
        const r = ring[(next - size + i + capacity) % capacity];
        if (r && (!filter.scaler || r.scaler === filter.scaler)) out.push(r);
      }
      return filter.limit ? out.slice(-filter.limit) : out;
    },
  };
}
