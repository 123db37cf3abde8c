/**
 * The exit codes of every `fdkeeper` command, one table for all of them so a script can rely on a
 * number meaning the same thing whichever command it ran (docs/cli.md lists them).
 */

/** Success: every demo row passed, the inspection or write completed, the watch ended below its threshold. */
export const EXIT_OK = 0;
/** Failure: a demo row failed, the input of `write` did not end cleanly, an unexpected error. */
export const EXIT_FAIL = 1;
/** Bad usage: unknown option or command, a malformed argument. */
export const EXIT_USAGE = 2;
