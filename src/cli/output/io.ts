import { isatty } from 'node:tty';

/** Where the program reads and writes; replaceable for tests. */
export interface ProgramIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Whether stdout is a terminal (colors, table width, live redraw). */
  isTTY: boolean;
  /** Terminal width, when known. */
  columns: number | undefined;
}

/** The real process's streams. */
export const processIo: ProgramIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  // process.stdout.isTTY is undefined, not false, off a terminal.
  isTTY: isatty(1),
  columns: process.stdout.columns,
};
