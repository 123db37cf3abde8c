/**
 * The log adapters with the real peers: pino with `logDestination` and with the `fdkeeper/pino`
 * transport target (a worker thread), winston with `LogTransport`, and the Node Writable with
 * backpressure. Each one goes through a rotation and must keep every line.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createRequire } from 'node:module';
import pino from 'pino';
import winston from 'winston';
import { logDestination } from '../src/log/log-destination.js';
import { LogTransport } from '../src/log/winston-transport.js';
import { createLogWritable } from '../src/log/log-writable.js';
import pinoTransport from '../src/log/pino-transport.js';
import { tmpdir } from './support/log-fixture.js';

// The log's timers and pino's worker are unref'd (a logger never keeps a process alive); a server would.
let alive: NodeJS.Timeout | undefined;
before(() => {
  alive = setInterval(() => undefined, 1000);
});
after(() => {
  clearInterval(alive);
});

const MANUAL = {
  checkInterval: 3_600_000,
  watch: false,
  exitFlush: false,
  checkAroundWrites: false,
  renameGrace: 0,
} as const;

/** The sequence numbers `n=<i>` found in the given files, each file's lines in order. */
function seqs(...files: string[]): number[] {
  const out: number[] = [];
  for (const f of files) {
    if (!fs.existsSync(f)) continue;
    for (const m of fs.readFileSync(f, 'utf8').matchAll(/n=(\d+)\b/g)) out.push(Number(m[1]));
  }
  return out;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

describe('pino', () => {
  test('pino(logDestination(path)): JSON lines, a rename and a delete in the middle, nothing lost', async (t) => {
    const p = path.join(tmpdir(t), 'app.log');
    const dest = logDestination(p, MANUAL);
    const logger = pino({ base: null, timestamp: false }, dest);
    for (let i = 0; i < 100; i++) logger.info(`n=${i}`);
    dest.flushSync();
    fs.renameSync(p, p + '.1');
    for (let i = 100; i < 200; i++) logger.info(`n=${i}`);
    assert.equal(dest.log.checkNow(), 'renamed');
    dest.flushSync();
    fs.unlinkSync(p); // lines 100-199 were in it: the deleter's doing... but written after the last check: carried
    for (let i = 200; i < 300; i++) logger.info(`n=${i}`);
    assert.equal(dest.log.checkNow(), 'deleted');
    await new Promise<void>((resolve) => {
      logger.flush(() => {
        resolve();
      });
    });
    dest.end();
    assert.deepEqual(seqs(p + '.1'), range(0, 100));
    assert.deepEqual(seqs(p), range(100, 300));
    const first = JSON.parse(fs.readFileSync(p, 'utf8').split('\n')[0] ?? '') as { level: number; msg: string };
    assert.deepEqual(first, { level: 30, msg: 'n=100' });
    // Issue 13.4: no aliases; the old name `fdkeeperDestination` is gone from the module and the root.
    const modules: Record<string, unknown>[] = [
      await import('../src/log/log-destination.js'),
      await import('../src/index.js'),
    ];
    for (const m of modules) assert.equal(m['fdkeeperDestination'], undefined);
  });

  test('pino.transport({ target: "fdkeeper/pino" }) writes through a worker and survives a delete', async (t) => {
    const p = path.join(tmpdir(t), 'app.log');
    // The target resolves through the package's own exports map (the built dist/).
    const resolved = createRequire(import.meta.url).resolve('fdkeeper/pino');
    assert.ok(fs.existsSync(resolved), `fdkeeper/pino resolves to ${resolved}`);
    const transport = pino.transport({ target: 'fdkeeper/pino', options: { destination: p, checkInterval: 20 } });
    const logger = pino({ base: null, timestamp: false }, transport);
    for (let i = 0; i < 500; i++) logger.info(`n=${i}`);
    // Wait until the worker has written them, then delete the file under it.
    const deadline = Date.now() + 10_000;
    while (seqs(p).length < 500 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(seqs(p).length, 500);
    await new Promise((r) => setTimeout(r, 200)); // the worker's checks (every 20 ms) confirm them
    fs.unlinkSync(p);
    for (let i = 500; i < 1000; i++) logger.info(`n=${i}`);
    await new Promise<void>((resolve) => {
      transport.once('close', resolve);
      transport.end();
    });
    // Lines after the delete are all in the recreated file. Lines the worker wrote after its last check
    // before the delete are carried too (none if a check confirmed them all): a run ending at 499.
    const got = seqs(p);
    const carried = got.length - 500;
    assert.deepEqual(got.slice(carried), range(500, 1000), 'every line after the delete, in order');
    assert.deepEqual(got.slice(0, carried), range(500 - carried, 500), 'carried lines: the end of the deleted file');
  });

  test('the transport target function reassembles lines cut anywhere by the worker', async (t) => {
    const p = path.join(tmpdir(t), 'app.log');
    const stream = pinoTransport({ destination: p, checkInterval: 3_600_000, watch: false });
    const text = range(0, 50)
      .map((i) => `{"n=${i}":1}\n`)
      .join('');
    const writes: string[] = [];
    const origWrite = stream.log.write.bind(stream.log);
    stream.log.write = (chunk: string | Uint8Array): boolean => {
      writes.push(String(chunk));
      return origWrite(chunk);
    };
    for (let i = 0; i < text.length; i += 37) stream.write(text.slice(i, i + 37));
    await new Promise<void>((resolve) => stream.end(resolve));
    assert.equal(fs.readFileSync(p, 'utf8'), text);
    assert.ok(
      writes.every((w) => w.endsWith('\n')),
      'every record handed to the log ends with a newline',
    );
  });
});

describe('winston', () => {
  test('winston.createLogger({ transports: [new LogTransport({ filename })] }): levels, format, a replace, nothing lost', async (t) => {
    const p = path.join(tmpdir(t), 'app.log');
    const transport = new LogTransport({ filename: p, level: 'info', ...MANUAL });
    // LogTransport fulfils winston's transport contract without extending winston-transport's class
    // (winston is not a dependency of fdkeeper): winston checks the shape, as does this test.
    const logger = winston.createLogger({
      level: 'debug',
      format: winston.format.printf((i) => `${i.level} ${String(i.message)}`),
      // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
      transports: [transport],
    });
    for (let i = 0; i < 100; i++) logger.info(`n=${i}`);
    logger.debug('n=99999 filtered by the transport level');
    await transport.file.flush();
    transport.file.checkNow(); // confirms lines 0-99
    // an editor's save: copy, write new, rename over
    fs.writeFileSync(p + '.tmp', fs.readFileSync(p));
    fs.renameSync(p + '.tmp', p);
    for (let i = 100; i < 200; i++) logger.info(`n=${i}`);
    await transport.file.flush();
    assert.equal(transport.file.checkNow(), 'replaced');
    for (let i = 200; i < 300; i++) logger.warn(`n=${i}`);
    await new Promise<void>((resolve) => {
      transport.once('finish', resolve);
      logger.end();
    });
    assert.deepEqual(seqs(p), range(0, 300));
    const lines = fs.readFileSync(p, 'utf8').split('\n');
    assert.equal(lines[0], 'info n=0');
    assert.equal(lines[299], 'warn n=299');
    assert.equal(transport.file.isClosed, true);
  });

  test('without a format the record is written as JSON; the logger level applies when the transport has none', async (t) => {
    const p = path.join(tmpdir(t), 'app.log');
    const transport = new LogTransport({ filename: p, ...MANUAL });
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
    const logger = winston.createLogger({ level: 'warn', transports: [transport] });
    logger.info('n=1 below the logger level');
    logger.error('n=2', { extra: true });
    await new Promise<void>((resolve) => {
      transport.once('finish', resolve);
      logger.end();
    });
    const rec = JSON.parse(fs.readFileSync(p, 'utf8').trim()) as Record<string, unknown>;
    assert.deepEqual(rec, { level: 'error', message: 'n=2', extra: true });
  });
});

describe('Writable', () => {
  test('createLogWritable: a piped source with backpressure (sync: false, a small buffer) loses and reorders nothing', async (t) => {
    const p = path.join(tmpdir(t), 'app.log');
    const stream = createLogWritable(p, { ...MANUAL, sync: false, bufferSize: 256, highWaterMark: 64 });
    let waits = 0;
    const orig = stream.log.write.bind(stream.log);
    stream.log.write = (c: string | Uint8Array): boolean => {
      const ok = orig(c);
      if (!ok) waits++;
      return ok;
    };
    await pipeline(
      Readable.from(
        (function* () {
          for (let i = 0; i < 5000; i++) yield `n=${i}\n`;
        })(),
      ),
      stream,
    );
    assert.ok(waits > 0, 'the log pushed back');
    assert.deepEqual(seqs(p), range(0, 5000));
    assert.equal(stream.log.isClosed, true);
  });

  test('wholeLines: chunks cut mid-line are joined before they reach the log', async (t) => {
    const p = path.join(tmpdir(t), 'app.log');
    const stream = createLogWritable(p, { ...MANUAL, wholeLines: true });
    const text =
      range(0, 100)
        .map((i) => `n=${i}\n`)
        .join('') + 'no newline at the end';
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += 7) chunks.push(text.slice(i, i + 7));
    await pipeline(Readable.from(chunks), stream);
    assert.equal(fs.readFileSync(p, 'utf8'), text);
  });
});
