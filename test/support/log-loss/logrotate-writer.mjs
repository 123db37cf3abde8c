// Writer child of the real-logrotate loss test (test/support/log-loss/logrotate.ts):
//
//   node logrotate-writer.mjs '<json { writer, path, rate, durationMs, report }>'
//
// Opens the log through one writer, prints 'R', waits for 'go' on stdin, then logs sequence-numbered
// records at `rate` per second for `durationMs` (every millisecond a burst brings the count up to
// rate × elapsed, so a stalled loop catches up), prints 'E', closes the logger the way its documentation
// says once the parent sends 'close', writes its report and exits 0. A SIGHUP it does not handle kills it (the harness reports that).
//
// Writers: the fdkeeper ones run the built library (dist/) with the documented SIGHUP recipe
// (`reopenOnSignal: 'SIGHUP'`; for the pino transport also `relayReopenSignal()` in the main thread);
// the plain ones are the peers' own: pino.destination() with pino's recipe (dest.reopen() on SIGHUP) and
// winston's File transport (no reopen at all).
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { waitForGo, waitForLine } from './line.mjs';

const config = JSON.parse(process.argv[2] ?? '{}');
const { writer, path, rate, durationMs, report } = config;
const require = createRequire(import.meta.url);
const dist = (rel) => new URL(`../../../dist/${rel}`, import.meta.url).href;
const extra = config.logOptions ?? {};

/** The record's message: fixed width, so a torn line never parses. */
export function message(seq) {
  return `S${String(seq).padStart(9, '0')}:${'.'.repeat(60)}:E`;
}

async function open() {
  const errors = [];
  const onError = (e) => errors.push(`${e.code ?? ''} ${e.message}`);
  if (writer === 'openLog') {
    const { openLog } = await import(dist('index.js'));
    const log = openLog(path, { reopenOnSignal: 'SIGHUP', ...extra });
    log.on('error', onError);
    return { log: (s) => log.write(`${s}\n`), close: () => log.close(), errors, stats: () => log.stats };
  }
  if (writer === 'pino-destination') {
    const { logDestination } = await import(dist('log.js'));
    const pino = require('pino');
    const dest = logDestination(path, { reopenOnSignal: 'SIGHUP', ...extra });
    dest.on('error', onError);
    const logger = pino(dest);
    return {
      log: (s) => logger.info(s),
      close: () => new Promise((resolve) => dest.end(resolve)),
      errors,
      stats: () => dest.log.stats,
    };
  }
  if (writer === 'pino-transport') {
    const { relayReopenSignal } = await import(dist('log/pino-transport.js'));
    const pino = require('pino');
    const transport = pino.transport({
      target: new URL(dist('log/pino-transport.js')).pathname,
      options: { destination: path, reopenOnSignal: 'SIGHUP', ...extra },
    });
    relayReopenSignal('SIGHUP');
    transport.on('error', onError);
    const logger = pino(transport);
    return {
      log: (s) => logger.info(s),
      // pino's worker is unref'd: a process awaiting its 'close' with nothing else to do exits 13
      // (unsettled top-level await) before the worker is done. Hold the loop open until then.
      close: () =>
        new Promise((resolve) => {
          const hold = setInterval(() => undefined, 1000);
          transport.once('close', () => {
            clearInterval(hold);
            resolve();
          });
          transport.end();
        }),
      errors,
      stats: () => undefined,
    };
  }
  if (writer === 'winston') {
    const { LogTransport } = await import(dist('log.js'));
    const winston = require('winston');
    const transport = new LogTransport({ filename: path, reopenOnSignal: 'SIGHUP', ...extra });
    transport.file.on('error', onError);
    const logger = winston.createLogger({ format: winston.format.json(), transports: [transport] });
    return {
      log: (s) => logger.info(s),
      close: () => endWinston(logger, transport),
      errors,
      stats: () => transport.file.stats,
    };
  }
  if (writer === 'pino-recipe') {
    const pino = require('pino');
    const dest = pino.destination({ dest: path });
    process.on('SIGHUP', () => dest.reopen());
    dest.on('error', onError);
    const logger = pino(dest);
    return {
      log: (s) => logger.info(s),
      close: () =>
        new Promise((resolve) => {
          dest.once('close', resolve);
          dest.end();
        }),
      errors,
      stats: () => undefined,
    };
  }
  if (writer === 'winston-file') {
    const winston = require('winston');
    const transport = new winston.transports.File({ filename: path });
    transport.on('error', onError);
    const logger = winston.createLogger({ format: winston.format.json(), transports: [transport] });
    return { log: (s) => logger.info(s), close: () => endWinston(logger, transport), errors, stats: () => undefined };
  }
  throw new Error(`unknown writer ${writer}`);
}

/** winston's ending: logger.end(), then the transport's 'finish' (its file is flushed and closed). */
function endWinston(logger, transport) {
  return new Promise((resolve) => {
    transport.once('finish', resolve);
    logger.end();
  });
}

const w = await open();
process.stdout.write('R');
await waitForGo();

const start = performance.now();
let seq = 0;
let last = start;
let maxStallMs = 0;
await new Promise((resolve) => {
  const timer = setInterval(() => {
    const t = performance.now();
    maxStallMs = Math.max(maxStallMs, t - last);
    last = t;
    const elapsed = t - start;
    const due = elapsed >= durationMs ? Math.round((durationMs * rate) / 1000) : Math.floor((elapsed * rate) / 1000);
    while (seq < due) w.log(message(seq++));
    if (elapsed >= durationMs) {
      clearInterval(timer);
      resolve();
    }
  }, 1);
});
const emitMs = performance.now() - start;
process.stdout.write('E');
// Close when the parent says so: after its last logrotate run has finished (a HUP from a postrotate
// still in flight would otherwise reach a process whose logs, and their handler, are gone).
await waitForLine('close');
await w.close();
fs.writeFileSync(report, JSON.stringify({ written: seq, emitMs, maxStallMs, errors: w.errors, stats: w.stats() }));
