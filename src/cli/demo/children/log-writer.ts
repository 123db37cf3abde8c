/**
 * log-replaced: the writer loop both writers share. It writes lines 1..HALF, makes sure they are in the
 * file, says so (the `half` file), waits for the demo to replace or delete the log (the `go` file), then
 * writes lines HALF+1..2*HALF, closes and reports.
 *
 * @module
 */
import { existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { HALF, LINE_GAP_MS } from './shared.js';
import { childArgs, report } from './report.js';

/** What the loop needs of a log. */
export interface DemoLog {
  write(line: string): void;
  /** Resolves once everything written so far is in the file. */
  flushed(): Promise<void>;
  close(): Promise<void>;
  /** Extra facts for the report. */
  facts(): Record<string, unknown>;
}

/** The log's path and the directory of the handshake files, from the arguments. */
export function logArgs(): { path: string; dir: string } {
  const [path, dir] = childArgs(2) as [string, string];
  return { path, dir };
}

/** Runs the loop on `log` (opened by the caller on `logArgs().path`). */
export async function writeLines(log: DemoLog, dir: string): Promise<void> {
  let written = 0;
  for (let i = 1; i <= 2 * HALF; i++) {
    log.write(`line ${i}\n`);
    written++;
    if (i === HALF) {
      await log.flushed();
      writeFileSync(`${dir}/half`, '');
      while (!existsSync(`${dir}/go`)) await sleep(1);
    }
    await sleep(LINE_GAP_MS);
  }
  await log.close();
  report({ written, ...log.facts() });
}
