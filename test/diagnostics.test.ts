import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FileTable } from '../src/table/file-table.js';
import { OpenSite, SitePolicy, parseStack } from '../src/diagnostics/open-site.js';
import { formatLeakReport, groupByOpenSite, summarizeOpenSites } from '../src/diagnostics/leak-report.js';
import { openSync } from '../src/io/open.js';
import { LeakError, leakCheck, withoutLeaks } from '../src/testing.js';

const THIS_FILE = fileURLToPath(import.meta.url);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-diag-'));
test.after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content = 'x'): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
}

/** The line number of the caller of this function in this file. */
function lineHere(): number {
  const s = OpenSite.capture(lineHere).userFrames()[0];
  assert.ok(s);
  return s.line;
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

test('parseStack reads named, anonymous and async frames', () => {
  const frames = parseStack(
    [
      'Error',
      '    at foo (/a/b.js:3:9)',
      '    at /a/c.js:10:2',
      '    at async bar (file:///a/d.mjs:1:1)',
      '    at new Promise (<anonymous>)',
    ].join('\n'),
  );
  assert.deepEqual(frames.slice(0, 3), [
    { fn: 'foo', file: '/a/b.js', line: 3, column: 9 },
    { fn: '<anonymous>', file: '/a/c.js', line: 10, column: 2 },
    { fn: 'bar', file: 'file:///a/d.mjs', line: 1, column: 1 },
  ]);
});

test('an open site names the calling line and hides fdkeeper frames', () => {
  const table = new FileTable({ openSites: 'always' });
  const p = file('site.txt');
  const expectedLine = lineHere() + 1;
  const d = table.openDescriptorSync(p, 'r');
  try {
    const top = d.openSite?.topFrame();
    assert.ok(top, 'site recorded');
    assert.equal(fileURLToPath(top.file.startsWith('file:') ? top.file : `file://${top.file}`), THIS_FILE);
    assert.equal(top.line, expectedLine);
    assert.ok(
      d.openSite?.userFrames().every((f) => !f.file.includes(`${path.sep}src${path.sep}table${path.sep}`)),
      'no library frames',
    );
  } finally {
    d.closeSync();
  }
});

test("'auto' records sites only from the threshold on; 'never' records none", () => {
  const policy = new SitePolicy({ mode: 'auto', autoThreshold: 3 });
  assert.deepEqual(
    [0, 1, 2, 3, 50].map((n) => policy.shouldCapture(n)),
    [false, false, false, true, true],
  );
  assert.equal(new SitePolicy({ mode: 'never' }).shouldCapture(1000), false);
  assert.equal(new SitePolicy({ mode: 'always' }).shouldCapture(0), true);

  const table = new FileTable({ openSites: 'auto', siteThreshold: 3 });
  const p = file('auto.txt');
  const ds = Array.from({ length: 5 }, () => table.openDescriptorSync(p, 'r'));
  try {
    assert.deepEqual(
      ds.map((d) => d.openSite !== undefined),
      [false, false, false, true, true],
    );
  } finally {
    for (const d of ds) d.closeSync();
  }
});

test('FDKEEPER_OPEN_SITES picks the default mode', () => {
  const saved = process.env['FDKEEPER_OPEN_SITES'];
  try {
    process.env['FDKEEPER_OPEN_SITES'] = 'always';
    assert.equal(new FileTable().sites.mode, 'always');
    process.env['FDKEEPER_OPEN_SITES'] = 'bogus';
    assert.equal(new FileTable().sites.mode, 'auto');
  } finally {
    if (saved === undefined) delete process.env['FDKEEPER_OPEN_SITES'];
    else process.env['FDKEEPER_OPEN_SITES'] = saved;
  }
});

function openFromSiteA(table: FileTable, p: string): number {
  return table.openSync(p, 'r');
}
function openFromSiteB(table: FileTable, p: string): number {
  return table.openSync(p, 'r');
}

test('the leak report groups descriptors by the line that opened them, largest group first', () => {
  const table = new FileTable({ openSites: 'always' });
  const paths = ['a1', 'a2', 'a3', 'a4'].map((n) => file(n));
  const fds = [
    ...paths.map((p) => openFromSiteA(table, p)),
    openFromSiteB(table, file('b1')),
    openFromSiteB(table, file('b2')),
  ];
  try {
    const handles = table.openHandles();
    assert.equal(handles.length, 6);
    const groups = groupByOpenSite(handles);
    assert.equal(groups.length, 2);
    assert.equal(groups[0]?.handles.length, 4);
    assert.match(groups[0].site ?? '', /^openFromSiteA \(.*diagnostics\.test\.ts:\d+:\d+\)$/);
    assert.match(groups[1]?.site ?? '', /^openFromSiteB /);

    const report = table.leakReport({ samplePaths: 2 });
    assert.match(report, /^fdkeeper: 6 descriptors still open, from 2 open sites/);
    assert.match(report, /4 × openFromSiteA \(.*diagnostics\.test\.ts:\d+:\d+\)/);
    assert.match(report, /2 × openFromSiteB /);
    assert.ok(report.indexOf('openFromSiteA') < report.indexOf('openFromSiteB'), 'largest group first');
    assert.match(report, /a1 \(fd \d+, r\), .*a2 \(fd \d+, r\), … 2 more/);
    assert.match(report, /at openFromSiteA \(/, 'the stack is shown');
    assert.match(summarizeOpenSites(handles), /^4 × openFromSiteA .*; 2 × openFromSiteB /);
    assert.equal((JSON.parse(JSON.stringify(handles[0])) as { site?: string }).site, handles[0]?.site);
  } finally {
    for (const fd of fds) table.closeSync(fd);
  }
  assert.equal(table.leakReport(), '', 'nothing open, empty report');
  assert.equal(formatLeakReport([]), '');
});

test('leakCheck names a leaked descriptor and its line, ignoring what was open before', () => {
  const table = new FileTable({ openSites: 'never' });
  const before = table.openSync(file('before'), 'r');
  const check = leakCheck({ table });
  assert.equal(table.sites.mode, 'always', 'sites recorded while checking');
  const leakedLine = lineHere() + 1;
  const leaked = table.openSync(file('leaked'), 'r');
  const closed = table.openSync(file('closed'), 'r');
  table.closeSync(closed);
  assert.equal(check.leaked().length, 1);
  assert.throws(
    () => {
      check.assertNoLeaks();
    },
    (e: unknown) => {
      assert.ok(e instanceof LeakError);
      assert.equal(e.handles.length, 1);
      assert.equal(e.handles[0]?.fd, leaked);
      assert.match(e.message, /left 1 descriptor open/);
      assert.match(e.message, new RegExp(`diagnostics\\.test\\.ts:${leakedLine}:`));
      assert.doesNotMatch(e.message, /before/);
      return true;
    },
  );
  assert.equal(table.sites.mode, 'never', 'mode restored');
  table.closeSync(leaked);
  table.closeSync(before);
});

test('withoutLeaks passes a clean body, fails a leaky one, and lets the body error win', async () => {
  const table = new FileTable();
  const p = file('wl');
  assert.equal(
    await withoutLeaks(
      () => {
        table.closeSync(table.openSync(p, 'r'));
        return 42;
      },
      { table },
    )(),
    42,
  );

  let leakedFd = -1;
  await assert.rejects(
    withoutLeaks(
      () => {
        leakedFd = table.openSync(p, 'r');
      },
      { table },
    )(),
    LeakError,
  );
  table.closeSync(leakedFd);

  await assert.rejects(
    withoutLeaks(
      () => {
        leakedFd = table.openSync(p, 'r');
        throw new Error('body failed');
      },
      { table },
    )(),
    /body failed/,
  );
  table.closeSync(leakedFd);
});

test('a file collected while open is reported with its path and site; only a never-escaped one is closed', async () => {
  const table = new FileTable({ openSites: 'always' });
  const messages: string[] = [];
  table.unclosed.onUnclosed = (m) => messages.push(m);
  const quiet = file('quiet.txt');
  const escaped = file('escaped.txt');
  let escapedFd = -1;
  const openLine = lineHere() + 2;
  (() => {
    openSync(quiet, 'r', { table });
    escapedFd = openSync(escaped, 'r', { table }).fileno();
  })();
  for (let i = 0; i < 10 && messages.length < 2; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(messages.length, 2, `both files reported: ${messages.join(' | ')}`);
  const q = messages.find((m) => m.includes('quiet.txt')) ?? '';
  const e = messages.find((m) => m.includes('escaped.txt')) ?? '';
  assert.match(q, new RegExp(`opened at .*diagnostics\\.test\\.ts:${openLine}:`));
  assert.match(q, /fdkeeper closed it/);
  assert.match(e, /escaped via fileno\(\), so it was left open/);
  assert.equal(table.size, 1, 'the escaped descriptor stays open');
  assert.equal(table.openHandles()[0]?.fd, escapedFd);
  fs.fstatSync(escapedFd); // still a valid kernel descriptor
  table.closeSync(escapedFd);
});

test('a leak check counts a file collected while open as a leak', async () => {
  const table = new FileTable();
  const check = leakCheck({ table });
  (() => {
    openSync(file('gc-leak.txt'), 'r', { table });
  })();
  for (let i = 0; i < 10 && table.size > 0; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(table.size, 0, 'collected and closed by the watch');
  assert.throws(() => {
    check.assertNoLeaks();
  }, /gc-leak\.txt.*garbage-collected while open/);
});

test('reportAtExit prints the leak report to stderr when the process exits', () => {
  const p = file('exit.txt');
  const script = `
    import { FileTable } from ${JSON.stringify(path.resolve('src/table/file-table.ts'))};
    const t = new FileTable({ reportAtExit: true, openSites: 'always' });
    function leakyAtExit() { t.openSync(${JSON.stringify(p)}, 'r'); }
    leakyAtExit();
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  assert.match(child.stderr, /fdkeeper: 1 descriptor still open, from 1 open site/);
  assert.match(child.stderr, /1 × leakyAtExit /);
  assert.match(child.stderr, /exit\.txt \(fd \d+, r\)/);
});

test('handles without a recorded site are listed after every named site', () => {
  const table = new FileTable({ openSites: 'auto', siteThreshold: 3 });
  const fds = ['u1', 'u2', 'u3', 'n1'].map((n) => openFromSiteA(table, file(n)));
  try {
    const groups = groupByOpenSite(table.openHandles());
    assert.deepEqual(
      groups.map((g) => g.handles.length),
      [1, 3],
      'the named group first although smaller',
    );
    assert.match(groups[0]?.site ?? '', /^openFromSiteA /);
    assert.equal(groups[1]?.site, undefined);
    assert.match(summarizeOpenSites(table.openHandles()), /^1 × openFromSiteA .*; 3 × <site not recorded>/);
  } finally {
    for (const fd of fds) table.closeSync(fd);
  }
});

test("open sites come from V8's call sites: an app's Error.prepareStackTrace is neither called nor lost, and frame names read as V8 writes them", () => {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- put back as it was
  const saved = Error.prepareStackTrace;
  let calls = 0;
  Error.prepareStackTrace = () => {
    calls++;
    return "the app's own format";
  };
  let site: OpenSite;
  try {
    site = OpenSite.capture(); // @here
    assert.equal(calls, 0, "the app's formatter is not used for a capture");
    assert.equal(new Error('x').stack, "the app's own format", 'and it is back in place afterwards');
  } finally {
    Error.prepareStackTrace = saved;
  }
  const source = fs.readFileSync(THIS_FILE, 'utf8');
  const expected = source.split('\n').findIndex((l) => l.includes('OpenSite.capture(); // @here')) + 1;
  assert.equal(site.topFrame()?.line, expected);

  // Names as V8's own stack text has them (without source maps: Node's source-mapped text drops the
  // `[as alias]`): constructor, method, method called under another name.
  class Opener {
    site: OpenSite;
    text: string;
    constructor() {
      [this.site, this.text] = [OpenSite.capture(), new Error().stack ?? ''];
    }
    open(): [OpenSite, string] {
      return [OpenSite.capture(), new Error().stack ?? ''];
    }
  }
  const made = new Opener();
  // eslint-disable-next-line @typescript-eslint/unbound-method -- a method called under another name, on another object
  const viaAlias = { alias: made.open };
  for (const [captured, text] of [[made.site, made.text], made.open(), viaAlias.alias()] as const) {
    const v8 = parseStack(text)[0];
    assert.ok(v8 !== undefined);
    assert.equal(captured.topFrame()?.line, v8.line);
  }
  assert.deepEqual(
    [made.site.topFrame()?.fn, made.open()[0].topFrame()?.fn, viaAlias.alias()[0].topFrame()?.fn],
    ['new Opener', 'Opener.open', 'Object.open [as alias]'],
  );
});
