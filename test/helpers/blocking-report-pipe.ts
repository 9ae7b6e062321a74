// Loaded into every test file's process (`node --import` is passed on to them). Each file streams
// its results to the runner over its stdout, a pipe, which Node writes asynchronously on Linux.
// `--test-force-exit` ends the file's process as soon as its tests are done, and results still
// buffered in the pipe are lost: the runner then reports fewer tests, and can lose a failure,
// while exiting 0 (nodejs/node#64833; it dropped 9 verdicts in one of our runs). A blocking pipe
// has written everything before the exit. The runner's own process is left alone.
if (process.env.NODE_TEST_CONTEXT?.startsWith('child')) {
  const handle = (process.stdout as unknown as { _handle?: { setBlocking?: (on: boolean) => number } })._handle;
  handle?.setBlocking?.(true);
}
