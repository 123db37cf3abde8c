/**
 * Differential property test: random sequences of file-system operations run against the real OS
 * ({@link OsBackend}, in a fresh temp directory) and against {@link MemoryBackend} (in a fresh
 * directory of its own), over a small namespace so that names collide, directories fill up, links
 * dangle. After every step the two results (values or error codes with their syscall) must be equal;
 * at the end, so must the two trees (kinds, permission bits, link counts, sizes, contents, symlink
 * targets, which names are hard links of each other).
 *
 * Descriptor numbers are compared relatively: each backend's numbers are mapped to indexes in order of
 * first appearance, and operations name a descriptor by the index of the open that returned it (a
 * closed one stays nameable, to check EBADF and reuse). Everything runs synchronously, so no other open
 * in the process can take a number in the middle of a sequence.
 *
 * A divergence fails with the shrunk sequence printed one call per line, with both backends' results
 * and the first step where they differ. `FDKEEPER_STRESS=1` runs many more and longer sequences;
 * `FDKEEPER_FC_SEED` (and optionally `FDKEEPER_FC_PATH`) replay a reported failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Backend, FileStat } from '../src/backend/backend.js';
import { OsBackend } from '../src/backend/os-backend.js';
import { MemoryBackend } from '../src/backend/memory/memory-backend.js';
import { O } from '../src/backend/flags.js';
import { DEFAULT_UMASK, describeError, kindOf, overriding, type Json } from './support/posix-scenarios.js';

const STRESS = process.env['FDKEEPER_STRESS'] !== undefined && process.env['FDKEEPER_STRESS'] !== '';
const NUM_RUNS = STRESS ? 50_000 : 5_000;
const MAX_OPS = STRESS ? 80 : 40;
const UID = process.getuid?.() ?? 0;
const GID = process.getgid?.() ?? 0;
const MEMORY_PARENT = '/work';

// ------------------------------------------------------------------ operations

/** The paths operations name, relative to the run's root: a few names, two directories, a path through a file. */
const PATHS = ['a', 'b', 'c', 'd', 'e', 'd/a', 'd/b', 'e/a', 'e/d', 'a/x', 'd/', 'a/'] as const;
/**
 * Symlink targets: relative, upward, dangling, looping, a directory, and absolute (`/…` means under the
 * root). No bare '..': a link to the root's parent would let later links climb out of what the run owns
 * (on the OS into os.tmpdir(), in memory into `/`). '../a' from the root names `a` in the root's private
 * parent; only a regular file can be created there, through the dangling link, so nothing climbs further.
 */
const TARGETS = ['a', 'b', 'd', 'd/a', '../a', 'missing', 'c', '.', '/a', '/d'] as const;

/** The base access modes, as node:fs flag strings name them. */
const BASE_FLAGS: readonly (readonly [string, number])[] = [
  ['r', O.RDONLY],
  ['r+', O.RDWR],
  ['w', O.WRONLY | O.CREAT | O.TRUNC],
  ['w+', O.RDWR | O.CREAT | O.TRUNC],
  ['a', O.WRONLY | O.CREAT | O.APPEND],
  ['a+', O.RDWR | O.CREAT | O.APPEND],
];
const EXTRA_FLAGS: readonly (readonly [string, number])[] = [
  ['O_EXCL', O.EXCL],
  ['O_TRUNC', O.TRUNC],
  ['O_CREAT', O.CREAT],
  ['O_DIRECTORY', O.DIRECTORY],
  ['O_NOFOLLOW', O.NOFOLLOW],
  ['O_APPEND', O.APPEND],
];

/** An open-flags choice: its printable name and its bits. */
interface Flags {
  readonly name: string;
  readonly bits: number;
}

type Op =
  | { readonly kind: 'open'; readonly path: string; readonly flags: Flags }
  | { readonly kind: 'close'; readonly fd: number }
  | { readonly kind: 'read'; readonly fd: number; readonly length: number }
  | { readonly kind: 'pread'; readonly fd: number; readonly length: number; readonly position: number }
  | { readonly kind: 'write'; readonly fd: number; readonly data: string }
  | { readonly kind: 'pwrite'; readonly fd: number; readonly data: string; readonly position: number }
  | { readonly kind: 'ftruncate'; readonly fd: number; readonly length: number }
  | { readonly kind: 'fstat'; readonly fd: number }
  | { readonly kind: 'unlink' | 'rmdir' | 'readdir' | 'stat' | 'lstat'; readonly path: string }
  | { readonly kind: 'mkdir'; readonly path: string }
  | { readonly kind: 'rename' | 'link'; readonly from: string; readonly to: string }
  | { readonly kind: 'symlink'; readonly target: string; readonly path: string };

