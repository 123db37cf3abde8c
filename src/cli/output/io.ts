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
  isTTY: process.stdout.isTTY,
  columns: process.stdout.columns,
};
