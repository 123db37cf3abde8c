import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { O } from '../src/backend/flags.js';
import { parseMode } from '../src/io/mode.js';
import { open, openSync } from '../src/io/open.js';
import { ioFixture, rejectsFs, throwsFs } from './support/io-fixture.js';

const { table, file, dir } = ioFixture('mode');

interface Expect {
  flags: number;
  reading: boolean;
  writing: boolean;
  appending: boolean;
  exclusive: boolean;
  binary: boolean;
  rawMode: string;
}

const R = { flags: O.RDONLY, reading: true, writing: false, appending: false, exclusive: false, rawMode: 'rb' };
const RP = { flags: O.RDWR, reading: true, writing: true, appending: false, exclusive: false, rawMode: 'rb+' };
const W = {
  flags: O.WRONLY | O.CREAT | O.TRUNC,
  reading: false,
  writing: true,
  appending: false,
  exclusive: false,
  rawMode: 'wb',
};
const WP = {
  flags: O.RDWR | O.CREAT | O.TRUNC,
  reading: true,
  writing: true,
  appending: false,
  exclusive: false,
  rawMode: 'wb+',
};
const A = {
  flags: O.WRONLY | O.CREAT | O.APPEND,
  reading: false,
  writing: true,
  appending: true,
  exclusive: false,
  rawMode: 'ab',
};
const AP = {
  flags: O.RDWR | O.CREAT | O.APPEND,
  reading: true,
  writing: true,
  appending: true,
  exclusive: false,
  rawMode: 'ab+',
};
const X = {
  flags: O.WRONLY | O.CREAT | O.EXCL,
  reading: false,
  writing: true,
  appending: false,
  exclusive: true,
  rawMode: 'xb',
};
const XP = {
  flags: O.RDWR | O.CREAT | O.EXCL,
  reading: true,
  writing: true,
  appending: false,
  exclusive: true,
  rawMode: 'xb+',
};

const VALID: Record<string, Expect> = {
  r: { ...R, binary: false },
  rb: { ...R, binary: true },
  br: { ...R, binary: true },
  rt: { ...R, binary: false },
  tr: { ...R, binary: false },
  'r+': { ...RP, binary: false },
  '+r': { ...RP, binary: false },
  'r+b': { ...RP, binary: true },
  'rb+': { ...RP, binary: true },
  'br+': { ...RP, binary: true },
  '+br': { ...RP, binary: true },
  'r+t': { ...RP, binary: false },
  'rt+': { ...RP, binary: false },
  w: { ...W, binary: false },
  wb: { ...W, binary: true },
  wt: { ...W, binary: false },
  'w+': { ...WP, binary: false },
  'w+b': { ...WP, binary: true },
  'wb+': { ...WP, binary: true },
  a: { ...A, binary: false },
  ab: { ...A, binary: true },
  at: { ...A, binary: false },
  'a+': { ...AP, binary: false },
  'ab+': { ...AP, binary: true },
  'a+b': { ...AP, binary: true },
  x: { ...X, binary: false },
  xb: { ...X, binary: true },
  xt: { ...X, binary: false },
  'x+': { ...XP, binary: false },
  'xb+': { ...XP, binary: true },
};

test('valid modes parse to the right flags and access', () => {
  for (const [mode, want] of Object.entries(VALID)) {
    const got = parseMode(mode);
    assert.deepEqual({ ...got }, want, `mode '${mode}'`);
  }
});

test('exactly one of the read/write flags is set for every valid mode', () => {
  for (const mode of Object.keys(VALID)) {
    const acc = parseMode(mode).flags & O.ACCMODE;
    assert.ok([O.RDONLY, O.WRONLY, O.RDWR].includes(acc), mode);
    assert.equal(acc === O.RDWR, mode.includes('+') || false, mode);
  }
});

