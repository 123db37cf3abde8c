/**
 * Running batches through CPython and fdkeeper, comparing them step by step, classifying divergences
 * (the allow-list of known text bugs) and shrinking an unexplained one to a short repro.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { runFdkeeper, type FdkeeperOutcome, type Outcome, type Step } from './cpython-fdkeeper.js';
import { handleOpen, renderOp, type Op, type Sequence } from './cpython-sequences.js';

const RUNNER = new URL('./cpython-runner.py', import.meta.url).pathname;

/** Runs `seqs` in one python3 process; resolves with one outcome per sequence. */
export function runPython(seqs: readonly Sequence[], root: string): Promise<Outcome[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [RUNNER], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`cpython-runner.py exited with ${String(code)}: ${Buffer.concat(err).toString()}`));
      else resolve(JSON.parse(Buffer.concat(out).toString()) as Outcome[]);
    });
    child.stdin.end(JSON.stringify({ root, sequences: seqs }));
  });
}

/** Runs `seqs` through fdkeeper, each in `root/<index>`. */
export async function runFdkeeperBatch(seqs: readonly Sequence[], root: string): Promise<FdkeeperOutcome[]> {
  const out: FdkeeperOutcome[] = [];
  for (let i = 0; i < seqs.length; i++) {
    const dir = join(root, String(i));
    fs.mkdirSync(dir);
    out.push(await runFdkeeper(seqs[i] as Sequence, dir));
  }
  return out;
}

/** Both sides of a batch: CPython in its own process while fdkeeper runs here. */
export async function runBoth(seqs: readonly Sequence[]): Promise<{ py: Outcome[]; fk: FdkeeperOutcome[] }> {
  const pyRoot = fs.mkdtempSync(join(os.tmpdir(), 'fdkeeper-pydiff-py-'));
  const fkRoot = fs.mkdtempSync(join(os.tmpdir(), 'fdkeeper-pydiff-fk-'));
  try {
    const pyDone = runPython(seqs, pyRoot);
    const fk = await runFdkeeperBatch(seqs, fkRoot);
    return { py: await pyDone, fk };
  } finally {
    fs.rmSync(pyRoot, { recursive: true, force: true });
    fs.rmSync(fkRoot, { recursive: true, force: true });
  }
}

/** Where the two sides first differ: a step index, or `files` for the final contents. */
export interface Divergence {
  step: number | 'files';
  py: unknown;
  fk: unknown;
}

/**
 * Normalization N2 (docs/design.md): a CPython text cookie that carries decoder state (the runner
 * reports it as 'opaque-cookie') is not a byte offset; any successful tell() matches it.
 */
function sameStep(py: Step, fk: Step): boolean {
  if ('v' in py && py.v === 'opaque-cookie' && 'v' in fk && typeof fk.v === 'number') return true;
  return isDeepStrictEqual(py, fk);
}

/** The first difference between the two outcomes, or undefined. */
export function firstDivergence(py: Outcome, fk: Outcome): Divergence | undefined {
  const n = Math.max(py.steps.length, fk.steps.length);
  for (let i = 0; i < n; i++) {
    const a = py.steps[i];
    const b = fk.steps[i];
    if (a === undefined || b === undefined || !sameStep(a, b)) return { step: i, py: a, fk: b };
  }
  if (!isDeepStrictEqual(py.files, fk.files)) return { step: 'files', py: py.files, fk: fk.files };
  return undefined;
}

/** What a known-bug matcher sees at the first divergence. */
export interface DivergenceContext {
  seq: Sequence;
  d: Divergence;
  /** The op that diverged (undefined for the final contents). */
  op: Op | undefined;
  fk: FdkeeperOutcome;
}

/** An entry of the allow-list. */
export interface KnownBug {
  id: string;
  why: string;
  matches(c: DivergenceContext): boolean;
}

/** The file an io op works on. */
function fileOf(seq: Sequence, op: Op | undefined): string | undefined {
  if (op === undefined || op[0] === 'ioopen' || op[0] === 'open') return undefined;
  return handleOpen(seq, op[1] as number)?.[1];
}

function tainted(c: DivergenceContext, bug: 'a' | 'b'): boolean {
  // taints[i]: before op i; the last entry: after the last op (for the final contents).
  const taints = c.fk.taints[c.d.step === 'files' ? c.fk.taints.length - 1 : c.d.step];
  if (taints === undefined) return false;
  if (c.d.step === 'files') return [...taints.values()].some((s) => s.has(bug));
  const f = fileOf(c.seq, c.op);
  return f !== undefined && (taints.get(f)?.has(bug) ?? false);
}

