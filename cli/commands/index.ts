import type { Command } from '../command.ts';
import { versionCommand } from './version.ts';

/** Every subcommand, one line each, in alphabetical order. */
export const commands: readonly Command[] = [versionCommand];
