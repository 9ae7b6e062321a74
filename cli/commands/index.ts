import type { Command } from '../command.ts';
import { agentCommand } from './agent.ts';
import { controllerCommand } from './controller.ts';
import { replayCommand } from './replay.ts';
import { versionCommand } from './version.ts';

/** Every subcommand, one line each, in alphabetical order. */
export const commands: readonly Command[] = [agentCommand, controllerCommand, replayCommand, versionCommand];
