// emfile-budget with fdkeeper: the same burst on a FileTable with a budget, which queues opens instead of
// failing them.
import { BUDGET_MAX_OPEN } from './shared.js';
import { burstArgs, tally } from './burst.js';
import { libraryModule } from './report.js';

const { FileTable } = (await import(libraryModule('index.js'))) as typeof import('../../../index.js');

const { path, count } = burstArgs();
const table = new FileTable({ maxOpen: BUDGET_MAX_OPEN });
let peak = 0;

async function readOnce(): Promise<number> {
  const fd = await table.open(path, 'r');
  peak = Math.max(peak, table.heldCount);
  try {
    return await table.read(fd, Buffer.alloc(16), 0, 16, 0);
  } finally {
    await table.close(fd);
  }
}

const started = performance.now();
const results = await Promise.allSettled(Array.from({ length: count }, () => readOnce()));
tally(count, results, started, { peak, sizeAfter: table.size, heldAfter: table.heldCount });
