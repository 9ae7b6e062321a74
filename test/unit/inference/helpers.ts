import type { DestinationStream } from 'pino';
import { createLogger, type Logger } from '../../../common/logger.ts';

/** A JSON logger whose lines a test reads back. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination: DestinationStream = { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) };
  return { logger: createLogger({ level: 'debug', destination }), lines };
}
