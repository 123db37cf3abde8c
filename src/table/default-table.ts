import { FileTable } from './file-table.js';

/**
 * The process-wide default table, used by `open()`, `pipe()` and everything else that is not given a
 * `table` option. Create a `new FileTable()` for isolation (tests, a subsystem with its own budget).
 */
export const fdtable: FileTable = new FileTable();
