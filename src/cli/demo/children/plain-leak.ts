// finalizer-leak, plain node:fs under a low `ulimit -n`: FileHandles are dropped for the garbage collector
// until the process dies with EMFILE, in whatever call happens to open next.
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { childArgs, errorFacts, report } from './report.js';

const [dataPath, configPath] = childArgs(2) as [string, string];
let leaked = 0;
let gcClosed = 0;
process.on('warning', (w) => {
  if (/^Closing file descriptor \d+ on garbage collection/.test(w.message)) gcClosed++;
});

function readConfig(): string {
  return readFileSync(configPath, 'utf8'); // @victim
}

async function leakyOpen(): Promise<void> {
  await open(dataPath, 'r'); // @leak
  leaked++;
  // ...uses the handle, never closes it: the FileHandle is left for the garbage collector to close
}

try {
  for (;;) {
    readConfig();
    await leakyOpen();
  }
} catch (e) {
  const { code, message } = errorFacts(e);
  report({
    leaked,
    gcClosed,
    code: code === 'other' ? null : code,
    message,
    stack: e instanceof Error ? (e.stack ?? '') : '',
  });
  throw e;
}
