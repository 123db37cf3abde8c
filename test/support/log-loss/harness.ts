/**
 * The log loss harness of test/log-loss.test.ts (issue 5): one run = one writer child (writer.mjs) that
 * emits sequence-numbered lines through one contender at ≥ 20,000 lines/s, and one rotator child
 * (rotator.mjs) that rotates the file in one style at random intervals of 20–250 ms, each its own process,
 * on the real file system. When the writer has closed its log, the harness reads every file left in the
 * log directory and — through /proc/<rotator>/fd/<fd>, the rotator's own descriptors — the final content
 * of every inode the rotator removed or replaced, and hands all of it to {@link analyze}.
 *
 * The fdkeeper writer runs the built library (dist/): {@link assertLogDistFresh} refuses a stale one.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  analyze,
  type DiskFile,
  type LossAnalysis,
  type RotationEvent,
  type RotationStyle,
  type WriterReport,
} from './analysis.js';

export type { RotationStyle } from './analysis.js';

const WRITER = fileURLToPath(new URL('./writer.mjs', import.meta.url));
const ROTATOR = fileURLToPath(new URL('./rotator.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The writers: fdkeeper's LogFile, plain fs.createWriteStream (the naive row), the harness's reference. */
export type Contender = 'fdkeeper' | 'createWriteStream' | 'reference';

/** Every rotation style, in the issue's order (a)–(d). */
export const STYLES: readonly RotationStyle[] = ['rename', 'delete', 'replace', 'copytruncate'];

/** Options of {@link runLoss}. */
export interface LossRunOptions {
  readonly contender: Contender;
  readonly style: RotationStyle;
  /** How long the writer emits. */
  readonly durationMs: number;
  /** Lines per second. Default 25,000 (25 lines per 1 ms tick). */
  readonly rate?: number;
  /** Seed of the rotator's schedule (random when omitted; the result says which). */
  readonly seed?: number;
  /** The rotator's interval range. Default [20, 250] ms. */
  readonly intervalMs?: readonly [number, number];
  /** The writer's check interval (fdkeeper and reference). Default 100 ms, LogFile's default. */
  readonly checkInterval?: number;
  /** More openLog options for the fdkeeper writer. */
  readonly logOptions?: Readonly<Record<string, unknown>>;
  /** The contender's name in the table (default: the contender). */
  readonly label?: string;
  /** copytruncate without byte samples from the writer: how late a line may reach the file. Default 250 ms. */
  readonly fallbackLagMs?: number;
}

/** One row of the loss table, with everything needed to explain it. */
export interface LossRunResult extends LossAnalysis {
  readonly contender: Contender;
  /** The contender's name in the table. */
  readonly label: string;
  readonly style: RotationStyle;
  readonly seed: number;
  readonly durationMs: number;
  /** Lines per second the writer achieved over its emitting time. */
  readonly rate: number;
  readonly reopens: number;
  readonly dropped: number;
  readonly writerErrors: readonly string[];
  readonly maxStallMs: number;
  readonly files: number;
  readonly writer: WriterReport;
}

/** Throws when dist/ is missing or older than src/log or src/index.ts (the fdkeeper writer would run stale code). */
export function assertLogDistFresh(): void {
  const stale: string[] = [];
  const check = (rel: string): void => {
    // The build bundles every module into dist/index.js and its chunks (scripts/build.mjs).
    const out = path.join(ROOT, 'dist', 'index.js');
    let built = 0;
    try {
      built = fs.statSync(out).mtimeMs;
    } catch {
      // missing
    }
    if (built < fs.statSync(path.join(ROOT, rel)).mtimeMs) stale.push(rel);
  };
  const visit = (dir: string): void => {
    for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(rel);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) check(rel);
    }
  };
  visit('src/log');
  check('src/index.ts');
  if (stale.length > 0)
    throw new Error(
      `dist/ is older than ${stale.slice(0, 5).join(', ')}${stale.length > 5 ? '…' : ''}: run \`npm run build\` first (the log writer child runs the built library)`,
    );
}

/** The children's environment: no `--import tsx` (they are plain JavaScript and must start fast). */
function childEnv(): NodeJS.ProcessEnv {
  const nodeOptions = (process.env['NODE_OPTIONS'] ?? '').replace(/--import[= ]tsx\b/g, '').trim();
  return { ...process.env, NODE_OPTIONS: nodeOptions };
}

/** A child with its output collected, a way to wait for a marker on stdout, and its exit. */
interface Child {
  readonly process: ChildProcessWithoutNullStreams;
  /** Resolves once stdout has contained `marker` (rejects if the child exits first). */
  until(marker: string): Promise<void>;
  readonly stdout: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function start(script: string, config: unknown): Child {
  const child = spawn(process.execPath, [script, JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: childEnv(),
  });
  let out = '';
  let err = '';
  const waiters: { marker: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  const settle = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (out.includes(waiters[i]!.marker)) waiters.splice(i, 1)[0]!.resolve();
    }
  };
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    settle();
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  let closedWith: string | undefined;
  const failWaiters = (): void => {
    for (const w of waiters.splice(0))
      w.reject(
        new Error(
          `${path.basename(script)} exited (${closedWith ?? '?'}) before printing '${w.marker}': ${err.trim()}`,
        ),
      );
  };
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => {
      closedWith = String(code ?? signal);
      settle();
      failWaiters();
      resolve({ code, signal, stderr: err });
    });
  });
  return {
    process: child,
    stdout: () => out,
    exited,
    until: (marker) =>
      new Promise((resolve, reject) => {
        waiters.push({ marker, resolve, reject });
        settle();
        if (closedWith !== undefined) failWaiters();
      }),
  };
}

