// `node --import fdkeeper/register app.js`: unmodified apps (CommonJS and ESM) run under the built hook
// in real child processes; what they leak is reported by open site, and nothing else about them changes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, assertBuilt, jsonReport, lineOf, runApp, startApp, tempDir } from './support/register-apps.js';

let dir = '';
before(() => {
  assertBuilt();
  dir = tempDir();
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Escapes a string for a RegExp. */
function re(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Two call sites, 50 leaks each; one file opened and closed properly; its own stdout and exit code.
const LEAK_CJS = `const fs = require('fs');
const path = require('path');
const dir = process.argv[2];
function openConfig(i) {
  return fs.openSync(path.join(dir, 'config-' + i + '.json'), 'w'); // @config
}
function openCache(i) {
  return fs.openSync(path.join(dir, 'cache-' + i + '.bin'), 'w+'); // @cache
}
for (let i = 0; i < 50; i++) {
  openConfig(i);
  openCache(i);
}
fs.closeSync(fs.openSync(path.join(dir, 'closed.txt'), 'w'));
console.log('app output: 100 files opened');
process.exitCode = 3;
`;

test('an app leaking 100 descriptors from two call sites gets a report naming both, 50 and 50; exit code and stdout unchanged', async () => {
  const work = tempDir();
  try {
    const file = path.join(dir, 'leak.cjs');
    const plain = await runApp(dir, 'leak.cjs', LEAK_CJS, { hook: false, args: [work] });
    const hooked = await runApp(dir, 'leak.cjs', LEAK_CJS, { args: [work] });
    assert.equal(plain.code, 3);
    assert.equal(hooked.code, 3, hooked.stderr);
    assert.equal(hooked.stdout, plain.stdout, "stdout is the app's own");
    assert.equal(plain.stderr, '');

    const err = hooked.stderr;
    assert.match(
      err,
      /^fdkeeper: 100 descriptors opened through node:fs still open at exit, from 2 open sites \(pid \d+: 101 opened, 1 closed\)$/m,
    );
    const config = lineOf(LEAK_CJS, '@config');
    const cache = lineOf(LEAK_CJS, '@cache');
    assert.match(err, new RegExp(`^ {2}50 × openConfig \\(${re(file)}:${config}:\\d+\\) {3}oldest \\d+`, 'm'));
    assert.match(err, new RegExp(`^ {2}50 × openCache \\(${re(file)}:${cache}:\\d+\\) {3}oldest \\d+`, 'm'));
    assert.match(
      err,
      new RegExp(`${re(path.join(work, 'config-0.json'))} \\(fd \\d+, w, openSync\\)`),
      'sample paths with mode and call',
    );
    assert.match(err, new RegExp(`${re(path.join(work, 'cache-0.bin'))} \\(fd \\d+, w\\+, openSync\\)`));
    assert.match(err, /… 47 more/);
    assert.doesNotMatch(err, /closed\.txt/, 'the closed file is not reported');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test('FDKEEPER_REPORT=json: one JSON line with both sites, their lines, counts, numbers and calls', async () => {
  const work = tempDir();
  try {
    const file = path.join(dir, 'leak-json.cjs');
    const run = await runApp(dir, 'leak-json.cjs', LEAK_CJS, { args: [work], env: { FDKEEPER_REPORT: 'json' } });
    assert.equal(run.code, 3, run.stderr);
    const report = jsonReport(run.stderr);
    assert.equal(run.stderr.trim().split('\n').length, 1, 'nothing but the JSON line on stderr');
    assert.equal(report['format'], 'fdkeeper-register-report');
    assert.equal(report['version'], 1);
    assert.equal(report['reason'], 'exit');
    assert.equal(typeof report['pid'], 'number');
    assert.equal(report['open'], 100);
    assert.equal(report['opened'], 101);
    assert.equal(report['closed'], 1);
    const sites = report['sites'] as {
      function: string;
      file: string;
      line: number;
      count: number;
      fds: number[];
      apis: Record<string, number>;
      samplePaths: string[];
      stack: string;
      oldestAgeMs: number;
    }[];
    assert.equal(sites.length, 2);
    const byFn = new Map(sites.map((s) => [s.function, s]));
    for (const [fn, marker, sample] of [
      ['openConfig', '@config', 'config-0.json'],
      ['openCache', '@cache', 'cache-0.bin'],
    ] as const) {
      const s = byFn.get(fn);
      assert.ok(s !== undefined, `site ${fn}`);
      assert.equal(s.file, file);
      assert.equal(s.line, lineOf(LEAK_CJS, marker));
      assert.equal(s.count, 50);
      assert.equal(new Set(s.fds).size, 50, 'fifty distinct descriptor numbers');
      assert.deepEqual(s.apis, { openSync: 50 });
      assert.equal(s.samplePaths[0], path.join(work, sample));
      assert.equal(s.samplePaths.length, 5);
      assert.match(s.stack, new RegExp(`at ${fn} \\(`));
      assert.ok(s.oldestAgeMs >= 0);
    }
    const all = sites.flatMap((s) => s.fds);
    assert.equal(new Set(all).size, 100);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

// Every way node:fs opens and closes a descriptor, each closed properly.
const CLEAN_MJS = `import fs from 'node:fs';
import { openSync, closeSync, createReadStream, createWriteStream } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
const dir = process.argv[2];
const p = (n) => dir + '/' + n;
fs.writeFileSync(p('in.txt'), 'x'.repeat(100000));

closeSync(openSync(p('a.txt'), 'w'));
fs.closeSync(fs.openSync(p('b.txt'), 'w'));
await new Promise((resolve, reject) => fs.open(p('c.txt'), 'w', (e, fd) => e ? reject(e) : fs.close(fd, (e2) => e2 ? reject(e2) : resolve())));
await new Promise((resolve, reject) => fs.open(p('in.txt'), (e, fd) => e ? reject(e) : fs.close(fd, (e2) => e2 ? reject(e2) : resolve())));
const h = await open(p('d.txt'), 'w');
await h.write('fh');
await h.close();
const h2 = await fs.promises.open(p('in.txt'));
for await (const _ of h2.createReadStream()) { /* consumed: the stream closes its FileHandle */ }
await pipeline(createReadStream(p('in.txt')), createWriteStream(p('copy.txt')));
const early = createReadStream(p('in.txt'));
early.destroy();
await once(early, 'close');
const opened = fs.createReadStream(p('in.txt'));
await once(opened, 'open');
opened.destroy();
await once(opened, 'close');
const w = fs.createWriteStream(p('e.txt'), { flags: 'a' });
w.end('line\\n');
await once(w, 'close');
fs.readFileSync(p('in.txt'));
fs.truncateSync(p('e.txt'), 1);
await new Promise((resolve, reject) => fs.writeFile(p('f.txt'), 'cb', (e) => e ? reject(e) : resolve()));
await writeFile(p('g.txt'), 'promise');
await readFile(p('g.txt'));
try { openSync(p('missing/nope.txt'), 'r'); } catch { /* ENOENT: nothing to track */ }
await open(p('missing/nope.txt')).catch(() => {});
console.log('clean app done');
`;

test('an app that closes everything (sync, callback, FileHandles, streams, helpers) reports none, and each open was seen', async () => {
  const work = tempDir();
  try {
    const text = await runApp(dir, 'clean.mjs', CLEAN_MJS, { args: [work] });
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout, 'clean app done\n');
    assert.match(
      text.stderr,
      /^fdkeeper: no descriptor opened through node:fs is still open at exit \(pid \d+: (\d+) opened, \1 closed\)\n$/,
    );

    const json = await runApp(dir, 'clean-json.mjs', CLEAN_MJS, { args: [work], env: { FDKEEPER_REPORT: 'json' } });
    assert.equal(json.code, 0, json.stderr);
    const report = jsonReport(json.stderr);
    assert.equal(report['open'], 0);
    assert.deepEqual(report['sites'], []);
    // Not vacuous: the tracked opens were seen and closed. At least: 2 openSync, 2 fs.open, 2
    // promises.open, 2 pipeline streams, 2 destroyed read streams, 1 write stream.
    assert.ok((report['opened'] as number) >= 11, `opened ${String(report['opened'])}`);
    assert.equal(report['closed'], report['opened']);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

// ESM named imports bind to the module's exports, not its properties: only re-synced exports see the hook.
const ESM_LEAKS = `import { openSync, open as openCb, createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import * as fsNs from 'node:fs';
import { once } from 'node:events';
const dir = process.argv[2];
function namedSync() { return openSync(dir + '/named-sync.txt', 'w'); } // @named-sync
function namespaceSync() { return fsNs.openSync(dir + '/ns-sync.txt', 'a'); } // @ns-sync
async function namedPromise() { return open(dir + '/named-promise.txt', 'w'); } // @named-promise
function callbackOpen() { return new Promise((r) => openCb(dir + '/cb.txt', 'w', (e, fd) => r(fd))); } // @cb
function logStream() { return createWriteStream(dir + '/stream.log'); } // @write-stream
function readKeep() { return createReadStream(dir + '/cb.txt', { autoClose: false }); } // @read-stream
namedSync();
namespaceSync();
const keep = await namedPromise();
await callbackOpen();
const log = logStream();
log.write('never ended\\n');
await once(log, 'open');
const r = readKeep();
r.resume();
await once(r, 'end');
console.log('esm app done', typeof keep.fd);
`;

test('ESM named imports, namespace imports, promises, callbacks and streams: each leak is named with its line and call', async () => {
  const work = tempDir();
  try {
    const file = path.join(dir, 'esm-leaks.mjs');
    const run = await runApp(dir, 'esm-leaks.mjs', ESM_LEAKS, { args: [work], env: { FDKEEPER_REPORT: 'json' } });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'esm app done number\n');
    const report = jsonReport(run.stderr);
    const sites = report['sites'] as {
      function: string;
      file: string;
      line: number;
      count: number;
      apis: Record<string, number>;
      samplePaths: string[];
    }[];
    const got = sites.map((s) => `${s.function}:${s.line}:${Object.keys(s.apis).join()}:${s.count}`).sort();
    const want = [
      `namedSync:${lineOf(ESM_LEAKS, '@named-sync')}:openSync:1`,
      `namespaceSync:${lineOf(ESM_LEAKS, '@ns-sync')}:openSync:1`,
      `namedPromise:${lineOf(ESM_LEAKS, '@named-promise')}:promises.open:1`,
      `<anonymous>:${lineOf(ESM_LEAKS, '@cb')}:open:1`,
      `logStream:${lineOf(ESM_LEAKS, '@write-stream')}:createWriteStream:1`,
      `readKeep:${lineOf(ESM_LEAKS, '@read-stream')}:createReadStream:1`,
    ].sort();
    assert.deepEqual(got, want);
    for (const s of sites) assert.equal(s.file, file);
    assert.equal(report['open'], 6);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

const SIGNAL_APP = `const fs = require('fs');
const dir = process.argv[2];
function holdOpen(name) { return fs.openSync(dir + '/' + name, 'w'); } // @hold
const held = [holdOpen('one'), holdOpen('two'), holdOpen('three')];
let got = 0;
process.on('SIGUSR2', () => {
  got++;
  console.log('app got SIGUSR2');
  if (got === 2) { for (const fd of held) fs.closeSync(fd); setTimeout(() => {}, 10); }
});
console.log('READY');
const timer = setInterval(() => { if (got === 2) clearInterval(timer); }, 20);
`;

test("SIGUSR2 prints the report on demand; the app's own SIGUSR2 listener still runs; the app exits as it would", async () => {
  const work = tempDir();
  try {
    const file = path.join(dir, 'signal.cjs');
    fs.writeFileSync(file, SIGNAL_APP);
    const app = startApp(file, { args: [work] });
    await app.waitFor(/READY/);
    app.child.kill('SIGUSR2');
    await app.waitFor(/still open on SIGUSR2/, 'stderr');
    await app.waitFor(/app got SIGUSR2/);
    assert.match(
      app.stderr(),
      new RegExp(`^fdkeeper: 3 descriptors opened through node:fs still open on SIGUSR2, from 1 open site`, 'm'),
    );
    assert.match(
      app.stderr(),
      new RegExp(`^ {2}3 × holdOpen \\(${re(file)}:${lineOf(SIGNAL_APP, '@hold')}:\\d+\\)`, 'm'),
    );
    app.child.kill('SIGUSR2');
    const run = await app.done;
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.signal, null);
    assert.equal(run.stdout, 'READY\napp got SIGUSR2\napp got SIGUSR2\n');
    assert.match(
      run.stderr,
      /^fdkeeper: no descriptor opened through node:fs is still open at exit \(pid \d+: 3 opened, 3 closed\)$/m,
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test('an app whose exit listener closes its files is not reported: the report runs after every exit listener', async () => {
  const source = `const fs = require('fs');
const fd = fs.openSync(process.argv[2] + '/late.txt', 'w');
process.on('exit', () => fs.closeSync(fd));
`;
  const work = tempDir();
  try {
    const run = await runApp(dir, 'exit-listener.cjs', source, { args: [work] });
    assert.equal(run.code, 0);
    assert.match(
      run.stderr,
      /no descriptor opened through node:fs is still open at exit \(pid \d+: 1 opened, 1 closed\)/,
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test('an uncaught exception: same exit code and error as without the hook, and the report too', async () => {
  const source = `const fs = require('fs');
function leakBeforeCrash() { return fs.openSync(__filename, 'r'); } // @crash
leakBeforeCrash();
throw new Error('app crashed');
`;
  const plain = await runApp(dir, 'crash.cjs', source, { hook: false });
  const hooked = await runApp(dir, 'crash.cjs', source);
  assert.equal(plain.code, 1);
  assert.equal(hooked.code, 1);
  // Node runs 'exit' listeners (and so the report) before it prints the fatal error; any --import
  // also routes a CommonJS main through the ESM loader, which changes Node's internal frames only.
  const errorHead = (stderr: string): string =>
    stderr.slice(stderr.indexOf(`${path.join(dir, 'crash.cjs')}:4`)).split('\n    at ')[0]!;
  assert.match(errorHead(plain.stderr), /Error: app crashed$/);
  assert.equal(
    errorHead(hooked.stderr).replace(/\s+/g, ' '),
    errorHead(plain.stderr).replace(/\s+/g, ' '),
    "the app's error, unchanged",
  );
  assert.match(hooked.stderr, new RegExp(`1 × leakBeforeCrash \\(.*crash\\.cjs:${lineOf(source, '@crash')}:`));
});

test('FDKEEPER_REPORT=off prints nothing; an unknown value warns and falls back to the exit report', async () => {
  const work = tempDir();
  try {
    const off = await runApp(dir, 'leak-off.cjs', LEAK_CJS, { args: [work], env: { FDKEEPER_REPORT: 'off' } });
    assert.equal(off.code, 3);
    assert.equal(off.stderr, '');
    assert.equal(off.stdout, 'app output: 100 files opened\n');
    const bad = await runApp(dir, 'leak-bad.cjs', LEAK_CJS, { args: [work], env: { FDKEEPER_REPORT: 'yaml' } });
    assert.equal(bad.code, 3);
    assert.match(
      bad.stderr,
      /^fdkeeper: FDKEEPER_REPORT="yaml" is not one of off, exit, json, html:<file>; using exit$/m,
    );
    assert.match(bad.stderr, /100 descriptors opened through node:fs still open at exit/);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test('FDKEEPER_REPORT=html:<file> writes a self-contained page with both charts and every site', async () => {
  const work = tempDir();
  try {
    const page = path.join(work, 'report.html');
    const file = path.join(dir, 'leak-html.cjs');
    fs.writeFileSync(page, 'an older report', { mode: 0o644 });
    const run = await runApp(dir, 'leak-html.cjs', LEAK_CJS, {
      args: [work],
      env: { FDKEEPER_REPORT: `html:${page}` },
    });
    assert.equal(run.code, 3, run.stderr);
    assert.equal(run.stdout, 'app output: 100 files opened\n');
    assert.match(
      run.stderr,
      new RegExp(
        `^fdkeeper: leak report \\(100 descriptors open at exit, 2 open sites, oldest \\d+ ms\\) written to ${re(page)}$`,
        'm',
      ),
    );
    const html = fs.readFileSync(page, 'utf8');
    // It names the app's argv, cwd and files: 0600 like the JSON answer, also where a 0644 file was
    // there before (replaced, not rewritten in place), and whatever the umask.
    assert.equal(fs.statSync(page).mode & 0o777, 0o600, "the page is private to the app's user");
    assert.match(html, /^<!doctype html>/);
    assert.doesNotMatch(html, /https?:\/\//, 'no external URL of any kind');
    assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|url\(/i, 'no scripts, links, images or CSS fetches');
    assert.doesNotMatch(html, /\ssrc=|\shref=/i, 'nothing to load');
    assert.equal((html.match(/<svg /g) ?? []).length, 2, 'the time chart and the per-site chart');
    assert.match(
      html,
      /aria-label="open descriptors over time, peak 10[01]"/,
      'the time chart reached the 100 leaked (+1 closed)',
    );
    assert.match(
      html,
      new RegExp(`openConfig \\(${re(path.basename(file))}:${lineOf(LEAK_CJS, '@config')}\\)`),
      'bar label',
    );
    assert.match(
      html,
      new RegExp(`openCache \\(${re(file)}:${lineOf(LEAK_CJS, '@cache')}:\\d+\\)`),
      'full site in the table',
    );
    assert.match(html, /<td class="n">50<\/td>/);
    assert.ok(html.includes(path.join(work, 'config-0.json')), 'sample paths');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test('FDKEEPER_REPORT=html:<file> that cannot be written: the error and the whole report as text on stderr', async () => {
  const work = tempDir();
  try {
    // A directory where the page should go: the write fails (EISDIR) whoever runs the test.
    const page = path.join(work, 'report.html');
    fs.mkdirSync(page);
    const run = await runApp(dir, 'leak-html-fail.cjs', LEAK_CJS, {
      args: [work],
      env: { FDKEEPER_REPORT: `html:${page}` },
    });
    assert.equal(run.code, 3, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        `^fdkeeper: could not write the HTML report to ${re(page)}: .*EISDIR.*; the report follows as text$`,
        'm',
      ),
    );
    // The report itself is not lost: the text form, with both sites, follows the error.
    assert.match(run.stderr, /100 descriptors opened through node:fs still open at exit/);
    assert.match(
      run.stderr,
      new RegExp(`openConfig \\(.*${re(path.basename('leak-html-fail.cjs'))}:${lineOf(LEAK_CJS, '@config')}`),
    );
    assert.match(
      run.stderr,
      new RegExp(`openCache \\(.*${re(path.basename('leak-html-fail.cjs'))}:${lineOf(LEAK_CJS, '@cache')}`),
    );
    assert.deepEqual(fs.readdirSync(page), [], 'nothing left inside the directory');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test('a FileHandle dropped for the garbage collector is reported as reclaimed, not as still open', async () => {
  const source = `import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
async function dropHandle() { await open(process.argv[1], 'r'); } // @drop
await dropHandle();
for (let i = 0; i < 20; i++) { globalThis.gc(); await sleep(20); }
`;
  const run = await runApp(dir, 'gc.mjs', source, {
    nodeArgs: ['--expose-gc', '--no-warnings'],
    env: { FDKEEPER_REPORT: 'json' },
  });
  assert.equal(run.code, 0, run.stderr);
  const report = jsonReport(run.stderr);
  assert.equal(report['open'], 0, 'Node closed it, so it is not open');
  assert.equal(report['gcClosed'], 1);
  const reclaimed = report['reclaimed'] as { site: string; count: number }[];
  assert.equal(reclaimed.length, 1);
  assert.match(reclaimed[0]!.site, new RegExp(`^dropHandle \\(.*gc\\.mjs:${lineOf(source, '@drop')}:\\d+\\)$`));
});

test('the package export: `node --import fdkeeper/register` resolves through node_modules', async () => {
  const app = tempDir('fdkeeper-register-pkg-');
  try {
    fs.mkdirSync(path.join(app, 'node_modules'));
    fs.symlinkSync(ROOT, path.join(app, 'node_modules', 'fdkeeper'), 'dir');
    const source = `import { openSync } from 'node:fs';\nfunction leakOne() { return openSync(import.meta.filename, 'r'); }\nleakOne();\n`;
    const run = await runApp(app, 'app.mjs', source, { importSpecifier: 'fdkeeper/register' });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /1 descriptor opened through node:fs still open at exit, from 1 open site/);
    assert.match(run.stderr, /1 × leakOne \(/);
  } finally {
    fs.rmSync(app, { recursive: true, force: true });
  }
});

test('a plain SIGUSR2 to an app with no listener of its own: the report, then death by SIGUSR2 as without the hook (nodemon restarts this way)', async () => {
  const file = path.join(dir, 'no-listener.cjs');
  fs.writeFileSync(
    file,
    `const fs = require('fs');\nfunction keep() { return fs.openSync(__filename, 'r'); }\nkeep();\nconsole.log('READY');\nsetTimeout(() => console.log('still alive'), 5000);\n`,
  );
  for (const hook of [false, true]) {
    const app = startApp(file, { hook });
    await app.waitFor(/READY/);
    app.child.kill('SIGUSR2');
    const run = await app.done;
    assert.equal(run.signal, 'SIGUSR2', `hook ${String(hook)}: terminated by the signal`);
    assert.equal(run.code, null);
    assert.equal(run.stdout, 'READY\n');
    if (hook)
      assert.match(
        run.stderr,
        /^fdkeeper: 1 descriptor opened through node:fs still open on SIGUSR2, from 1 open site[\s\S]*1 × keep \(/,
      );
    else assert.equal(run.stderr, '');
  }
});

test('trackNodeFs() in-process: records and forgets, shares one tracker, and `using` restores node:fs', async () => {
  const { trackNodeFs, activeNodeFsTracker } = await import('../src/index.js');
  const { syncBuiltinESMExports } = await import('node:module');
  const original = { openSync: fs.openSync, closeSync: fs.closeSync, open: fs.open, promisesOpen: fs.promises.open };
  const work = tempDir();
  try {
    {
      using tracker = trackNodeFs();
      assert.notEqual(fs.openSync, original.openSync, 'patched');
      assert.equal(activeNodeFsTracker(), tracker);
      const second = trackNodeFs();
      assert.equal(second, tracker, 'one tracker per process');
      second.uninstall();
      assert.equal(tracker.active, true, 'still held by the first caller');

      const leaked = fs.openSync(path.join(work, 'leak.txt'), 'w');
      fs.closeSync(fs.openSync(path.join(work, 'closed.txt'), 'w'));
      const handle = await fs.promises.open(path.join(work, 'handle.txt'), 'w');
      assert.equal(tracker.openCount, 2);
      const handles = tracker.openHandles();
      assert.deepEqual(
        handles.map((h) => [h.fd, h.origin, h.mode]),
        [
          [leaked, 'openSync', 'w'],
          [handle.fd, 'promises.open', 'w'],
        ],
      );
      assert.match(handles[0]!.site ?? '', /cli-register\.test\.ts:\d+:\d+\)$/);
      await handle.close();
      fs.closeSync(leaked);
      assert.equal(tracker.openCount, 0);
      assert.equal(tracker.leakReport(), '');
      assert.deepEqual(tracker.stats(), { opened: 3, closed: 3, gcClosed: 0, closedElsewhere: 0 });

      // A number closed behind node:fs's back (here by the unpatched closeSync, as a native addon
      // would) is dropped at the next check instead of being reported as a leak.
      const sneaky = fs.openSync(path.join(work, 'sneaky.txt'), 'w');
      original.closeSync(sneaky);
      assert.equal(tracker.openCount, 1);
      assert.equal(tracker.reconcile(), 1);
      assert.equal(tracker.openCount, 0);
    }
    assert.equal(fs.openSync, original.openSync, 'restored');
    assert.equal(fs.closeSync, original.closeSync);
    assert.equal(fs.open, original.open);
    assert.equal(fs.promises.open, original.promisesOpen);
    syncBuiltinESMExports();
    const esm = await import('node:fs');
    assert.equal(esm.openSync, original.openSync, 'ESM exports restored too');
    assert.equal(activeNodeFsTracker(), undefined);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test(
  "the README's zero-code leak-tracking block runs as written (package export, exit report, fdkeeper report, HTML)",
  { skip: process.platform === 'linux' ? false : 'fdkeeper report needs /proc' },
  () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Leak reports'));
    const block = /```sh\n([\s\S]*?)```/.exec(section.slice(0, section.indexOf('\n### ', 5)))?.[1];
    assert.ok(
      block !== undefined && block.includes('--import fdkeeper/register'),
      'README "Leak reports" has the register sh block',
    );
    const app = tempDir('fdkeeper-readme-register-');
    try {
      // As a user who installed fdkeeper: node_modules/fdkeeper, and `npx fdkeeper` is its bin.
      fs.mkdirSync(path.join(app, 'node_modules'));
      fs.symlinkSync(ROOT, path.join(app, 'node_modules', 'fdkeeper'), 'dir');
      const npx = `npx() { [ "$1" = fdkeeper ] && shift; '${process.execPath}' '${path.join(ROOT, 'dist', 'cli', 'main.js')}' "$@"; }\n`;
      const env = Object.fromEntries(
        Object.entries({ ...process.env, NO_COLOR: '1' }).filter(
          ([k]) => k !== 'NODE_OPTIONS' && k !== 'FDKEEPER_REPORT',
        ),
      );
      const r = spawnSync('bash', ['-e', '-c', npx + block], { cwd: app, encoding: 'utf8', timeout: 60_000, env });
      assert.equal(r.status, 0, `the README block failed:\n${block}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
      const script = path.join(app, 'leaky.js');
      assert.match(
        r.stdout,
        new RegExp(`^ +3 +\\S+ +openRunLog \\(${re(script)}:2:\\d+\\) +${re(path.join(app, 'run-0.log'))}`, 'm'),
        'fdkeeper report printed the site',
      );
      assert.match(r.stderr, new RegExp(`^ {2}3 × openRunLog \\(${re(script)}:2:\\d+\\)`, 'm'), 'the exit report');
      assert.match(
        r.stderr,
        /leak report \(3 descriptors open at exit, 1 open site, oldest .*\) written to .*leaks\.html$/m,
      );
      const html = fs.readFileSync(path.join(app, 'leaks.html'), 'utf8');
      assert.match(html, /openRunLog \(leaky\.js:2\)/);
    } finally {
      fs.rmSync(app, { recursive: true, force: true });
    }
  },
);
