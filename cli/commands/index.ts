import type { Command } from '../command.ts';

/**
 * A command whose module is imported only when it runs: `surgeguard agent` must not load ONNX
 * Runtime and the forecaster that `replay` and `controller` need (about 70 MiB of RSS on every
 * node of the fleet).
 */
function lazy(name: string, summary: string, load: () => Promise<Command>): Command {
  return { name, summary, run: async (argv, io) => (await load()).run(argv, io) };
}

/** Every subcommand, one line each, in alphabetical order. */
export const commands: readonly Command[] = [
  lazy('adopt', 'Print the PredictiveScaler and the changed HPA or ScaledObject that move it to forecast-driven scaling', async () => (await import('./adopt.ts')).adoptCommand),
  lazy('agent', 'Run the node agent (GPU, XID, network, Kafka collectors on /metrics)', async () => (await import('./agent.ts')).agentCommand),
  lazy('controller', 'Run the controller (forecast, pre-scale, leader election)', async () => (await import('./controller.ts')).controllerCommand),
  lazy('demo', 'Run the agent and the scaling loop on a recorded trace, with a live page', async () => (await import('./demo.ts')).demoCommand),
  lazy('replay', 'Replay a recorded demand trace through the scaling policy and compare it with reactive autoscaling', async () => (await import('./replay.ts')).replayCommand),
  lazy('version', 'Print the SurgeGuard version and the Node.js it runs on', async () => (await import('./version.ts')).versionCommand),
];
