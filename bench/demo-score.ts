// The demo's score of the stream so far (demo/stream-score.ts), per tick, against scoring the same
// prefix from scratch as replay does, in one process (peers in the same run): the embedded World Cup
// trace at the benchmark convention, SurgeGuard's targets stood in for by demand / capacity + 1.
//   node bench/demo-score.ts [--repeat 5]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createStreamScorer } from '../demo/stream-score.ts';
import { conventionCapacity, conventionStartupSteps } from '../replay/convention.ts';
import { startFleet } from '../replay/fleet.ts';
import { computeBaselines, scoreTargets } from '../replay/summary.ts';

const { values } = parseArgs({ options: { repeat: { type: 'string', default: '5' } } });
const repeat = Math.max(1, Number(values.repeat));
const file = fileURLToPath(new URL('../inference/models/sample-traces/wc98_1998-07-03_12-22Z.csv', import.meta.url));
const demand = readFileSync(file, 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[1]));
const capacity = conventionCapacity(demand);
const p = { capacity, startupSteps: conventionStartupSteps(60), minReplicas: 1, maxReplicas: 100 };
const targets = demand.map((d) => Math.ceil(d / capacity) + 1);

let started = performance.now();
for (let r = 0; r < repeat; r++) {
  const scorer = createStreamScorer(p, 60, startFleet(demand, p));
  for (let t = 0; t < demand.length; t++) {
    scorer.push(demand[t] as number, targets[t] as number, String(t));
    scorer.score();
  }
}
const perTick = (performance.now() - started) / (repeat * demand.length);
started = performance.now();
for (let r = 0; r < repeat; r++) scoreTargets(demand, targets, p, computeBaselines(demand, p, 60));
const scratch = (performance.now() - started) / repeat;
console.log(`${demand.length} intervals, capacity ${capacity}: ${perTick.toFixed(3)} ms per tick incremental (push + score), ${scratch.toFixed(1)} ms to score the whole trace from scratch (the last tick's cost without it): ${(scratch / perTick).toFixed(0)}x`);
