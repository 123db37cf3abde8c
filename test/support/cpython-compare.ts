/**
 * Running batches through CPython and fdkeeper, comparing them step by step, classifying divergences
 * (only undefined behaviour: no known bug is allow-listed) and shrinking an unexplained one to a short repro.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { runFdkeeper, type FdkeeperOutcome, type Outcome, type Step } from './cpython-fdkeeper.js';
import { handleOpen, renderOp, type Op, type Sequence } from './cpython-sequences.js';

const RUNNER = new URL('./cpython-runner.py', import.meta.url).pathname;

/**
 * Runs `seqs` in one python3 process; resolves, once it has exited, with a function reading its outcomes
 * (one per sequence; call it when no fdkeeper sequence is running). Its stdin, stdout and
 * stderr are files whose descriptors this process closes right after the spawn: a pipe closing while
 * fdkeeper runs a sequence here would free a number below the sequence's base and shift its numbers.
 */
export function runPython(seqs: readonly Sequence[], root: string): Promise<() => Outcome[]> {
  const input = join(root, 'input.json');
  const output = join(root, 'output.json');
  const errors = join(root, 'stderr.txt');
  fs.writeFileSync(input, JSON.stringify({ root, sequences: seqs }));
  const stdio = [fs.openSync(input, 'r'), fs.openSync(output, 'w'), fs.openSync(errors, 'w')];
  let child;
  try {
    child = spawn('python3', [RUNNER], { stdio });
  } finally {
    for (const fd of stdio) fs.closeSync(fd);
  }
  // The exit handler only records the code: reading the output here could run while fdkeeper waits for
  // an open on the thread pool, and the descriptor it takes for a moment would shift that open's number.
  return new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', resolve);
  }).then((code) => {
    if (code !== 0)
      throw new Error(`cpython-runner.py exited with ${String(code)}: ${fs.readFileSync(errors, 'utf8')}`);
    return (): Outcome[] => JSON.parse(fs.readFileSync(output, 'utf8')) as Outcome[];
  });
}

/** How many sequences were run again because something else in the process freed a number under them. */
export const rerun = { count: 0 };

/** Runs `seqs` through fdkeeper, each in `root/<index>` (a rerun in `root/<index>.<attempt>`). */
export async function runFdkeeperBatch(seqs: readonly Sequence[], root: string): Promise<FdkeeperOutcome[]> {
  const out: FdkeeperOutcome[] = [];
  for (let i = 0; i < seqs.length; i++) {
    let result: FdkeeperOutcome | undefined;
    for (let attempt = 0; attempt < 3 && (result === undefined || result.interfered); attempt++) {
      if (attempt > 0) rerun.count++;
      const dir = join(root, attempt === 0 ? String(i) : `${i}.${attempt}`);
      fs.mkdirSync(dir);
      result = await runFdkeeper(seqs[i] as Sequence, dir);
    }
    out.push(result as FdkeeperOutcome);
  }
  return out;
}

