import { formatBytes } from './bytes.js';
import type { Colors } from './color.js';
import { formatDuration } from './duration.js';
import { escapeText } from '../../diagnostics/terminal-text.js';
import { plural } from './plural.js';
import { renderColumns } from './table.js';

/** One temp file or claim `fdkeeper clean` looked at (`removed[]` / `kept[]` of `--json`). */
export interface CleanEntry {
  /** The file's name (its bytes as UTF-8; the terminal report shows invalid bytes as octal escapes). */
  readonly name: string;
  /** `temp`: a temp file of an atomic write; `claim`: a createExclusive claim. */
  readonly kind: 'temp' | 'claim';
  /** The writer's pid (from the temp name or the claim's content), or null when unknown. */
  readonly pid: number | null;
  /** The host a claim was made on (null for temp files, which do not record it). */
  readonly host: string | null;
  /** The file's owner (lstat), or null when it vanished. */
  readonly uid: number | null;
  readonly size: number | null;
  /** Last modification, ISO 8601; null when it vanished meanwhile. */
  readonly modified: string | null;
  /** Why it was removed or kept, in words. */
  readonly reason: string;
}

/** What `fdkeeper clean --json` prints. */
export interface CleanReport {
  readonly dir: string;
  readonly dryRun: boolean;
  readonly olderThanMs: number;
  readonly checkPids: boolean;
  /** `--any-owner`: other users' files were considered too (default: only the running user's). */
  readonly anyOwner: boolean;
  /** Removed (with --dry-run: would be removed). */
  readonly removed: readonly CleanEntry[];
  readonly kept: readonly CleanEntry[];
  /** Other entries of the directory, never touched. */
  readonly otherFiles: number;
}

/** How a name is shown on a terminal. */
export type ShowName = (e: CleanEntry) => string;

function rows(entries: readonly CleanEntry[], c: Colors, show: ShowName): string[] {
  return renderColumns(
    [{ header: 'NAME' }, { header: 'KIND' }, { header: 'SIZE', align: 'right' }, { header: 'WHY' }],
    entries.map((e) => [
      { text: show(e) },
      { text: e.kind },
      { text: e.size === null ? '-' : formatBytes(e.size) },
      { text: escapeText(e.reason), paint: c.dim },
    ]),
    { header: c.bold, rule: c.dim },
  ).map((l) => `  ${l}`);
}

/**
 * The report as text: what was removed, what was kept and why. Names, the directory and the reasons
 * (which quote a claim's host) are escaped; `show` gives a name's escaped form (default: its text).
 */
export function renderClean(r: CleanReport, c: Colors, show: ShowName = (e) => escapeText(e.name)): string {
  const out: string[] = [];
  const verb = r.dryRun ? 'would remove' : 'removed';
  out.push(
    c.bold(`fdkeeper clean ${escapeText(r.dir)}`) +
      c.dim(
        ` (older than ${formatDuration(r.olderThanMs)}${r.checkPids ? ', dead writers at once' : ', by age only'}${r.anyOwner ? ', any owner' : ", this user's files only"}${r.dryRun ? ', dry run: nothing removed' : ''})`,
      ),
  );
  out.push('');
  if (r.removed.length === 0) out.push(`${verb}: nothing`);
  else {
    out.push((r.dryRun ? c.yellow : c.green)(`${verb} ${r.removed.length}:`));
    out.push(...rows(r.removed, c, show));
  }
  if (r.kept.length > 0) {
    out.push('', `kept ${r.kept.length}:`);
    out.push(...rows(r.kept, c, show));
  }
  out.push(
    '',
    c.dim(`${plural(r.otherFiles, 'other entry', 'other entries')} (not fdkeeper temp files or claims) left alone`),
  );
  return out.join('\n') + '\n';
}
