/**
 * torn-write: the writer loop both writers share. The document has its version number at both ends, so a
 * read mixing two versions or cut short is caught (JSON.parse fails, or the two numbers differ).
 *
 * @module
 */
import { DOC_BYTES } from './shared.js';
import { childArgs, report } from './report.js';

/** One version of the document, {@link DOC_BYTES} long. */
export function doc(v: number): string {
  return JSON.stringify({ v, pad: 'x'.repeat(DOC_BYTES - 40), end: v });
}

/** The file and how long to race, from the arguments. */
export function raceArgs(): { path: string; ms: number } {
  const [path, ms] = childArgs(2) as [string, string];
  return { path, ms: Number(ms) };
}

/** Writes new versions with `write` until the time is up, then reports how many. */
export function writeVersions(write: (path: string, text: string) => void): void {
  const { path, ms } = raceArgs();
  let writes = 0;
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    writes++;
    write(path, doc(writes));
  }
  report({ writes });
}
