// Child of test/log-exit.test.ts: writes `lines` sequence-numbered lines (line.mjs) through a LogFile
// (the built library, dist/) and then ends in the way `end` says, right after the last write — while the
// tail of the lines is still in the LogFile's buffer:
//
//   node exit-child.mjs '<json { path, lines, end, signal?, plain?, logOptions? }>'
//
//   exit          process.exit(3)
//   throw         an uncaught exception (thrown in a timer callback)
//   throw-top     an exception thrown by the module's top-level code
//   reject        an unhandled promise rejection
//   self-signal   process.kill(process.pid, signal) and then keep running (the signal arrives at once)
//   wait-signal   print 'W' and wait: the parent sends the signal
//   app-handler   like wait-signal, but the application has its own handler, which logs one more line
//                 and calls process.exit(0)
//   natural       nothing: the program runs out of work (LogFile's timers do not hold the process)
//
// With `plain: true` nothing is logged: the same ending without a LogFile, whose exit status and
// stderr are what a normal Node process shows, for comparison.
import { formatLine } from './line.mjs';

const { path, lines, end, signal, plain, logOptions } = JSON.parse(process.argv[2] ?? '{}');

let log;
// Both forms wait once at the top level, so that their stacks (printed for an exception) are the same.
await null;
if (!plain) {
  const lib = await import(new URL('../../../dist/index.js', import.meta.url).href);
  log = lib.openLog(path, { flushInterval: 60_000, ...(logOptions ?? {}) });
  log.on('reopen', (e) => process.stdout.write(`reopen:${e.reason};`));
  for (let seq = 0; seq < lines; seq++) log.write(formatLine(seq, 0));
}

function boom() {
  throw new Error('boom');
}

switch (end) {
  case 'exit':
    process.exit(3);
    break;
  case 'throw':
    setTimeout(boom, 0);
    break;
  case 'throw-top':
    boom();
    break;
  case 'reject':
    void Promise.reject(new Error('rejected'));
    break;
  case 'self-signal':
    process.kill(process.pid, signal);
    setTimeout(() => undefined, 10_000);
    break;
  case 'app-handler':
    process.on(signal, () => {
      log?.write(formatLine(lines, 0));
      process.exit(0);
    });
    process.stdout.write('W');
    setTimeout(() => undefined, 10_000);
    break;
  case 'wait-signal':
    process.stdout.write('W');
    setTimeout(() => undefined, 10_000);
    break;
  case 'natural':
    break;
  default:
    throw new Error(`unknown end ${end}`);
}
