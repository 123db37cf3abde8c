/**
 * What every demo child shares: how it reports and where it finds the library under test.
 *
 * The children are the programs `fdkeeper demo` runs in fresh node processes (under a lowered descriptor
 * limit, next to another process…). Each prints one `RESULT <json>` line that the row in the parent
 * reads (src/cli/demo/child.ts).
 *
 * @module
 */
import { writeSync } from 'node:fs';

/** The prefix of the line a child reports its findings on. */
export const RESULT_PREFIX = 'RESULT ';

/** The environment variable that carries the `file:` URL of the library's root entry (dist/index.js). */
export const LIBRARY_ENV = 'FDKEEPER_DEMO_LIBRARY';

/**
 * Prints the RESULT line with a synchronous write, which needs no new descriptor (the child may be out of
 * them) and is not lost if the child then dies.
 */
export function report(value: unknown): void {
  writeSync(1, `${RESULT_PREFIX}${JSON.stringify(value)}\n`);
}

/**
 * The URL of the library module `file` (relative to the root entry: `index.js`, `table/file-table.js`),
 * from {@link LIBRARY_ENV}. A child imports the library under test by this URL, not statically, so the
 * demo (and its tests) can point it at another build.
 */
export function libraryModule(file: string): string {
  const root = process.env[LIBRARY_ENV];
  if (root === undefined || root === '')
    throw new Error(`${LIBRARY_ENV} is not set: run this child through fdkeeper demo`);
  return new URL(file, root).href;
}

/** The child's arguments (`process.argv[2]`, …): `count` of them, each required. */
export function childArgs(count: number): string[] {
  const args = process.argv.slice(2, 2 + count);
  if (args.length < count) throw new Error(`this demo child needs ${count} arguments, got ${args.length}`);
  return args;
}

/** `{ code, message }` of a thrown value (an errno error, or anything else). */
export function errorFacts(e: unknown): { name: string; code: string; message: string } {
  const err = e instanceof Error ? e : new Error(String(e));
  const code = (err as { code?: unknown }).code;
  return { name: err.name, code: typeof code === 'string' ? code : 'other', message: err.message };
}
