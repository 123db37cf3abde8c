/**
 * The temp files and claims this process is working with right now, so that {@link cleanupTemps} run in
 * the same process never removes them, whatever their age.
 *
 * @module
 */

/** Path → how many of this process's operations hold it (two may briefly, e.g. racing for one claim). */
const live = new Map<string, number>();

/** Records that this process is writing (or holding) the file at `path`. Pair with {@link deleteLive}. */
export function addLive(path: string): void {
  live.set(path, (live.get(path) ?? 0) + 1);
}

/** Records that one of this process's operations is done with the file at `path`. */
export function deleteLive(path: string): void {
  const n = live.get(path);
  if (n === undefined) return;
  if (n <= 1) live.delete(path);
  else live.set(path, n - 1);
}

/** Whether this process is writing (or holding) the file at `path` right now. */
export function isLive(path: string): boolean {
  return live.has(path);
}
