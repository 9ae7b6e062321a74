import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { ErrorCode, SurgeGuardError, errorMessage } from '../common/errors.ts';
import { TraceReader, type Trace, type TraceOptions } from './trace.ts';

/**
 * The largest trace file read unless the user raises it (`--max-trace-mib`): 70 times the largest
 * benchmark trace. Replay keeps a few numbers per interval for every run it scores, so a file this
 * size already needs about a gigabyte of heap; a larger one is refused before it is read.
 */
export const DEFAULT_MAX_TRACE_MIB = 256;

const MIB = 1024 * 1024;

/** Where a trace file is read from, and the largest size accepted. */
export interface TraceFileOptions extends TraceOptions {
  /** Bytes; a larger file (or pipe) is an error naming the file, its size and the limit. */
  readonly maxBytes: number;
}

/**
 * Reads a trace file per the replay contract, streamed a chunk at a time so that it is never held
 * whole in memory. A regular file larger than `maxBytes` is refused before reading; a pipe is
 * refused as soon as it has given more.
 */
export async function readTraceFile(o: TraceFileOptions): Promise<Trace> {
  const size = await fileSize(o.file);
  if (size !== undefined && size > o.maxBytes) throw tooLarge(o.file, size, o.maxBytes);
  const reader = new TraceReader(o);
  const stream = createReadStream(o.file);
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let bytes = 0;
  let line = 0;
  const take = (text: string): void => {
    const parts = (rest + text).split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) reader.line(p.endsWith('\r') ? p.slice(0, -1) : p, ++line);
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > o.maxBytes) throw tooLarge(o.file, bytes, o.maxBytes, true);
      take(decoder.write(chunk));
    }
    take(decoder.end());
    if (rest !== '') reader.line(rest.endsWith('\r') ? rest.slice(0, -1) : rest, ++line);
  } catch (cause) {
    if (cause instanceof SurgeGuardError) throw cause;
    throw cannotRead(o.file, cause);
  } finally {
    stream.destroy();
  }
  return reader.finish();
}

/** The size of a regular file; undefined for a pipe or device, whose size is known only by reading it. */
async function fileSize(file: string): Promise<number | undefined> {
  try {
    const st = await stat(file);
    if (st.isDirectory()) throw new Error('it is a directory');
    return st.isFile() ? st.size : undefined;
  } catch (cause) {
    throw cannotRead(file, cause);
  }
}

function cannotRead(file: string, cause: unknown): SurgeGuardError {
  return new SurgeGuardError(ErrorCode.InputInvalid, `${file}: cannot read the trace: ${errorMessage(cause)}`, { cause, details: { file } });
}

function tooLarge(file: string, bytes: number, maxBytes: number, partial = false): SurgeGuardError {
  const mib = (b: number): string => (b / MIB).toFixed(1);
  const size = partial ? `more than ${mib(bytes)} MiB` : `${mib(bytes)} MiB`;
  const raise = partial ? '--max-trace-mib N' : `--max-trace-mib ${Math.ceil(bytes / MIB)}`;
  return new SurgeGuardError(
    ErrorCode.InputInvalid,
    `${file}: the trace is ${size}, above the limit of ${mib(maxBytes)} MiB (--max-trace-mib, default ${DEFAULT_MAX_TRACE_MIB}); replay holds every interval in memory, so cut the trace, use a larger --bucket, or pass ${raise} with the memory for it`,
    { details: { file, bytes, maxBytes } },
  );
}
