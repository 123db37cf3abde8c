/**
 * A block of lines redrawn in place on a terminal: each frame moves the cursor back to the block's
 * first line and clears to the end of the screen before writing. picocolors has colors only; these are
 * the three ECMA-48 control sequences the redraw needs, nothing else.
 */
const CSI = '\u001b[';
const cursorUp = (n: number): string => (n > 0 ? `${CSI}${n}F` : '\r'); // CPL: to column 1, n lines up
const CLEAR_DOWN = `${CSI}J`; // ED 0: erase to the end of the screen
const HIDE_CURSOR = `${CSI}?25l`;
const SHOW_CURSOR = `${CSI}?25h`;

// SGR sequences (colors), to measure the visible width of a painted line.
// eslint-disable-next-line no-control-regex
const SGR = /\u001b\[[0-9;]*m/g;

/**
 * `line` cut to `width` visible characters. A line that wraps would take two terminal rows and the
 * next frame would move up one row too few; a cut line loses its colors rather than break that.
 */
export function fitLine(line: string, width: number): string {
  const plain = line.replace(SGR, '');
  return plain.length <= width ? line : plain.slice(0, Math.max(0, width - 1)) + '…';
}

/** See the module comment. */
export class LiveRegion {
  #lines = 0;
  #started = false;
  readonly #write: (text: string) => void;
  readonly #width: number;

  /** `width`: the terminal's columns (lines are cut to one less, so none can wrap). */
  constructor(write: (text: string) => void, width = 80) {
    this.#write = write;
    this.#width = Math.max(10, width - 1);
  }

  /** Replaces the previous frame with `lines` (one write, so the terminal never shows half a frame). */
  draw(lines: readonly string[]): void {
    const prefix = this.#started ? cursorUp(this.#lines) + CLEAR_DOWN : HIDE_CURSOR;
    this.#started = true;
    this.#lines = lines.length;
    this.#write(prefix + lines.map((l) => fitLine(l, this.#width)).join('\n') + '\n');
  }

  /** Leaves the last frame on screen and gives the cursor back. */
  done(): void {
    if (this.#started) this.#write(SHOW_CURSOR);
    this.#started = false;
  }
}
