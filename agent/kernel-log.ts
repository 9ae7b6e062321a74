import { closeSync, createReadStream, fstatSync, openSync, readFileSync, readSync, statSync, type ReadStream } from 'node:fs';

/** New complete lines of the kernel log since the last call. */
export interface KernelLineSource {
  read(): string[];
  close(): void;
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

  const open = (fromEnd: boolean): void => {
    try {
      fd = openSync(path, 'r');
      const st = fstatSync(fd);
      ino = st.ino;
      offset = fromEnd ? st.size : 0;
      partial = '';
    } catch {
      // Missing or unreadable now: the next read tries again.
      fd = undefined;
    }
  };

  const drain = (out: string[]): void => {
    if (fd === undefined) return;
    const size = fstatSync(fd).size;
    if (size < offset) {
      offset = 0; // truncated in place (copytruncate)
      partial = '';
    }
    let budget = MAX_READ_BYTES;
    const buf = Buffer.alloc(Math.min(1 << 20, budget));
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

  open(true);
  return {
    read() {
      const out: string[] = [];
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
        closeSync(fd);
        fd = undefined;
      }
      if (fd === undefined && current !== undefined) {
        open(false);
        drain(out);
      }
      return out;
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
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
  const start = (): void => {
    stream = createReadStream(path, { encoding: 'utf8' });
    stream.on('data', (chunk: string | Buffer) => {
      for (const rec of String(chunk).split('\n')) {
        const m = /^\d+,\d+,(\d+),[^;]*;(.*)$/.exec(rec);
        if (m && Number(m[1]) >= startUsec) buffered.push(m[2] ?? '');
      }
    });
    // EPIPE means records were overwritten before we read them; reopen and go on.
    stream.on('error', () => {
      stream = undefined;
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
    close() {
      stream?.destroy();
    },
  };
}
