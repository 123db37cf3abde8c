/**
 * Constants the demo's rows (in the parent) and their child programs share.
 *
 * @module
 */

/** closed-behind-back: the bytes the borrower writes through the number it kept. */
export const BORROWER_BYTES = 'borrower: a log line\n';

/** finalizer-leak: the fdkeeper child's budget. */
export const LEAK_BUDGET = 40;

/** emfile-budget: the fdkeeper table's budget. */
export const BUDGET_MAX_OPEN = 64;

/** torn-write: the size of each version of the file. */
export const DOC_BYTES = 64 * 1024;

/** log-replaced: lines the writer writes before the file is replaced or deleted, and as many after. */
export const HALF = 100;

/** log-replaced: milliseconds between two lines (the writer is a slow, steady logger). */
export const LINE_GAP_MS = 2;
