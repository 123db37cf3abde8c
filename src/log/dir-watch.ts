/**
 * The hint: `fs.watch` on the log's directory (inotify on Linux, FSEvents/kqueue on macOS,
 * ReadDirectoryChangesW on Windows) reports names created, renamed or removed there, and the log checks
 * at once instead of at its next timer tick. Only a hint: events can be coalesced, dropped on overflow,
 * or unavailable (network file systems, a directory removed under the watch), so the timer's check
 * stays the truth and the bound.
 *
 * @module
 */
import fs from 'node:fs';

/** A running watch; `close()` stops it (idempotent). */
export interface DirWatch {
  close(): void;
}

/**
 * Watches `dir` for entry changes under `name` (or unnamed ones, which some platforms report), calling
 * `onHint` for each. Returns undefined when the platform refuses to watch. Content changes ('change'
 * events: every write of the log itself) are ignored; they say nothing about identity.
 */
export function watchDirectory(dir: string, name: string, onHint: () => void): DirWatch | undefined {
  let watcher: fs.FSWatcher;
  try {
    watcher = fs.watch(dir, { persistent: false }, (event, filename) => {
      if (event === 'rename' && (filename === null || filename === name)) onHint();
    });
  } catch {
    return undefined;
  }
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    watcher.close();
  };
  // The directory was removed or the watch broke: the timer still checks.
  watcher.on('error', close);
  return { close };
}