/** How an operation prints in counterexamples and traces: like the call it stands for. */
function describeOp(op: Op): string {
  const q = (s: string): string => JSON.stringify(s);
  switch (op.kind) {
    case 'open':
      return `open(${q(op.path)}, ${op.flags.name})`;
    case 'close':
    case 'fstat':
      return `${op.kind}(fd#${op.fd})`;
    case 'read':
      return `read(fd#${op.fd}, ${op.length})`;
    case 'pread':
      return `pread(fd#${op.fd}, ${op.length}, ${op.position})`;
    case 'write':
      return `write(fd#${op.fd}, ${q(op.data)})`;
    case 'pwrite':
      return `pwrite(fd#${op.fd}, ${q(op.data)}, ${op.position})`;
    case 'ftruncate':
      return `ftruncate(fd#${op.fd}, ${op.length})`;
    case 'unlink':
    case 'rmdir':
    case 'readdir':
    case 'stat':
    case 'lstat':
    case 'mkdir':
      return `${op.kind}(${q(op.path)})`;
    case 'rename':
    case 'link':
      return `${op.kind}(${q(op.from)}, ${q(op.to)})`;
    case 'symlink':
      return `symlink(${q(op.target)}, ${q(op.path)})`;
  }
}

/** Gives an operation the printed form fast-check uses in counterexamples. */
function printable(op: Op): Op {
  Object.defineProperty(op, fc.toStringMethod, { value: () => describeOp(op), enumerable: false });
  return op;
}

const flagsArbitrary: fc.Arbitrary<Flags> = fc
  .tuple(
    fc.constantFrom(...BASE_FLAGS),
    fc.oneof(
      { weight: 3, arbitrary: fc.constant([]) },
      { weight: 2, arbitrary: fc.subarray([...EXTRA_FLAGS], { minLength: 1, maxLength: 2 }) },
    ),
  )
  .map(([[baseName, baseBits], extras]) => {
    let bits = baseBits;
    for (const [, b] of extras) bits |= b;
    return { name: [`'${baseName}'`, ...extras.map(([n]) => n)].join('|'), bits };
  })
  // O_CREAT|O_DIRECTORY changed meaning across Linux versions (EINVAL since 6.4): not a POSIX question.
  .filter((f) => !((f.bits & O.CREAT) !== 0 && (f.bits & O.DIRECTORY) !== 0));

/** Operations on `fd` name it by the index of the open that returned it (wrapped into range). */
function opArbitrary(): fc.Arbitrary<Op> {
  const path = fc.constantFrom(...PATHS);
  const fd = fc.nat({ max: 7 });
  const data = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'x', 'y', 'z'), maxLength: 6 });
  const position = fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0, max: 12 }) },
    { weight: 1, arbitrary: fc.constantFrom(-1, 40) },
  );
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 8, arbitrary: fc.record({ kind: fc.constant('open' as const), path, flags: flagsArbitrary }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('close' as const), fd }) },
    // Reads ask for at least one byte: node:fs answers a zero-length read with 0 without calling read(2),
    // even on a write-only or closed descriptor, where Linux (and the memory backend) say EBADF.
    {
      weight: 4,
      arbitrary: fc.record({ kind: fc.constant('read' as const), fd, length: fc.integer({ min: 1, max: 8 }) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('pread' as const),
        fd,
        length: fc.integer({ min: 1, max: 8 }),
        position,
      }),
    },
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('write' as const), fd, data }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('pwrite' as const), fd, data, position }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('ftruncate' as const),
        fd,
        length: fc.oneof(
          { weight: 8, arbitrary: fc.integer({ min: 0, max: 12 }) },
          { weight: 1, arbitrary: fc.constant(-1) },
        ),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('fstat' as const), fd }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('unlink' as const, 'rmdir' as const), path }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('mkdir' as const), path }) },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constantFrom('readdir' as const, 'stat' as const, 'lstat' as const), path }),
    },
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constantFrom('rename' as const, 'link' as const), from: path, to: path }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('symlink' as const), target: fc.constantFrom(...TARGETS), path }),
    },
  );
  return op.map(printable);
}