/** Both sides of a batch: CPython in its own process while fdkeeper runs here. */
export async function runBoth(seqs: readonly Sequence[]): Promise<{ py: Outcome[]; fk: FdkeeperOutcome[] }> {
  const pyRoot = fs.mkdtempSync(join(os.tmpdir(), 'fdkeeper-pydiff-py-'));
  const fkRoot = fs.mkdtempSync(join(os.tmpdir(), 'fdkeeper-pydiff-fk-'));
  const pyDone = runPython(seqs, pyRoot);
  try {
    const fk = await runFdkeeperBatch(seqs, fkRoot);
    return { py: (await pyDone)(), fk };
  } finally {
    await pyDone.catch(() => undefined); // never remove its directory under it
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
 * reports it as 'opaque-cookie') is not a byte offset; any successful tell() matches it. (A seek to such
 * a cookie is a stop, see {@link UNDEFINED_STOPS}: CPython then writes after the bytes it re-decoded.)
 */
function sameStep(op: Op | undefined, py: Step, fk: Step): boolean {
  const tell = op?.[0] === 'tell' || (op?.[0] === 'seek' && op[3] === 1);
  if (tell && 'v' in py && py.v === 'opaque-cookie' && 'v' in fk && typeof fk.v === 'number') return true;
  return isDeepStrictEqual(py, fk);
}

/** The first difference between the two outcomes of `seq` at or after step `from`, or undefined. */
export function firstDivergence(seq: Sequence, py: Outcome, fk: Outcome, from = 0): Divergence | undefined {
  const n = Math.max(py.steps.length, fk.steps.length);
  for (let i = from; i < n; i++) {
    const a = py.steps[i];
    const b = fk.steps[i];
    if (a === undefined || b === undefined || !sameStep(seq.ops[i], a, b)) return { step: i, py: a, fk: b };
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
  /**
   * True when the bug shows only in the step's own result (a return value, an error code) and changes
   * no state: the comparison then goes on after it. Otherwise it stops at the step.
   */
  continues?: boolean;
  matches(c: DivergenceContext): boolean;
}

/**
 * Divergences that are not bugs on either side, where the comparison of a sequence stops (counted and
 * printed by the test; docs/design.md lists them).
 */
export const UNDEFINED_STOPS: readonly KnownBug[] = [
  {
    id: 'N2',
    why: "seek(tell()) where CPython's tell() is a cookie with decoder state: CPython re-decodes bytes after the position to restore that state and leaves its buffer after them, so a write that follows lands later than the position; fdkeeper's tell() is the byte offset",
    matches: (c) => c.op?.[0] === 'seektell' && isDeepStrictEqual(c.d.py, { v: 'opaque-cookie' }),
  },
  {
    id: 'N7',
    why: "when a strict decode error is raised is implementation-defined: each side decodes what it has read ahead at once (CPython 8 KiB chunks, fdkeeper a buffer's worth), so one may fail a read that the other still answers from the valid bytes before the bad one",
    matches: (c) => {
      const op = c.op;
      if (op === undefined || (op[0] !== 'read' && op[0] !== 'readline')) return false;
      const open = handleOpen(c.seq, op[1]);
      if (open === undefined || open[2].includes('b') || open[3].errors !== 'strict') return false;
      const failed = (s: unknown): boolean => isDeepStrictEqual(s, { e: 'EILSEQ' });
      const answered = (s: unknown): boolean =>
        typeof s === 'object' && s !== null && 'v' in s && typeof s.v === 'string';
      return (failed(c.d.py) && answered(c.d.fk)) || (failed(c.d.fk) && answered(c.d.py));
    },
  },
];

/** The allow-list entry explaining a divergence, if any. */
export function classify(c: DivergenceContext): KnownBug | undefined {
  return UNDEFINED_STOPS.find((b) => b.matches(c));
}

/** Compares one sequence: undefined when equal, else the divergence and its classification. */
/**
 * Compares one sequence. `passed` lists the known bugs the comparison went on past ({@link KnownBug.continues});
 * `stop` is where it ended early: a divergence with its classification (undefined `known`: a failure).
 */
export function check(
  seq: Sequence,
  py: Outcome,
  fk: FdkeeperOutcome,
): { passed: KnownBug[]; stop: { d: Divergence; known: KnownBug | undefined } | undefined } {
  const passed: KnownBug[] = [];
  let from = 0;
  for (;;) {
    const d = firstDivergence(seq, py, fk, from);
    if (d === undefined) return { passed, stop: undefined };
    const op = d.step === 'files' ? undefined : seq.ops[d.step];
    const known = classify({ seq, d, op, fk });
    if (known?.continues !== true || d.step === 'files') return { passed, stop: { d, known } };
    passed.push(known);
    from = d.step + 1;
  }
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
export async function shrink(
  seq: Sequence,
  d: Divergence,
  rounds = 25,
): Promise<{ seq: Sequence; d: Divergence; py: Outcome; fk: FdkeeperOutcome }> {
  const kindOf = (s: Sequence, x: Divergence): string => (x.step === 'files' ? 'files' : (s.ops[x.step] as Op)[0]);
  const kind = kindOf(seq, d);
  let best = { ...seq, ops: d.step === 'files' ? seq.ops : seq.ops.slice(0, d.step + 1) };
  let bestRun = await runBoth([best]);
  let bestD = firstDivergence(best, bestRun.py[0] as Outcome, bestRun.fk[0] as FdkeeperOutcome) ?? d;
  for (let round = 0; round < rounds; round++) {
    const candidates: Sequence[] = [];
    for (let i = 0; i < best.ops.length; i++) {
      const k = (best.ops[i] as Op)[0];
      // Keep what makes handles, and the flushes and seek(tell()) the generator's rules put in.
      if (creates(best.ops[i] as Op) || k === 'flush' || k === 'seektell') continue;
      candidates.push({ ...best, ops: best.ops.filter((_, j) => j !== i) });
    }
    // Fewer initial files is simpler too.
    for (const name of Object.keys(best.init)) {
      candidates.push({ ...best, init: Object.fromEntries(Object.entries(best.init).filter(([k]) => k !== name)) });
    }
    if (candidates.length === 0) break;
    const run = await runBoth(candidates);
    let found = false;
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i] as Sequence;
      const r = check(c, run.py[i] as Outcome, run.fk[i] as FdkeeperOutcome).stop;
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
  const show = (s: Step | undefined): string =>
    s === undefined ? '—' : 'v' in s ? JSON.stringify(s.v) : `error ${s.e}`;
  const lines = [
    `seed ${seq.seed} (replay: FDKEEPER_PYDIFF_SEED=${seq.seed}), level ${seq.level}, fdkeeper ${seq.api} API`,
    `initial files: ${
      Object.entries(seq.init)
        .map(([k, v]) => `${k}=${JSON.stringify(Buffer.from(v, 'hex').toString('latin1'))}`)
        .join(', ') || 'none'
    }`,
  ];
  seq.ops.forEach((op, i) => {
    const mark = d.step === i ? '>>' : '  ';
    lines.push(
      `${mark} ${String(i).padStart(2)}  ${renderOp(seq, op, i).padEnd(48)}  py: ${show(py.steps[i])}  fdkeeper: ${show(fk.steps[i])}`,
    );
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
