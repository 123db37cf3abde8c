/**
 * Options, checked and with their defaults filled in, in the one shape the protocol steps take.
 *
 * @module
 */
import type { Backend } from '../backend/backend.js';
import { ID_RULE, MODE_RULE, checkNumber } from '../errors/number-option.js';
import { tableFor } from '../table/default-table.js';
import { FileTable } from '../table/file-table.js';
import type { AtomicOptions, Durability } from './types.js';

/** {@link AtomicOptions} with defaults applied. */
export interface Settings {
  /** The table temp files are opened through (their descriptors count against its budget). */
  readonly table: FileTable;
  /** `table.backend`: where the files are. */
  readonly backend: Backend;
  readonly durability: Durability;
  readonly mode: number | undefined;
  readonly chown: { readonly uid: number; readonly gid: number } | false | undefined;
  readonly encoding: BufferEncoding;
  readonly mkdir: boolean;
  readonly replaceSymlink: boolean;
  readonly untrustedSymlink: 'refuse' | 'replace';
  readonly signal: AbortSignal | undefined;
}

const DURABILITY_RANK: Readonly<Record<Durability, number>> = { none: 0, file: 1, full: 2 };

/** The stronger of two durability levels. */
export function strongest(a: Durability, b: Durability): Durability {
  return DURABILITY_RANK[a] >= DURABILITY_RANK[b] ? a : b;
}

function show(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}

/** The tables made for `backend` options given without a table: one per backend, so one budget per backend. */
/**
 * Checks `options` and fills in the defaults: a bad number (mode, chown ids) is an FsError EINVAL naming
 * it (src/errors/number-option.ts), another wrong type or value a TypeError.
 */
export function settingsOf(options: AtomicOptions): Settings {
  const durability = options.durability ?? 'full';
  if (!(durability in DURABILITY_RANK))
    throw new TypeError(`durability must be 'full', 'file' or 'none', got ${show(durability)}`);
  const site = { syscall: 'open' };
  const mode = options.mode === undefined ? undefined : checkNumber('mode', options.mode, MODE_RULE, site);
  const chown = options.chown;
  if (chown !== undefined && chown !== false) {
    if (typeof chown !== 'object' || (chown as unknown) === null)
      throw new TypeError('chown must be false or { uid, gid } with non-negative integer ids');
    checkNumber('chown.uid', chown.uid, ID_RULE, site);
    checkNumber('chown.gid', chown.gid, ID_RULE, site);
  }
  const untrustedSymlink: unknown = options.untrustedSymlink ?? 'refuse';
  if (untrustedSymlink !== 'refuse' && untrustedSymlink !== 'replace')
    throw new TypeError(`untrustedSymlink must be 'refuse' or 'replace', got ${show(untrustedSymlink)}`);
  const encoding = options.encoding ?? 'utf8';
  if (!Buffer.isEncoding(encoding)) throw new TypeError(`unknown encoding ${show(encoding)}`);
  const table = tableFor(options);
  return {
    table,
    backend: table.backend,
    durability,
    mode,
    chown,
    encoding,
    mkdir: options.mkdir === true,
    replaceSymlink: options.replaceSymlink === true,
    untrustedSymlink,
    signal: options.signal,
  };
}