const sequenceArbitrary = (maxOps: number): fc.Arbitrary<Op[]> =>
  fc.array(opArbitrary(), { minLength: 1, maxLength: maxOps, size: 'max' });

// ------------------------------------------------------------------ running a sequence

const latin1 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');

/** The comparable part of a stat: kind, link count, size (not for directories) and, optionally, permission bits. */
function view(st: FileStat, withPerm: boolean): Record<string, Json> {
  const v: Record<string, Json> = { kind: kindOf(st), nlink: st.nlink };
  if (!st.isDirectory()) v['size'] = st.size;
  if (withPerm) v['perm'] = st.mode & 0o7777;
  return v;
}

/** One backend running a sequence: its root, the descriptors it returned, and their relative numbering. */
class Side {
  /** Every descriptor number an open returned, in order (an op's `fd` indexes this). */
  private readonly opened: number[] = [];
  /** Descriptor number → index in order of first appearance. */
  private readonly index = new Map<number, number>();
  /** The numbers currently open, to close at the end. */
  private readonly live = new Set<number>();

  constructor(
    readonly b: Backend,
    readonly root: string,
  ) {}

  private p(rel: string): string {
    return `${this.root}/${rel}`;
  }

  private relIndex(n: number): number {
    let i = this.index.get(n);
    if (i === undefined) {
      i = this.index.size;
      this.index.set(n, i);
    }
    return i;
  }

  /** Which earlier open an operation's `fd` names (its index among the successful opens), if any. */
  resolve(op: Op): number | undefined {
    return 'fd' in op && this.opened.length > 0 ? op.fd % this.opened.length : undefined;
  }

  /** Runs one operation; returns its result, or its error as `{ error, syscall }`. */
  run(op: Op): Json {
    if ('fd' in op && this.opened.length === 0) return 'no descriptor yet';
    const k = this.resolve(op);
    const fd = k === undefined ? -1 : (this.opened[k] ?? -1);
    try {
      return this.call(op, fd);
    } catch (e) {
      return describeError(e);
    }
  }

  private call(op: Op, fd: number): Json {
    const b = this.b;
    switch (op.kind) {
      case 'open': {
        const n = b.openSync(this.p(op.path), op.flags.bits);
        this.opened.push(n);
        this.live.add(n);
        return { fd: this.relIndex(n) };
      }
      case 'close':
        b.closeSync(fd);
        this.live.delete(fd);
        return 'ok';
      case 'read':
      case 'pread': {
        const buf = new Uint8Array(op.length);
        const got = b.readSync(fd, buf, 0, op.length, op.kind === 'pread' ? op.position : null);
        return latin1(buf.subarray(0, got));
      }
      case 'write':
      case 'pwrite': {
        const bytes = Buffer.from(op.data, 'latin1');
        return b.writeSync(fd, bytes, 0, bytes.length, op.kind === 'pwrite' ? op.position : null);
      }
      case 'ftruncate':
        b.ftruncateSync(fd, op.length);
        return 'ok';
      case 'fstat':
        return view(b.fstatSync(fd), false);
      case 'unlink':
        b.unlinkSync(this.p(op.path));
        return 'ok';
      case 'rmdir':
        b.rmdirSync(this.p(op.path));
        return 'ok';
      case 'mkdir':
        b.mkdirSync(this.p(op.path));
        return 'ok';
      case 'readdir':
        return [...b.readdirSync(this.p(op.path))].sort();
      case 'stat':
        return view(b.statSync(this.p(op.path)), true);
      case 'lstat':
        return this.linkView(b.lstatSync(this.p(op.path)), op.path);
      case 'rename':
        b.renameSync(this.p(op.from), this.p(op.to));
        return 'ok';
      case 'link':
        b.linkSync(this.p(op.from), this.p(op.to));
        return 'ok';
      case 'symlink':
        b.symlinkSync(op.target.startsWith('/') ? this.root + op.target : op.target, this.p(op.path));
        return 'ok';
    }
  }

  /**
   * {@link view} with permission bits, for an lstat of `rel`: a symlink's size is its target's length,
   * so for an absolute target (which starts with this side's root) the root's length is taken off.
   */
  private linkView(st: FileStat, rel: string): Record<string, Json> {
    const v = view(st, true);
    if (st.isSymbolicLink() && this.b.readlinkSync(this.p(rel)).startsWith(this.root))
      v['size'] = st.size - Buffer.byteLength(this.root);
    return v;
  }

