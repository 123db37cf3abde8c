/**
 * Shared set-up for the log-file tests: options that leave rotation detection to explicit `checkNow()`
 * calls, and a temporary directory removed after the test.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Options that leave detection (and flushing) to explicit `checkNow()` / `flush()` calls. */
export const MANUAL = {
  checkInterval: 3_600_000,
  flushInterval: 3_600_000,
  watch: false,
  exitFlush: false,
  checkAroundWrites: false,
  renameGrace: 0,
} as const;

/** A fresh directory under the system's temp directory, removed when the test `t` ends. */
export function tmpdir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-log-'));
  t.after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}
