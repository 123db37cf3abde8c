// finalizer-leak with fdkeeper: the same loop on a table with a budget; the open that exceeds it fails
// with EMFILE naming the line that opened the leaked files, and the process lives on.
//
// It imports the package index, which the build bundles into a few files: Node's ESM loader reads a
// module graph's files concurrently, and under `ulimit -n 64` a wide graph can fail with EMFILE before
// the demo begins (src/cli/demo/finalizer-leak.ts, LOAD_MARGIN).
import { LEAK_BUDGET } from './shared.js';
import { childArgs, errorFacts, libraryModule, report } from './report.js';

const { FileTable, openSync } = (await import(libraryModule('index.js'))) as typeof import('../../../index.js');

const [dataPath, configPath] = childArgs(2) as [string, string];
const table = new FileTable({ maxOpen: LEAK_BUDGET, openSites: 'auto' });
let leaked = 0;

function readConfig(): void {
  const f = openSync(configPath, 'rb', { table }); // @victim
  try {
    f.readSync();
  } finally {
    f.closeSync();
  }
}

function leakyOpen(): void {
  openSync(dataPath, 'rb', { table }); // @leak
  leaked++;
  // ...uses the file, never closes it: the file object is left for the garbage collector
}

let error: { name: string; code: string; message: string } | null = null;
let failMs: number | null = null;
let t0 = 0;
try {
  for (;;) {
    t0 = performance.now();
    readConfig();
    t0 = performance.now();
    leakyOpen();
  }
} catch (e) {
  failMs = performance.now() - t0;
  error = errorFacts(e);
}
const leakReport = table.leakReport();
const openAtFailure = table.size;
for (const d of table.descriptors()) d.closeSync(); // the demo cleans up what the loop leaked
report({ leaked, error, failMs, leakReport, openAtFailure, sizeAfter: table.size, heldAfter: table.heldCount });
