// Mutation testing of the forecasters and the scaling decision: `npm run mutate`. Not run in CI
// (a full run takes tens of minutes on two cores); the report goes to reports/mutation/.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: ['inference/*.ts', 'controller/scaling/*.ts'],
  // Stryker has no node:test runner: the command runner runs the tests once per mutant and reads
  // the exit code. The unit tests of these files and of the controller step that calls them go first,
  // the guards' and the panic window's tests of decide (without them every guard branch of decide
  // survives: 2026-12-07), then the replay's in-process no-peeking test (forecasters on real traces), in one process each
  // (--test-isolation=none). The replay CLI tests are left out: they spawn the CLI, which runs the
  // instrumented code about ten times slower; what they would add to the score is not measured.
  testRunner: 'command',
  commandRunner: {
    command:
      'node --test --test-isolation=none test/unit/scaling/*.test.ts test/unit/inference/*.test.ts test/unit/controller/plan.test.ts test/unit/controller/policy-step.test.ts test/unit/controller/tick.test.ts test/unit/controller/tick-safety.test.ts test/unit/controller/guards.test.ts test/unit/replay/panic.test.ts && node --test --test-isolation=none test/unit/replay/no-peeking.test.ts',
  },
  // The command runner cannot tell which tests cover which mutant, so every mutant runs them all.
  coverageAnalysis: 'off',
  // Node strips types and does not check them; a mutant that breaks a type still runs, as it would in production.
  checkers: [],
  concurrency: 2,
  // A mutant that makes a loop run forever is stopped after this; generous, because a slow shared
  // machine must not turn a surviving mutant into a "timed out" one, which Stryker counts as killed.
  timeoutMS: 30000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['dist', '.test-artifacts', 'test-results', '/.gl', '/.whl', 'inference/training'],
  thresholds: { high: 80, low: 60, break: null },
};
