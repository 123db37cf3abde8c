// The package's public entry points, read from package.json "exports": every export path with types,
// as the src/*.ts file it is built from ("./dist/testing.d.ts" → "src/testing.ts"). typedoc.config.mjs
// and scripts/check-docs.mjs use this, so a new subpath is documented and checked without edits.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Relative paths (from the repository root) of the source files behind the typed export paths. */
export function entryPoints() {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const out = [];
  for (const target of Object.values(pkg.exports)) {
    const types = typeof target === 'object' && target !== null ? target.types : undefined;
    if (typeof types !== 'string') continue;
    out.push(types.replace(/^\.\/dist\//, 'src/').replace(/\.d\.ts$/, '.ts'));
  }
  return out;
}