/** Rejects after `ms` with `what` in the message. */
function deadline(ms: number, what: string): { promise: Promise<never>; clear: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`log loss run: ${what} took longer than ${ms} ms`));
    }, ms);
  });
  promise.catch(() => undefined);
  return {
    promise,
    clear: () => {
      clearTimeout(timer);
    },
  };
}

/** Runs one writer against one rotation style; see the module comment. The temp directory is removed at the end. */
export async function runLoss(options: LossRunOptions): Promise<LossRunResult> {
  if (options.contender === 'fdkeeper') assertLogDistFresh();
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rate = options.rate ?? 25_000;
  const [minMs, maxMs] = options.intervalMs ?? [20, 250];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `fdkeeper-logloss-${options.style}-`));
  const logs = path.join(dir, 'logs');
  fs.mkdirSync(logs);
  const logPath = path.join(logs, 'app.log');
  const reportPath = path.join(dir, 'writer.json');
  const base = path.basename(logPath);
  const limit = deadline(options.durationMs + 120_000, `${options.contender} × ${options.style}`);
  let writer: Child | undefined;
  let rotator: Child | undefined;
  try {
    writer = start(WRITER, {
      contender: options.contender,
      path: logPath,
      durationMs: options.durationMs,
      rate,
      report: reportPath,
      checkInterval: options.checkInterval ?? 100,
      logOptions: options.logOptions ?? {},
    });
    await Promise.race([writer.until('R'), limit.promise]);
    rotator = start(ROTATOR, { style: options.style, path: logPath, seed, minMs, maxMs });
    await Promise.race([rotator.until('R'), limit.promise]);
    writer.process.stdin.write('go\n');
    await Promise.race([writer.until('E'), limit.promise]);
    writer.process.stdin.end();
    rotator.process.stdin.write('stop\n');
    await Promise.race([rotator.until('\n'), limit.promise]);
    const rotation = JSON.parse(rotator.stdout().slice(1).trim()) as { pid: number; events: RotationEvent[] };
    const writerExit = await Promise.race([writer.exited, limit.promise]);
    if (writerExit.code !== 0)
      throw new Error(
        `writer (${options.contender}) exited with ${String(writerExit.code ?? writerExit.signal)}: ${writerExit.stderr.trim()}`,
      );
    const report = JSON.parse(fs.readFileSync(reportPath, 'utf8')) as WriterReport;

    // Everything left in the log directory but the editor's temporaries (.app.log.swpN).
    const onDisk: DiskFile[] = [];
    for (const name of fs.readdirSync(logs).sort()) {
      if (name !== base && !name.startsWith(`${base}.`)) continue;
      const file = path.join(logs, name);
      onDisk.push({ name, ino: fs.statSync(file).ino, bytes: fs.readFileSync(file) });
    }
    // The removed inodes' final content, through the rotator's descriptors (it is still alive).
    const removed = new Map<number, Buffer>();
    for (const e of rotation.events) {
      if (e.fd !== undefined) removed.set(e.n, fs.readFileSync(`/proc/${rotation.pid}/fd/${e.fd}`));
    }
    rotator.process.stdin.end();
    const rotatorExit = await Promise.race([rotator.exited, limit.promise]);
    if (rotatorExit.code !== 0)
      throw new Error(
        `rotator exited with ${String(rotatorExit.code ?? rotatorExit.signal)}: ${rotatorExit.stderr.trim()}`,
      );

    const analysis = analyze({
      style: options.style,
      writer: report,
      events: rotation.events,
      onDisk,
      removed,
      fallbackLagMs: options.fallbackLagMs ?? 250,
    });
    return {
      ...analysis,
      contender: options.contender,
      label: options.label ?? options.contender,
      style: options.style,
      seed,
      durationMs: options.durationMs,
      rate: Math.round(report.written / ((report.emitEnd - report.start) / 1000)),
      reopens: report.reopens,
      dropped: report.dropped,
      writerErrors: report.errors,
      maxStallMs: report.maxStallMs,
      files: onDisk.length,
      writer: report,
    };
  } finally {
    limit.clear();
    for (const child of [writer, rotator]) {
      if (child !== undefined && child.process.exitCode === null && child.process.signalCode === null)
        child.process.kill('SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `tasks` with at most `limit` at a time, results in order. */
export async function inParallel<T>(limit: number, tasks: readonly (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, lane));
  return results;
}

/** The table header and one row per run, as printed in the test output and docs/logs.md. */
export function lossTable(results: readonly LossRunResult[]): string {
  const head = '| style | contender | written | lost | window-lost | duplicated | reopens | events | lines/s |';
  const rule = '|---|---|---:|---:|---:|---:|---:|---:|---:|';
  const rows = results.map(
    (r) =>
      `| ${r.style} | ${r.label} | ${r.written} | ${r.lost} | ${r.windowLost} | ${r.duplicated} | ${r.reopens} | ${r.events}${r.skippedEvents > 0 ? ` (+${r.skippedEvents} skipped)` : ''} | ${r.rate} |`,
  );
  return [head, rule, ...rows].join('\n');
}
