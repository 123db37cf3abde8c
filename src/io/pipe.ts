import { call, runAsync, runSync, type Protocol } from '../protocol/run.js';
import { fdtable } from '../table/default-table.js';
import type { FileTable } from '../table/file-table.js';
import { RawFile } from './raw-file.js';

/** Options of {@link pipe}. */
export interface PipeOptions {
  /** The table the two descriptors go into. Default: the process-wide {@link fdtable}. */
  table?: FileTable;
}

/**
 * Both ends of a pipe, owned together. `close()` closes each end exactly once (an end already closed
 * on its own is skipped), so `using p = pipe()` never leaks a descriptor and never relies on a finalizer.
 * Close `writer` alone to signal end of file to the reader.
 */
export class Pipe implements Disposable, AsyncDisposable {
  /** The read end (raw, unbuffered; wrap it in a BufferedFile for lines). */
  readonly reader: RawFile;
  /** The write end. */
  readonly writer: RawFile;

  /** Owns `reader` and `writer` together; {@link pipe} makes both ends and the Pipe. */
  constructor(reader: RawFile, writer: RawFile) {
    this.reader = reader;
    this.writer = writer;
  }

  /** True once both ends are closed. */
  get closed(): boolean {
    return this.reader.closed && this.writer.closed;
  }

  /** Closes both ends (the writer first, so a blocked reader sees end of file). Errors are thrown after both are closed. */
  closeSync(): void {
    runSync(this.#close());
  }

  /** Promise form of {@link Pipe.closeSync}. */
  close(): Promise<void> {
    return runAsync(this.#close());
  }

  *#close(): Protocol<void> {
    let first: Error | undefined;
    for (const end of [this.writer, this.reader]) {
      try {
        yield* call(
          () => {
            end.closeSync();
          },
          () => end.close(),
        );
      } catch (e) {
        first ??= e instanceof Error ? e : new Error(String(e));
      }
    }
    if (first !== undefined) throw first;
  }

  /** `using` support. */
  [Symbol.dispose](): void {
    this.closeSync();
  }

  /** `await using` support. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * pipe(2): a {@link Pipe} whose `reader` and `writer` are raw files on the two ends. Node has no pipe(2);
 * on Linux and macOS fdkeeper makes a FIFO in a private directory, opens both ends and unlinks it, which
 * yields the same kernel object. Not supported on Windows (ENOSYS).
 */
export function pipe(options: PipeOptions = {}): Pipe {
  const table = options.table ?? fdtable;
  const [r, w] = table.pipeDescriptors();
  return new Pipe(new RawFile(table, r, r.number, 'rb', true), new RawFile(table, w, w.number, 'wb', true));
}
