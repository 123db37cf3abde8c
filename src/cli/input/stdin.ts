/**
 * fd 0 as `fdkeeper write` reads it: every read error is an error, never an end of input.
 *
 * Node's `process.stdin` cannot be trusted with that. When fd 0 is a directory it gives an empty
 * stream (libuv sees an "unknown" handle), so `fdkeeper write cfg.json < somedir` emptied cfg.json and
 * exited 0; and when fd 0 was closed (`<&-`), Node reopened it on /dev/null at startup, which reads as
 * an empty input. So: a pipe, FIFO, socket or terminal is read through `process.stdin` (a libuv stream,
 * whose read errors do reach the reader); anything else (a regular file, a directory, a device) with
 * read(2) on fd 0 itself, whose errors (EISDIR, EIO) reject; and a closed fd 0 is refused.
 *
 * @module
 */
import { fstatSync, read, readFileSync, type Stats } from 'node:fs';
import { isatty } from 'node:tty';

/** What was wrong with fd 0 before anything was read. */
export class StdinError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'StdinError';
  }
}

/** /dev/null's device number on Linux (major 1, minor 3). */
const DEV_NULL_RDEV = (1 << 8) | 3;

/**
 * Whether fd 0 is the /dev/null Node opened in place of a closed stdin: at startup Node reopens a closed
 * fd 0, 1 or 2 on /dev/null with O_RDWR, while a shell's `< /dev/null` opens it O_RDONLY. Linux only
 * (it reads /proc/self/fdinfo/0); elsewhere a closed stdin reads as empty input.
 */
function isClosedStdin(st: Stats): boolean {
  if (process.platform !== 'linux' || !st.isCharacterDevice() || st.rdev !== DEV_NULL_RDEV) return false;
  try {
    const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/fdinfo/0', 'utf8'))?.[1];
    return flags !== undefined && (parseInt(flags, 8) & 3) === 2; // O_ACCMODE === O_RDWR
  } catch {
    return false;
  }
}

const CHUNK = 64 * 1024;

/** read(2) on `fd` until it returns 0; any error rejects. */
async function* readFd(fd: number): AsyncGenerator<Buffer> {
  for (;;) {
    const buf = Buffer.allocUnsafe(CHUNK);
    const n = await new Promise<number>((resolve, reject) => {
      read(fd, buf, 0, CHUNK, null, (e, bytes) => {
        if (e === null) resolve(bytes);
        else reject(e);
      });
    });
    if (n === 0) return;
    yield buf.subarray(0, n);
  }
}

/** The input of `write` on stdin: an iterable of chunks, and how to stop it. Throws a {@link StdinError} for a closed stdin. */
export function stdinInput(): { chunks: AsyncIterable<Buffer>; stop: () => void } {
  let st: Stats;
  try {
    st = fstatSync(0);
  } catch (e) {
    throw new StdinError(
      `stdin cannot be read: ${e instanceof Error ? e.message : String(e)}`,
      (e as { code?: string }).code ?? 'EBADF',
    );
  }
  if (isClosedStdin(st)) {
    throw new StdinError(
      'stdin is closed (<&-): there is no input to read; for an empty input give < /dev/null',
      'EBADF',
    );
  }
  if (st.isFIFO() || st.isSocket() || isatty(0)) {
    const stream = process.stdin;
    return {
      chunks: stream as AsyncIterable<Buffer>,
      stop: () => {
        stream.destroy();
      },
    };
  }
  let stopped = false;
  const chunks = readFd(0);
  return {
    chunks: {
      async *[Symbol.asyncIterator]() {
        for await (const chunk of chunks) {
          if (stopped) return;
          yield chunk;
        }
      },
    },
    stop: () => {
      stopped = true;
    },
  };
}