  /**
   * The whole tree under the root: per path its kind, permission bits, link count, size, content or
   * symlink target (absolute ones relative to the root), and which earlier path it is a hard link of.
   */
  tree(): Json {
    const out: Record<string, Json> = {};
    const seen = new Map<string, string>(); // dev:ino → first path
    const walk = (rel: string): void => {
      const names = [...this.b.readdirSync(rel === '' ? this.root : this.p(rel))].sort();
      for (const name of names) {
        const path = rel === '' ? name : `${rel}/${name}`;
        const st = this.b.lstatSync(this.p(path));
        const entry = this.linkView(st, path);
        const id = `${st.dev}:${st.ino}`;
        const twin = seen.get(id);
        if (twin !== undefined) entry['linkOf'] = twin;
        else seen.set(id, path);
        if (st.isSymbolicLink()) {
          const t = this.b.readlinkSync(this.p(path));
          entry['target'] = t.startsWith(this.root) ? `<root>${t.slice(this.root.length)}` : t;
        } else if (st.isFile() && twin === undefined) {
          entry['content'] = this.content(path);
        }
        out[path] = entry;
        if (st.isDirectory()) walk(path);
      }
    };
    walk('');
    return out;
  }

  private content(rel: string): string {
    const fd = this.b.openSync(this.p(rel), O.RDONLY | O.NOFOLLOW);
    try {
      let s = '';
      const buf = new Uint8Array(256);
      for (let pos = 0; ;) {
        const n = this.b.readSync(fd, buf, 0, buf.length, pos);
        if (n === 0) return s;
        s += latin1(buf.subarray(0, n));
        pos += n;
      }
    } finally {
      this.b.closeSync(fd);
    }
  }

  /** Closes every descriptor the sequence left open. */
  closeAll(): void {
    for (const n of this.live) {
      try {
        this.b.closeSync(n);
      } catch {
        // closed already
      }
    }
    this.live.clear();
  }
}

/** Makes a backend and the root directory a sequence runs in; `dispose` removes what it made. */
interface Env {
  readonly backend: Backend;
  readonly root: string;
  dispose(): void;
}
type EnvFactory = () => Env;

/*
 * Each run's root is a directory `r` inside a private directory, so that symlinks to '../a' (which the
 * generator makes) stay inside what the run owns; the two sides see the same parent (mode 0700, `r`
 * alone in it).
 */

