import { closeSync, constants, createReadStream, fstatSync, openSync, readFileSync, readSync, statSync, type ReadStream } from 'node:fs';

/** Why the kernel log can or cannot be read; the `reason` label of surgeguard_kernel_log_readable. */
export type KernelLogReason = 'ok' | 'missing' | 'permission_denied' | 'not_a_regular_file' | 'read_error';

/** Whether the source can read the kernel log now, and if not, why (with the errno seen). */
export interface KernelLogState {
  readonly source: 'file' | 'kmsg';
  readonly path: string;
  readonly readable: boolean;
  readonly reason: KernelLogReason;
  /** The errno code (`ENOENT`, `EACCES`...) or the file type, when not readable. */
  readonly detail?: string;
}

/** New complete lines of the kernel log since the last call. */
export interface KernelLineSource {
  read(): string[];
  /** The state after the last read (or after opening, before any read). */
  state(): KernelLogState;
  close(): void;
}

function reasonOf(err: unknown): { reason: KernelLogReason; detail: string } {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'UNKNOWN';
  if (code === 'ENOENT' || code === 'ENOTDIR') return { reason: 'missing', detail: code };
  if (code === 'EACCES' || code === 'EPERM') return { reason: 'permission_denied', detail: code };
  if (code === 'EISDIR') return { reason: 'not_a_regular_file', detail: 'directory' };
  return { reason: 'read_error', detail: code };
}

function fileType(st: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (st.isDirectory()) return 'directory';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  return 'other';
}

/** Reads at most this much per call, so a log that grew by gigabytes cannot stall a cycle. */
const MAX_READ_BYTES = 8 * 1024 * 1024;

/**
 * Follows a kernel log file (`/var/log/kern.log` through a hostPath) from its end, like
 * `tail -F`: after a rotation (the path names a new inode) it finishes the old file and then
 * reads the new one from its start; after a truncation it starts over; while the path is
 * missing it goes on reading the file it has open and waits for a new one to appear.
 */
export function followFile(path: string): KernelLineSource {
  let fd: number | undefined;
  let ino: number | undefined;
  let offset = 0;
  let partial = '';
  let everOpened = false;
  let state: KernelLogState = { source: 'file', path, readable: false, reason: 'missing', detail: 'not opened yet' };
  const blind = (reason: KernelLogReason, detail: string): void => {
    state = { source: 'file', path, readable: false, reason, detail };
  };

  const open = (fromEnd: boolean): void => {
    try {
      // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, and the
      // agent would hang here before it listens (deaf to SIGTERM while the event loop is blocked).
      const opened = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
      const st = fstatSync(opened);
      if (!st.isFile()) {
        // A directory opens but never grows; a FIFO or a device would be read as if it were
        // kern.log: both are a wrong path, not a log (/dev/kmsg has its own source).
        closeSync(opened);
        return blind('not_a_regular_file', fileType(st));
      }
      fd = opened;
      everOpened = true;
      ino = st.ino;
      offset = fromEnd ? st.size : 0;
      partial = '';
      state = { source: 'file', path, readable: true, reason: 'ok' };
    } catch (err) {
      // Missing or unreadable now: the state says why and the next read tries again.
      fd = undefined;
      const r = reasonOf(err);
      blind(r.reason, r.detail);
    }
  };

  const drain = (out: string[]): void => {
    if (fd === undefined) return;
    const size = fstatSync(fd).size;
    if (size < offset) {
      offset = 0; // truncated in place (copytruncate)
      partial = '';
    }
    // Nothing new (the usual case): no buffer to allocate, so an idle log costs a stat only.
    if (offset >= size) return;
    let budget = MAX_READ_BYTES;
    const buf = Buffer.alloc(Math.min(1 << 20, budget, size - offset));
    while (offset < size && budget > 0) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, size - offset, budget), offset);
      if (n <= 0) break;
      offset += n;
      budget -= n;
      const text = partial + buf.subarray(0, n).toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      out.push(...lines);
    }
  };

  const closeFd = (): void => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };

  const follow = (out: string[]): void => {
    let current: number | undefined;
    try {
      current = statSync(path).ino;
    } catch {
      current = undefined;
    }
    drain(out);
    // Only a new file at the path ends the old one. Between logrotate's rename and its create
    // the path is missing while the writer still appends to the renamed file, so a missing path
    // keeps the old file open and read (a file removed for good stays open until one appears).
    if (fd !== undefined && current !== undefined && current !== ino) {
      // Rotated: the old file is finished; the new file is read from its start.
      if (partial) out.push(partial);
      closeFd();
    }
    if (fd === undefined) {
      // A new file (after a rotation, or one that did not exist) is read from its start. A file
      // that existed but could not be read until now (permissions fixed) holds old history:
      // it is read from its end, so days-old XIDs are not counted as new ones.
      open(!everOpened && state.reason !== 'missing');
      drain(out);
    }
  };

  open(true);
  return {
    read() {
      const out: string[] = [];
      try {
        follow(out);
      } catch (err) {
        // A read error (EIO on a failing disk): report it and reopen on the next read.
        closeFd();
        const r = reasonOf(err);
        blind(r.reason === 'missing' ? 'read_error' : r.reason, r.detail);
      }
      return out;
    },
    state: () => state,
    close: closeFd,
  };
}

/**
 * Reads `/dev/kmsg` (needs a privileged container or CAP_SYSLOG). Records older than the
 * agent's start are skipped, so it too starts "at the end". Each record is
 * `prio,seq,usec,flags;message`.
 */
export function followKmsg(path = '/dev/kmsg', uptimeFile = '/proc/uptime'): KernelLineSource {
  const startUsec = Number(readFileSync(uptimeFile, 'utf8').split(' ')[0]) * 1e6;
  let buffered: string[] = [];
  let stream: ReadStream | undefined;
  let state: KernelLogState = { source: 'kmsg', path, readable: false, reason: 'missing', detail: 'not opened yet' };
  const start = (): void => {
    // Probed synchronously, so the state is known before the first cycle (the stream opens later).
    try {
      closeSync(openSync(path, constants.O_RDONLY | constants.O_NONBLOCK));
      state = { source: 'kmsg', path, readable: true, reason: 'ok' };
    } catch (err) {
      const r = reasonOf(err);
      state = { source: 'kmsg', path, readable: false, reason: r.reason, detail: r.detail };
      return;
    }
    const s = createReadStream(path, { encoding: 'utf8' });
    stream = s;
    s.on('data', (chunk: string | Buffer) => {
      for (const rec of String(chunk).split('\n')) {
        const m = /^\d+,\d+,(\d+),[^;]*;(.*)$/.exec(rec);
        if (m && Number(m[1]) >= startUsec) buffered.push(m[2] ?? '');
      }
    });
    s.on('error', (err: NodeJS.ErrnoException) => {
      stream = undefined;
      // EPIPE means records were overwritten before we read them: reopen and go on, still readable.
      if (err.code === 'EPIPE') return;
      const r = reasonOf(err);
      state = { source: 'kmsg', path, readable: false, reason: r.reason, detail: r.detail };
    });
  };
  start();
  return {
    read() {
      if (!stream) start();
      const out = buffered;
      buffered = [];
      return out;
    },
    state: () => state,
    close() {
      stream?.destroy();
    },
  };
}
