import type { Backend } from '../backend/backend.js';
import { FileTable } from './file-table.js';

/**
 * The process-wide default table, used by `open()`, `pipe()` and everything else that is not given a
 * `table` option. Create a `new FileTable()` for isolation (tests, a subsystem with its own budget).
 */
export const fdtable: FileTable = new FileTable();

/** The tables made for features given only a `backend`: one per backend, so they share a budget and a report. */
const tablesByBackend = new WeakMap<Backend, FileTable>();

/**
 * The table a feature (an atomic write, a log file) opens its files through: `table`; else, for a
 * `backend` that is not the process table's, one table per backend (made on first use, no budget,
 * shared by every feature given that backend); else the process table {@link fdtable}. A `table` whose
 * backend is not `backend` is a TypeError: the feature would use one and report the other.
 */
export function tableFor(options: { readonly table?: FileTable; readonly backend?: Backend }): FileTable {
  const { table, backend } = options;
  if (table !== undefined) {
    if (!(table instanceof FileTable)) throw new TypeError(`table must be a FileTable, got ${describe(table)}`);
    if (backend !== undefined && backend !== table.backend)
      throw new TypeError('backend and table disagree: give only the table (its backend is used)');
    return table;
  }
  if (backend === undefined || backend === fdtable.backend) return fdtable;
  let made = tablesByBackend.get(backend);
  if (made === undefined) {
    made = new FileTable({ backend });
    tablesByBackend.set(backend, made);
  }
  return made;
}

function describe(v: unknown): string {
  return v === null ? 'null' : typeof v === 'object' ? Object.prototype.toString.call(v) : typeof v;
}
