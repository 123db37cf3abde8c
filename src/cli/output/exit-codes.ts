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
/** `watch`: the threshold was crossed (the alarm). */
export const EXIT_ALARM = 3;
/** `inspect`, `watch`: no process with that pid (it exited, or never existed). */
export const EXIT_NO_PROCESS = 4;
/** `inspect`, `watch`: not allowed to read that process's descriptors (another user's; run as that user or root). */
export const EXIT_PERMISSION = 5;
/** `inspect`, `watch`: this system has no /proc (macOS, Windows) or it is not mounted. */
export const EXIT_UNSUPPORTED = 6;
