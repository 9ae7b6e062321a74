/**
 * The embedded fleet the demo scales: pods that serve `capacity` requests per interval once
 * `startupSteps` intervals have passed since they were asked for (the replay contract's model),
 * and a queue for the requests they could not serve (the consumer lag a Kafka-fed service sees).
 */
export interface SimulatedFleet {
  /** Sets the replica count decided at the end of interval `t`; new pods serve from t + 1 + startupSteps. */
  scaleTo(replicas: number, t: number): void;
  /** Serves interval `t`'s demand; returns what the fleet looked like in it. */
  serve(demand: number, t: number): FleetInterval;
}

export interface FleetInterval {
  /** Pods that exist (starting ones included: a starting GPU pod is paid for). */
  existing: number;
  /** Pods serving. */
  ready: number;
  served: number;
  /** Requests waiting at the end of the interval. */
  backlog: number;
}

export function createSimulatedFleet(p: { capacity: number; startupSteps: number; initialReplicas: number }): SimulatedFleet {
  // The first interval each pod serves in; kept sorted, so scaling down drops the newest first.
  let pods: number[] = new Array<number>(p.initialReplicas).fill(0);
  let backlog = 0;
  return {
    scaleTo(replicas, t) {
      if (replicas > pods.length) pods = [...pods, ...new Array<number>(replicas - pods.length).fill(t + 1 + p.startupSteps)];
      else pods = pods.slice(0, replicas);
    },
    serve(demand, t) {
      const ready = pods.filter((s) => s <= t).length;
      const want = backlog + demand;
      const served = Math.min(want, ready * p.capacity);
      backlog = want - served;
      return { existing: pods.length, ready, served, backlog };
    },
  };
}