function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * KNOWN_TEXT_BUGS — divergences in src/io/text-file.ts that another branch is fixing (issue 12.7 a–d).
 * Each entry matches only its symptom. DELETE THIS LIST (and `classify`'s use of it) once that fix is
 * merged: the harness then fails on any of them.
 */
export const KNOWN_TEXT_BUGS: readonly KnownBug[] = [
  {
    id: '12.7a',
    why: "text tell() (and the position a write or truncate() after reading uses) is wrong after reading invalid bytes with errors 'replace': the read-ahead is re-encoded, U+FFFD as 3 bytes",
    matches: (c) => {
      const n = c.d.step === 'files' ? undefined : c.fk.notes[c.d.step];
      const op = c.op;
      const positional = op !== undefined && (op[0] === 'tell' || op[0] === 'truncate' || op[0] === 'write' || (op[0] === 'seek' && op[3] === 1));
      return (n?.replaceReadInvalid === true && positional) || tainted(c, 'a');
    },
  },
  {
    id: '12.7b',
    why: "a strict read(n) that fails part-way (EILSEQ) has consumed the characters decoded before the bad byte: later reads miss them",
    matches: (c) => {
      const n = c.d.step === 'files' ? undefined : c.fk.notes[c.d.step];
      const op = c.op;
      const onHandle = op !== undefined && ['read', 'readline', 'tell', 'truncate', 'write'].includes(op[0]);
      return (n?.strictReadFailed === true && onHandle) || tainted(c, 'b');
    },
  },
  {
    id: '12.7c',
    why: 'TextFile.write() returns UTF-16 code units, not code points, for a string with characters beyond U+FFFF',
    matches: (c) => {
      const op = c.op;
      if (op?.[0] !== 'write' || typeof op[2] !== 'string' || !/[\u{10000}-\u{10ffff}]/u.test(op[2])) return false;
      return isDeepStrictEqual(c.d.py, { v: codePointLength(op[2]) }) && isDeepStrictEqual(c.d.fk, { v: op[2].length });
    },
  },
  {
    id: '12.7d',
    why: "promise TextFile.write() on a closed file encodes first: an unencodable string fails with EILSEQ instead of EBADF",
    matches: (c) => c.seq.api === 'promise' && c.op?.[0] === 'write' && isDeepStrictEqual(c.d.py, { e: 'EBADF' }) && isDeepStrictEqual(c.d.fk, { e: 'EILSEQ' }),
  },
];

/** The allow-list entry explaining a divergence, if any. */
export function classify(c: DivergenceContext): KnownBug | undefined {
  return KNOWN_TEXT_BUGS.find((b) => b.matches(c));
}

/** Compares one sequence: undefined when equal, else the divergence and its classification. */
export function check(seq: Sequence, py: Outcome, fk: FdkeeperOutcome): { d: Divergence; known: KnownBug | undefined } | undefined {
  const d = firstDivergence(py, fk);
  if (d === undefined) return undefined;
  const op = d.step === 'files' ? undefined : seq.ops[d.step];
  return { d, known: classify({ seq, d, op, fk }) };
}

function creates(op: Op): boolean {
  return op[0] === 'open' || op[0] === 'ioopen' || op[0] === 'dup' || op[0] === 'dup2';
}

/**
 * Shrinks a sequence whose divergence no known bug explains: drops the ops after it, then repeatedly
 * tries every one-op removal (one python3 process per round) and keeps the first candidate that still
 * diverges unexplained at an op of the same kind. Ops that make handles are kept (removing one would
 * renumber the handles after it).
 */
export async function shrink(seq: Sequence, d: Divergence, rounds = 25): Promise<{ seq: Sequence; d: Divergence; py: Outcome; fk: FdkeeperOutcome }> {
  const kindOf = (s: Sequence, x: Divergence): string => (x.step === 'files' ? 'files' : ((s.ops[x.step] as Op)[0] as string));
  const kind = kindOf(seq, d);
  let best = { ...seq, ops: d.step === 'files' ? seq.ops : seq.ops.slice(0, d.step + 1) };
  let bestRun = await runBoth([best]);
  let bestD = firstDivergence(bestRun.py[0] as Outcome, bestRun.fk[0] as FdkeeperOutcome) ?? d;
  for (let round = 0; round < rounds; round++) {
    const candidates: Sequence[] = [];
    for (let i = 0; i < best.ops.length; i++) {
      if (creates(best.ops[i] as Op)) continue;
      candidates.push({ ...best, ops: best.ops.filter((_, j) => j !== i) });
    }
    // Fewer initial files is simpler too.
    for (const name of Object.keys(best.init)) {
      const init = { ...best.init };
      delete init[name];
      candidates.push({ ...best, init });
    }
    if (candidates.length === 0) break;
    const run = await runBoth(candidates);
    let found = false;
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i] as Sequence;
      const r = check(c, run.py[i] as Outcome, run.fk[i] as FdkeeperOutcome);
      if (r !== undefined && r.known === undefined && kindOf(c, r.d) === kind) {
        best = r.d.step === 'files' ? c : { ...c, ops: c.ops.slice(0, r.d.step + 1) };
        bestRun = { py: [run.py[i] as Outcome], fk: [run.fk[i] as FdkeeperOutcome] };
        bestD = r.d;
        found = true;
        break;
      }
    }
    if (!found) break;
  }
  return { seq: best, d: bestD, py: bestRun.py[0] as Outcome, fk: bestRun.fk[0] as FdkeeperOutcome };
}

/** A readable report: the seed, the repro as Python lines with both sides' results, and the divergence. */
export function formatDivergence(seq: Sequence, d: Divergence, py: Outcome, fk: Outcome): string {
  const show = (s: Step | undefined): string => (s === undefined ? '—' : 'v' in s ? JSON.stringify(s.v) : `error ${s.e}`);
  const lines = [
    `seed ${seq.seed} (replay: FDKEEPER_PYDIFF_SEED=${seq.seed}), level ${seq.level}, fdkeeper ${seq.api} API`,
    `initial files: ${Object.entries(seq.init).map(([k, v]) => `${k}=${JSON.stringify(Buffer.from(v, 'hex').toString('latin1'))}`).join(', ') || 'none'}`,
  ];
  seq.ops.forEach((op, i) => {
    const mark = d.step === i ? '>>' : '  ';
    lines.push(`${mark} ${String(i).padStart(2)}  ${renderOp(seq, op, i).padEnd(48)}  py: ${show(py.steps[i])}  fdkeeper: ${show(fk.steps[i])}`);
  });
  if (d.step === 'files') {
    for (const name of seq.files) {
      const a = py.files[name];
      const b = fk.files[name];
      if (a !== b) lines.push(`final ${name}: py ${JSON.stringify(a)}  fdkeeper ${JSON.stringify(b)}`);
    }
  }
  return lines.join('\n');
}
