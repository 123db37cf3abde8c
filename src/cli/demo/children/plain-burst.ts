// emfile-budget, plain node:fs under `ulimit -n 256`: thousands of concurrent fs.promises.open, each read
// and closed.
import { open } from 'node:fs/promises';
import { burstArgs, tally } from './burst.js';

const { path, count } = burstArgs();

async function readOnce(): Promise<number> {
  const handle = await open(path, 'r');
  try {
    return (await handle.read(Buffer.alloc(16), 0, 16, 0)).bytesRead;
  } finally {
    await handle.close();
  }
}

const started = performance.now();
tally(count, await Promise.allSettled(Array.from({ length: count }, () => readOnce())), started, {});
