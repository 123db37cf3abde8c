import type { FdEntry } from '../proc/fd-entry.js';
import type { ProcessInspection } from '../proc/inspect-process.js';
import { formatBytes } from './bytes.js';
import type { Colors } from './color.js';
import { escapeText } from '../../diagnostics/terminal-text.js';
import { plural } from './plural.js';
import { renderColumns, type Cell } from './table.js';

const ACCESS_SHORT: Readonly<Record<string, string>> = { read: 'r', write: 'w', 'read-write': 'rw', path: 'path' };

/**
 * Flags worth a column: the access mode has its own, and O_LARGEFILE is set on every open of a 64-bit
 * process, so both are left to the JSON.
 */
function shownFlags(f: FdEntry): string {
  const names = f.flagNames.filter((n) => !['O_RDONLY', 'O_WRONLY', 'O_RDWR', 'O_LARGEFILE'].includes(n));
  return names.length === 0 ? '-' : names.map((n) => n.replace(/^O_/, '')).join(',');
}

/** What the TARGET column says; every name in it escaped (a path or socket name can hold anything). */
function targetCell(f: FdEntry, c: Colors): Cell {
  if (f.deleted) return { text: `${escapeText(f.path ?? f.target)} (deleted)`, paint: (s) => c.bold(c.red(s)) };
  if (f.unlinkedName) return { text: `${escapeText(f.path ?? f.target)} ${unlinkedNote(f)}`, paint: c.yellow };
  if (f.kind === 'socket' || f.kind === 'anon_inode' || f.kind === 'memfd' || f.kind === 'other') {
    return { text: escapeText(f.detail ?? f.target), paint: c.cyan };
  }
  if (f.kind === 'pipe' && f.path === null) return { text: escapeText(f.target), paint: c.cyan };
  return { text: escapeText(f.path ?? f.target) };
}

/** `(this name deleted; 1 other link)`: the file lives on under another name, which /proc does not give. */
function unlinkedNote(f: FdEntry): string {
  return `(this name deleted; ${plural(f.links ?? 0, 'other link')})`;
}

/** How `fdkeeper inspect` prints a process: a summary, the descriptor table, then the findings. */
export function renderInspection(r: ProcessInspection, c: Colors): string {
  const out: string[] = [];
  const name = r.cmdline.length > 0 ? r.cmdline.map(escapeText).join(' ') : escapeText(r.command ?? '?');
  out.push(`${c.bold(`pid ${r.pid}`)}  ${name}`);
  const soft = r.limit?.soft ?? null;
  const hard = r.limit?.hard ?? null;
  const limits =
    r.limit === null
      ? 'limit unknown'
      : `soft limit ${soft ?? 'unlimited'}${r.percentOfSoftLimit === null ? '' : ` (${r.percentOfSoftLimit}% used)`}, hard limit ${hard ?? 'unlimited'}`;
  const pct = r.percentOfSoftLimit ?? 0;
  const paintCount = pct >= 90 ? (s: string) => c.bold(c.red(s)) : pct >= 70 ? c.yellow : c.green;
  out.push(`${paintCount(`${r.count} open`)}, ${limits}`);
  const kinds = Object.entries(r.byKind)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(c.dim(' · '));
  if (kinds !== '') out.push(`  ${kinds}`);
  out.push('');

  const rows = r.fds.map((f): Cell[] => [
    { text: String(f.fd) },
    { text: f.kind, paint: f.deleted ? c.red : undefined },
    { text: f.access === null ? '-' : (ACCESS_SHORT[f.access] ?? f.access) },
    { text: shownFlags(f), paint: c.dim },
    { text: f.pos === null ? '-' : String(f.pos) },
    { text: f.size === null ? '-' : formatBytes(f.size) },
    targetCell(f, c),
  ]);
  out.push(
    ...renderColumns(
      [
        { header: 'FD', align: 'right' },
        { header: 'KIND' },
        { header: 'MODE' },
        { header: 'FLAGS' },
        { header: 'OFFSET', align: 'right' },
        { header: 'SIZE', align: 'right' },
        { header: 'TARGET' },
      ],
      rows,
      { header: c.bold, rule: c.dim },
    ),
  );

  out.push('');
  if (r.deleted.length === 0) out.push(c.dim('deleted but open: none'));
  else {
    out.push(
      c.bold(
        c.red(
          `deleted but open: ${plural(r.deleted.length, 'file')}, ${formatBytes(r.deletedBytes)} held on disk until closed`,
        ),
      ),
      c.red(
        '  (the stale-handle symptom: writes go to a file no one can open by name, e.g. a log rotated or deleted under its writer)',
      ),
    );
    for (const d of r.deleted)
      out.push(`  fd ${d.fd}  ${escapeText(d.path)}  ${d.size === null ? '' : formatBytes(d.size)}`.trimEnd());
  }
  if (r.sameFile.length === 0) out.push(c.dim('open more than once: none'));
  else {
    out.push(c.yellow(`open more than once: ${plural(r.sameFile.length, 'file')}`));
    for (const g of r.sameFile) out.push(`  ${escapeText(g.path)}  fds ${g.fds.join(', ')}`);
  }
  return out.join('\n') + '\n';
}
