// typedoc's configuration for `npm run docs` (the API reference in docs/api/) and `npm run docs:check`.
// The entry points are the package's own, read from "exports" (scripts/entry-points.mjs).
import { readFileSync } from 'node:fs';
import { entryPoints } from './scripts/entry-points.mjs';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

/** @type {Partial<import('typedoc').TypeDocOptions>} */
const config = {
  entryPoints: entryPoints(),
  tsconfig: './tsconfig.build.json',
  out: 'docs/api',
  name: pkg.name,
  readme: 'none',
  excludeInternal: true,
  excludePrivate: true,
  // No source links until the package has a public repository: typedoc would read them from the git
  // remote, and a checkout without one ("origin" missing or not a GitHub/GitLab URL) may warn, which
  // fails docs:check. With a repository: drop this and set package.json "repository".
  disableSources: true,
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