/** The real OS, in a fresh temp directory. */
const osEnv =
  (wrap: (b: Backend) => Backend = (b) => b): EnvFactory =>
  () => {
    const dir = fs.mkdtempSync(join(os.tmpdir(), 'fdkeeper-diff-'));
    fs.mkdirSync(join(dir, 'r'), 0o755);
    return {
      backend: wrap(new OsBackend()),
      root: join(dir, 'r'),
      dispose: () => {
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  };

/** A fresh memory backend, in a directory of its own. */
const memoryEnv =
  (wrap: (b: Backend) => Backend = (b) => b): EnvFactory =>
  () => {
    const b = new MemoryBackend({ umask: DEFAULT_UMASK, uid: UID, gid: GID });
    b.mkdirSync(MEMORY_PARENT, 0o700);
    b.mkdirSync(`${MEMORY_PARENT}/r`, 0o755);
    return { backend: wrap(b), root: `${MEMORY_PARENT}/r`, dispose: () => undefined };
  };

/**
 * Runs `ops` on a reference and a candidate backend, comparing after every step and at the end.
 * Throws an Error with a readable trace at the first divergence.
 */
function runSequence(reference: EnvFactory, candidate: EnvFactory, ops: readonly Op[]): void {
  const refEnv = reference();
  const candEnv = candidate();
  const ref = new Side(refEnv.backend, refEnv.root);
  const cand = new Side(candEnv.backend, candEnv.root);
  const lines: string[] = [];
  const fail = (what: string, expected: Json, actual: Json): never => {
    throw new Error(
      [
        `${candEnv.backend.name} backend diverges from ${refEnv.backend.name} ${what}`,
        '  sequence (fd#k: the descriptor the k-th successful open returned, counting from 0; in the Counterexample',
        "  line above, k is still to be taken modulo the number of successful opens so far; results are the reference's):",
        ...lines,
        `  expected (${refEnv.backend.name}): ${JSON.stringify(expected)}`,
        `  actual   (${candEnv.backend.name}): ${JSON.stringify(actual)}`,
      ].join('\n'),
    );
  };
  const saved = process.umask(DEFAULT_UMASK);
  try {
    let opens = 0;
    for (const [i, op] of ops.entries()) {
      const k = ref.resolve(op);
      const expected = ref.run(op);
      const actual = cand.run(op);
      let label = describeOp(op);
      if (k !== undefined) label = label.replace(/fd#\d+/, `fd#${k}`);
      if (typeof expected === 'object' && expected !== null && 'fd' in expected) label = `fd#${opens++} = ${label}`;
      const same = JSON.stringify(expected) === JSON.stringify(actual);
      lines.push(
        `  ${String(i + 1).padStart(3)}. ${label}  →  ${JSON.stringify(expected)}${same ? '' : `   <<< ${candEnv.backend.name}: ${JSON.stringify(actual)}`}`,
      );
      if (!same) fail(`at step ${i + 1}`, expected, actual);
    }
    const expectedTree = ref.tree();
    const actualTree = cand.tree();
    if (JSON.stringify(expectedTree) !== JSON.stringify(actualTree))
      fail('in the final tree', expectedTree, actualTree);
  } finally {
    process.umask(saved);
    ref.closeAll();
    cand.closeAll();
    refEnv.dispose();
    candEnv.dispose();
  }
}

function fcParameters(numRuns: number): fc.Parameters<[Op[]]> {
  const seed = process.env['FDKEEPER_FC_SEED'];
  const path = process.env['FDKEEPER_FC_PATH'];
  return {
    numRuns,
    includeErrorInReport: true,
    ...(seed === undefined ? {} : { seed: Number(seed) }),
    ...(path === undefined ? {} : { path }),
  };
}

// ------------------------------------------------------------------ broken backends for the self-checks

/** `b` with O_APPEND dropped from every open: appends become plain writes at the offset. */
function ignoringAppend(b: Backend): Backend {
  return overriding(b, {
    name: `${b.name} ignoring O_APPEND`,
    openSync: (path: string, flags: number, mode?: number) =>
      mode === undefined ? b.openSync(path, flags & ~O.APPEND) : b.openSync(path, flags & ~O.APPEND, mode),
  });
}

// ------------------------------------------------------------------ tests

test(`MemoryBackend agrees with the OS on ${NUM_RUNS} random operation sequences`, () => {
  fc.assert(
    fc.property(sequenceArbitrary(MAX_OPS), (ops) => {
      runSequence(osEnv(), memoryEnv(), ops);
    }),
    fcParameters(NUM_RUNS),
  );
});

test('control: the OS agrees with itself (the harness has no false positives)', () => {
  fc.assert(
    fc.property(sequenceArbitrary(MAX_OPS), (ops) => {
      runSequence(osEnv(), osEnv(), ops);
    }),
    { numRuns: 200 },
  );
});

test('the property can fail: it catches a backend that ignores O_APPEND, with a short readable trace', () => {
  const result = fc.check(
    fc.property(sequenceArbitrary(MAX_OPS), (ops) => {
      runSequence(osEnv(), osEnv(ignoringAppend), ops);
    }),
    { numRuns: 2_000 },
  );
  assert.equal(result.failed, true, 'fast-check should find a sequence telling the broken backend apart');
  const counterexample = result.counterexample?.[0] ?? [];
  assert.ok(
    counterexample.some((op) => op.kind === 'open' && (op.flags.bits & O.APPEND) !== 0),
    `the shrunk counterexample should open with O_APPEND: ${fc.stringify(counterexample)}`,
  );
  assert.ok(counterexample.length <= 6, `counterexample not shrunk: ${fc.stringify(counterexample)}`);
  const message = result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
  assert.match(message, /os ignoring O_APPEND backend diverges from os/);
  // The readable trace shows the appending open: an 'a'/'a+' mode, or another mode with |O_APPEND among
  // its extra flags (`'r+'|O_CREAT|O_APPEND`).
  assert.match(message, /open\("[^"]+", '(a|a\+)'|open\("[^"]+", '[^']*'(\|O_[A-Z]+)*\|O_APPEND/);
});
