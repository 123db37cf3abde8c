// log-replaced with fdkeeper: openLog(path) with its defaults notices the replace or delete and reopens.
import { libraryModule } from './report.js';
import { logArgs, writeLines } from './log-writer.js';

const { openLog } = (await import(libraryModule('index.js'))) as typeof import('../../../index.js');

const { path, dir } = logArgs();
const file = openLog(path);
await writeLines(
  {
    write: (line) => {
      file.write(line);
    },
    flushed: () => file.flush(),
    close: () => file.close(),
    facts: () => ({
      reopens: Object.fromEntries(Object.entries(file.stats.reopens).filter(([, n]) => n > 0)),
      carriedLines: file.stats.carried.lines,
    }),
  },
  dir,
);