const INVALID = [
  '',
  'rw',
  'ra+',
  'bt',
  'r++',
  'rr',
  'wa',
  '+',
  'b',
  't',
  'rbb',
  'a+x',
  'rw+',
  'z',
  'U',
  'rU',
  'r ',
  ' r',
  'R',
  'W',
  'rbt',
  'rtt',
  'wx',
  'xa',
  'r+b+',
  'b+',
  'rb\u0000',
  'r\u00e9',
];

test('invalid modes are EINVAL naming the mode', () => {
  for (const mode of INVALID) {
    const e = throwsFs(() => parseMode(mode), 'EINVAL', `'${mode}'`);
    assert.equal(e.syscall, 'open', mode);
    assert.ok(e.message.includes('invalid mode'), e.message);
  }
});

test('a mode that is not a string is EINVAL, not a TypeError', () => {
  for (const bad of [undefined, null, 1, {}, ['r']]) {
    throwsFs(() => parseMode(bad as string), 'EINVAL', 'invalid mode');
  }
});

test('the error for an invalid mode names the path', () => {
  const p = file('named.txt');
  const e = throwsFs(() => openSync(p, 'rw', { table }), 'EINVAL', "'rw'");
  assert.equal(e.path, p);
  assert.ok(e.message.includes(p));
});

test('an invalid mode opens nothing: no file created, nothing in the table', async () => {
  for (const mode of INVALID) {
    const p = file('never.txt');
    throwsFs(() => openSync(p, mode, { table }), 'EINVAL', `'${mode}'`);
    await rejectsFs(open(p, mode, { table }), 'EINVAL', `'${mode}'`);
    assert.equal(fs.existsSync(p), false, `mode '${mode}' created ${p}`);
    assert.equal(table.size, 0);
    assert.equal(table.heldCount, 0);
  }
  // A typo of 'w' on an existing file must not truncate it.
  const existing = file('keep.txt', 'precious');
  for (const mode of ['ww', 'w++', 'wbt', 'wr', 'w+x']) {
    throwsFs(() => openSync(existing, mode, { table }), 'EINVAL', `'${mode}'`);
    await rejectsFs(open(existing, mode, { table }), 'EINVAL', `'${mode}'`);
  }
  assert.equal(fs.readFileSync(existing, 'utf8'), 'precious');
  assert.deepEqual(
    fs.readdirSync(dir).filter((n) => n.endsWith('never.txt')),
    [],
  );
});

test('an invalid mode with a descriptor number adopts nothing', () => {
  const raw = fs.openSync(file('fd.txt', 'x'), 'r');
  try {
    throwsFs(() => openSync(raw, 'rx', { table }), 'EINVAL', "'rx'");
    assert.equal(table.size, 0);
    fs.fstatSync(raw); // still open: the failed call did not close it
  } finally {
    fs.closeSync(raw);
  }
});

test('each valid mode opens with the access it promises', () => {
  for (const [mode, want] of Object.entries(VALID)) {
    const p = file('acc.txt', want.exclusive ? undefined : 'data');
    const f = openSync(p, mode, { table });
    try {
      assert.equal(f.readable, want.reading, mode);
      assert.equal(f.writable, want.writing, mode);
      // binary modes give a BufferedFile (bytes), text modes a TextFile (mode as given)
      if (want.binary) assert.equal(f.mode, want.rawMode, mode);
      else assert.equal(f.mode, mode, mode);
    } finally {
      f.closeSync();
    }
    // 'w' truncates, 'a'/'r' keep, 'x' created an empty file
    const content = fs.readFileSync(p, 'utf8');
    if (mode.includes('w') || want.exclusive) assert.equal(content, '', mode);
    else assert.equal(content, 'data', mode);
  }
});

test("'x' on an existing file is EEXIST and leaves it alone", () => {
  const p = file('exists.txt', 'keep');
  for (const mode of ['x', 'xb', 'x+', 'xb+']) {
    const e = throwsFs(() => openSync(p, mode, { table }), 'EEXIST');
    assert.equal(e.path, p);
  }
  assert.equal(fs.readFileSync(p, 'utf8'), 'keep');
});
