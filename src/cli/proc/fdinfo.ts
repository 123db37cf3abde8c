/** What /proc/PID/fdinfo/N says about a descriptor. */
export interface FdInfo {
  /** The file offset (`pos:`). */
  readonly pos: number;
  /** The open flags (`flags:`, octal in the file). */
  readonly flags: number;
  /** Every other `key: value` line (eventfd-count, tfd, inotify…), first occurrence of each key. */
  readonly extra: Readonly<Record<string, string>>;
}

/**
 * Parses the text of /proc/PID/fdinfo/N. Returns undefined when `pos` or `flags` is missing (not an
 * fdinfo file). Offsets beyond 2^53 (sparse files) lose precision; nothing real gets there.
 */
export function parseFdInfo(text: string): FdInfo | undefined {
  let pos: number | undefined;
  let flags: number | undefined;
  const extra: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key === 'pos') pos = Number(value);
    else if (key === 'flags') flags = parseInt(value, 8);
    else if (!(key in extra)) extra[key] = value;
  }
  if (pos === undefined || flags === undefined || Number.isNaN(pos) || Number.isNaN(flags)) return undefined;
  return { pos, flags, extra };
}
