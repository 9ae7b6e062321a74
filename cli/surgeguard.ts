#!/usr/bin/env node
// The process entry point: wires real stdio, environment and signals into main().
import { main } from './main.ts';

const controller = new AbortController();
let signals = 0;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    // The first signal asks commands to stop cleanly; a second one means "now".
    if (++signals > 1) process.exit(130);
    controller.abort(new Error(`received ${sig}`));
  });
}

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  stopSignal: controller.signal,
});
process.exitCode = code;
// Every command has stopped its work when main() returns. Should a client library still hold
// a socket or timer, exit anyway after a moment (logs flushed): a pod that outlives SIGTERM
// until SIGKILL delays every rollout and hides the real shutdown time.
setTimeout(() => process.exit(code), 2000).unref();
