// torn-write, plain node:fs: rewrites the file in place (writeFileSync: open with O_TRUNC, then write).
import { writeFileSync } from 'node:fs';
import { writeVersions } from './torn.js';

writeVersions((path, text) => {
  writeFileSync(path, text); // rewrite in place
});
