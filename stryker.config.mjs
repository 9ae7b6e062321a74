// Mutation testing of the forecasters and the scaling decision: `npm run mutate`. Not run in CI
// (a full run takes tens of minutes on two cores); the report goes to reports/mutation/.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: ['inference/*.ts', 'controller/scaling/*.ts'],
  // Stryker has no node:test runner: the command runner runs the tests once per mutant and reads
  // the exit code. The fast unit tests go first so that `&&` stops at a killed mutant before the
  // replay tests (no-peeking alone takes about 7 s) run.
  testRunner: 'command',
  commandRunner: {
    command: 'node --test test/unit/scaling/*.test.ts test/unit/inference/*.test.ts && node --test test/unit/replay/*.test.ts',
  },
  // The command runner cannot tell which tests cover which mutant, so every mutant runs them all.
  coverageAnalysis: 'off',
  // Node strips types and does not check them; a mutant that breaks a type still runs, as it would in production.
  checkers: [],
  concurrency: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['dist', '.test-artifacts', 'test-results', '/.gl', '/.whl', 'inference/training'],
  thresholds: { high: 80, low: 60, break: null },
};
