// Runs only the agent command (without the CLI dispatcher, which loads every command's modules
// up front), so the idle benchmark can tell the agent's own footprint from the CLI's.
import { agentCommand } from '../cli/commands/agent.ts';

const controller = new AbortController();
process.on('SIGTERM', () => controller.abort());
process.exitCode = await agentCommand.run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), stopSignal: controller.signal });
