// Child of test/exit-flush.test.ts: writes `lines` sequence-numbered lines (log-loss/line.mjs) through
// each loaded copy of fdkeeper — a LogFile (`kind: 'log'`) or a file from open()/fdopen() (`kind: 'io'`)
// — and then ends in the way `end` says, right after the last write, while the tail is still buffered:
//
//   node exit-flush-child.mjs '<json config>'
//
// config:
//   dir       where the files go: `<dir>/out-<i>` for copy i, `<dir>/se.txt` for signal-exit's callback
//   libs      URLs of fdkeeper builds to load (dist/index.js, or a copy of dist/ elsewhere); [] = plain
//   kind      'log' | 'io'
//   mode      io: the open() mode ('w', 'wb', 'a', 'ab', 'r+', 'rb+', 'w+'…), or 'fdopen1' (fdopen(1,'w'):
//             the lines go to stdout, a pipe to the parent)
//   lines     how many lines each copy writes
//   end       'exit' (process.exit(3)) | 'natural' | 'throw' (uncaught, in a timer) | 'wait' (print
//             READY on stderr and wait for the parent's signal)
//   se        'none' | 'before' | 'after': load signal-exit (its onExit) before or after fdkeeper opens
//   naive     drop fdkeeper's process hooks before ending (the no-flush control)
//   faulty    io: open the file in a table over a FaultyBackend whose writes fail with ENOSPC
import fs from 'node:fs';
import { formatLine } from './log-loss/line.mjs';

const config = JSON.parse(process.argv[2] ?? '{}');
const { dir, libs, kind, mode, lines, end, se, naive } = config;

async function loadSignalExit() {
  const { onExit } = await import('signal-exit');
  onExit((code, sig) => {
    fs.appendFileSync(`${dir}/se.txt`, `exit ${code} ${sig}\n`);
  });
}

await null;
if (se === 'before') await loadSignalExit();
const loaded = [];
for (const url of libs) loaded.push({ ...(await import(url)), testing: await import(new URL('testing.js', url).href) });

let i = 0;
for (const lib of loaded) {
  const out = `${dir}/out-${i++}`;
  if (kind === 'log') {
    const log = lib.openLog(out, { flushInterval: 60_000 });
    for (let seq = 0; seq < lines; seq++) log.write(formatLine(seq, 0));
  } else if (mode === 'fdopen1') {
    const f = lib.openSync(1, 'w');
    for (let seq = 0; seq < lines; seq++) f.writeSync(formatLine(seq, 0));
  } else {
    if (mode.startsWith('r')) fs.writeFileSync(out, '');
    const options = config.faulty ? { table: faultyTable(lib, out) } : {};
    const f = await lib.open(out, mode, options);
    const binary = mode.includes('b');
    // Promise writes, awaited one by one: the case of issue 12 (`await f.write('precious')`).
    for (let seq = 0; seq < lines; seq++) await f.write(binary ? Buffer.from(formatLine(seq, 0)) : formatLine(seq, 0));
  }
}
if (se === 'after') await loadSignalExit();

if (naive) {
  // The naive implementation: nobody flushes at exit (fdkeeper's hooks removed, default signal actions).
  for (const ev of ['exit', 'beforeExit', 'uncaughtExceptionMonitor', 'SIGINT', 'SIGTERM', 'SIGHUP'])
    process.removeAllListeners(ev);
}

function faultyTable(lib, out) {
  // Every write(2) on the file fails with ENOSPC: its flush at exit must be reported.
  const backend = new lib.testing.FaultyBackend(lib.fdtable.backend);
  backend.addRule({ syscall: 'write', code: 'ENOSPC', path: out });
  return new lib.FileTable({ backend, openSites: 'always' });
}

switch (end) {
  case 'exit':
    process.exit(3);
    break;
  case 'natural':
    break;
  case 'throw':
    setTimeout(() => {
      throw new Error('boom');
    }, 0);
    break;
  case 'wait':
    process.stderr.write('READY\n');
    setTimeout(() => undefined, 20_000);
    break;
  default:
    throw new Error(`unknown end ${end}`);
}
