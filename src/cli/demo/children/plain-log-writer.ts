// log-replaced, plain node:fs: fs.createWriteStream(path, { flags: 'a' }) keeps its descriptor, so after
// a replace or delete it writes into the old inode.
import { createWriteStream } from 'node:fs';
import { logArgs, writeLines } from './log-writer.js';

const { path, dir } = logArgs();
const stream = createWriteStream(path, { flags: 'a' });
await writeLines(
  {
    write: (line) => {
      stream.write(line);
    },
    flushed: () =>
      new Promise((resolve) => {
        stream.write('', () => {
          resolve();
        });
      }),
    close: () =>
      new Promise((resolve) => {
        stream.end(resolve);
      }),
    facts: () => ({}),
  },
  dir,
);
