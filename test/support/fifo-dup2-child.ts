/**
 * Child process for test/table.test.ts: dup2 onto a pipe end that still has a duplicate, with the other
 * end closed, so the table must move the pipe end to a fresh descriptor (a reopen through
 * /proc/self/fd). A blocking FIFO open with the other end gone never returns, so this runs in a child
 * the test can time out. Prints one JSON line.
 *
 *   node --import tsx fifo-dup2-child.ts <file>
 */
import fs from 'node:fs';
import { FileTable } from '../../src/table/file-table.js';

const [file = ''] = process.argv.slice(2);
const table = new FileTable();
const result: Record<string, unknown> = {};

function code(run: () => unknown): unknown {
  try {
    return run();
  } catch (e) {
    return (e as Error & { code?: unknown }).code;
  }
}

// The write end, its reader gone: the moved write end must still be a write end (EPIPE, not a hang).
{
  const [r, w] = table.pipeDescriptors();
  const wDup = table.dupDescriptor(w);
  r.closeSync();
  const f = table.openSync(file, 'r');
  result['writeEndDup2'] = table.dup2(f, w.number) === w.number;
  result['writeEndNames'] = fs.readlinkSync(`/proc/self/fd/${w.number}`) === file;
  result['writeEndWrite'] = code(() => wDup.writeSync(Buffer.from('x')));
  wDup.closeSync();
  table.closeSync(w.number);
  table.closeSync(f);
}

// The read end, its writer gone: the moved read end must see EOF.
{
  const [r, w] = table.pipeDescriptors();
  w.writeSync(Buffer.from('left'));
  const rDup = table.dupDescriptor(r);
  w.closeSync();
  const f = table.openSync(file, 'r');
  result['readEndDup2'] = table.dup2(f, r.number) === r.number;
  const buf = Buffer.alloc(16);
  const n = rDup.readSync(buf);
  result['readEndData'] = buf.subarray(0, n).toString();
  result['readEndEof'] = rDup.readSync(buf);
  rDup.closeSync();
  table.closeSync(r.number);
  table.closeSync(f);
}

// Both ends alive: data written through the moved write end's duplicate reaches the reader.
{
  const [r, w] = table.pipeDescriptors();
  const wDup = table.dupDescriptor(w);
  const f = table.openSync(file, 'r');
  table.dup2(f, w.number);
  wDup.writeSync(Buffer.from('through'));
  wDup.closeSync();
  const buf = Buffer.alloc(16);
  result['aliveData'] = buf.subarray(0, r.readSync(buf)).toString();
  result['aliveEof'] = r.readSync(buf);
  r.closeSync();
  table.closeSync(w.number);
  table.closeSync(f);
}

result['heldAtEnd'] = table.heldCount;
process.stdout.write(JSON.stringify(result) + '\n');
