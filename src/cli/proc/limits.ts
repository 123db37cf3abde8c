/** A resource limit: `null` is unlimited. */
export interface OpenFilesLimit {
  readonly soft: number | null;
  readonly hard: number | null;
}

/**
 * The "Max open files" line of /proc/PID/limits (RLIMIT_NOFILE), or undefined when the text has none.
 * The line reads `Max open files  1024  524288  files`.
 */
export function parseOpenFilesLimit(text: string): OpenFilesLimit | undefined {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (m === null) return undefined;
  const value = (s: string | undefined): number | null => (s === undefined || s === 'unlimited' ? null : Number(s));
  return { soft: value(m[1]), hard: value(m[2]) };
}
