// typedoc's configuration for `npm run docs` (the API reference in docs/api/) and `npm run docs:check`.
// The entry points are the package's own: every "exports" path with types, mapped from dist/*.d.ts
// back to the src/*.ts it is built from, so a new subpath is documented without editing this file.
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

/** The source file behind each export path that has types, e.g. "./dist/testing.d.ts" → "src/testing.ts". */
export function entryPoints(exports = pkg.exports) {
  const out = [];
  for (const target of Object.values(exports)) {
    const types = typeof target === 'object' && target !== null ? target.types : undefined;
    if (typeof types !== 'string') continue;
    out.push(types.replace(/^\.\/dist\//, 'src/').replace(/\.d\.ts$/, '.ts'));
  }
  return out;
}

/** @type {Partial<import('typedoc').TypeDocOptions>} */
const config = {
  entryPoints: entryPoints(),
  tsconfig: './tsconfig.build.json',
  out: 'docs/api',
  name: pkg.name,
  readme: 'none',
  excludeInternal: true,
  excludePrivate: true,
  // Every type a public signature uses must be reachable from an entry point (a warning otherwise).
  validation: { notExported: true, invalidLink: true, notDocumented: false },
  // {@link} to Node's own API (streams) goes to nodejs.org.
  externalSymbolLinkMappings: {
    '@types/node': {
      'Stream.Readable._read': 'https://nodejs.org/api/stream.html#readable_readsize',
      'Stream.Writable.write': 'https://nodejs.org/api/stream.html#writablewritechunk-encoding-callback',
      'Stream.Writable.end': 'https://nodejs.org/api/stream.html#writableendchunk-encoding-callback',
      '*': 'https://nodejs.org/api/',
    },
  },
};
export default config;
