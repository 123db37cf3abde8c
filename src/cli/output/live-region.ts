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

/** See the module comment. */
export class LiveRegion {
  #lines = 0;
  #started = false;
  readonly #write: (text: string) => void;

  constructor(write: (text: string) => void) {
    this.#write = write;
  }

  /** Replaces the previous frame with `lines` (one write, so the terminal never shows half a frame). */
  draw(lines: readonly string[]): void {
    const prefix = this.#started ? cursorUp(this.#lines) + CLEAR_DOWN : HIDE_CURSOR;
    this.#started = true;
    this.#lines = lines.length;
    this.#write(prefix + lines.join('\n') + '\n');
  }

  /** Leaves the last frame on screen and gives the cursor back. */
  done(): void {
    if (this.#started) this.#write(SHOW_CURSOR);
    this.#started = false;
  }
}
