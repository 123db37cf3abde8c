import { fileURLToPath } from 'node:url';

/**
 * The package's root folder. This module is `<root>/src/cli/package-root.ts` in the sources; in the build
 * it is bundled into `<root>/dist/cli/main.js` (scripts/build.mjs), at the same depth, so one relative URL
 * serves both. Modules deeper in src/cli (the demo's) use this instead of their own `import.meta.url`:
 * bundled, they are no longer where their source is.
 */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
