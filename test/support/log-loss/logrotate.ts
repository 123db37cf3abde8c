/**
 * The real-logrotate loss harness (issue 10): one writer child (logrotate-writer.mjs) logs
 * sequence-numbered records through one writer at `rate` records/s while this process runs the real
 * `logrotate -f -v -s state conf` every 100–500 ms (random, seeded) with one configuration. Afterwards
 * every file in the log directory is read (`.gz` ones decompressed) and each record counted: lost
 * (nowhere), duplicated (more than once), torn (a line that is not exactly one whole record). Every
 * logrotate run's exit status is kept, with its error lines, and how the writer ended.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { assertLogDistFresh } from './harness.js';
import { generator } from './line.mjs';

const WRITER = fileURLToPath(new URL('./logrotate-writer.mjs', import.meta.url));

/** The logrotate configurations of the issue's table. */
export type RotateConfig = 'create' | 'nocreate' | 'create+compress' | 'create+HUP' | 'copytruncate';
export const ROTATE_CONFIGS: readonly RotateConfig[] = [
  'create',
  'nocreate',
  'create+compress',
  'create+HUP',
  'copytruncate',
];

/** fdkeeper's writers, and the peers' own as plain controls. */
export type RotateWriter =
  'openLog' | 'pino-destination' | 'pino-transport' | 'winston' | 'pino-recipe' | 'winston-file';
export const FDKEEPER_WRITERS: readonly RotateWriter[] = ['openLog', 'pino-destination', 'pino-transport', 'winston'];
export const PLAIN_WRITERS: readonly RotateWriter[] = ['pino-recipe', 'winston-file'];

/** The table's names. */
export const WRITER_LABELS: Readonly<Record<RotateWriter, string>> = {
  openLog: 'openLog',
  'pino-destination': 'pino + logDestination',
  'pino-transport': 'pino transport fdkeeper/pino',
  winston: 'winston + LogTransport',
  'pino-recipe': "pino.destination + reopen() on SIGHUP (pino's recipe)",
  'winston-file': "winston's File transport",
};

function which(cmd: string): string | undefined {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin', ...(process.env['PATH'] ?? '').split(':')]) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

/**
 * The logrotate binary, installed with apt-get when it is missing and we are root on a Debian-like
 * system. Returns the path, or the reason it cannot be had (the tests skip with it).
 */
export function ensureLogrotate(): { path: string } | { skip: string } {
  const found = which('logrotate');
  if (found !== undefined) return { path: found };
  if (process.platform !== 'linux') return { skip: 'logrotate is a Linux tool and is not installed here' };
  if (process.getuid?.() !== 0 || which('apt-get') === undefined)
    return { skip: 'logrotate is not installed and cannot be (needs root and apt-get: `apt-get install logrotate`)' };
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'logrotate'], {
    stdio: 'ignore',
    env,
    timeout: 300_000,
  });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: 300_000 });
    r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'logrotate'], {
      stdio: 'ignore',
      env,
      timeout: 300_000,
    });
  }
  const after = which('logrotate');
  return after !== undefined
    ? { path: after }
    : { skip: `logrotate is not installed and apt-get install logrotate failed (status ${String(r.status)})` };
}

/**
 * The configuration file's text for `config`, rotating `log`; `pid` is the writer's (for the HUP); `keep`
 * rotated files are kept (more than the run can make: none is deleted, and logrotate's run time, which
 * grows with the count, stays short).
 */
export function configText(config: RotateConfig, log: string, pid: number, keep: number): string {
  const body = [`rotate ${keep}`, 'missingok'];
  if (config === 'create') body.push('create');
  if (config === 'nocreate') body.push('nocreate');
  if (config === 'create+compress') body.push('create', 'compress');
  if (config === 'create+HUP') body.push('create', 'postrotate', `  kill -HUP ${pid}`, 'endscript');
  if (config === 'copytruncate') body.push('copytruncate');
  return `${log} {\n${body.map((l) => `  ${l}`).join('\n')}\n}\n`;
}

/** Options of {@link runLogrotate}. */
export interface RotateRunOptions {
  readonly logrotate: string;
  readonly writer: RotateWriter;
  readonly config: RotateConfig;
  readonly durationMs: number;
  /** Records per second. Default 10,000. */
  readonly rate?: number;
  /** The rotation interval range. Default [100, 500] ms. */
  readonly intervalMs?: readonly [number, number];
  readonly seed?: number;
  /** More options for the fdkeeper writers' LogFile (the old behaviour's row: `{ renameGrace: 0 }`). */
  readonly logOptions?: Readonly<Record<string, unknown>>;
  /** The row's name (default: the writer's). */
  readonly label?: string;
}

/** One logrotate run that did not exit 0. */
export interface FailedRotation {
  readonly status: number | null;
  /** Its lines that say error (or the last lines). */
  readonly errors: string;
}

/** One row of the table. */
export interface RotateRunResult {
  readonly label: string;
  readonly writer: RotateWriter;
  readonly config: RotateConfig;
  readonly seed: number;
  readonly written: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly torn: number;
  readonly rotations: number;
  readonly failedRotations: readonly FailedRotation[];
  /** How the writer ended: 'exit 0', 'exit 1', 'SIGHUP'… */
  readonly writerEnd: string;
  readonly writerErrors: readonly string[];
  readonly files: number;
  /** Files logrotate's create step made of a file it found in its way (`*.backup`). */
  readonly backups: number;
  readonly rate: number;
  readonly maxStallMs: number;
}

const RECORD = /S(\d{9}):\.{60}:E/g;

/** Counts every record in `content`; returns the torn lines (not exactly one whole record). */
function scan(content: string, counts: Uint32Array): number {
  let torn = 0;
  const lines = content.split('\n');
  // The text after the last newline is a partial line unless it is empty.
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const found = [...line.matchAll(RECORD)];
    for (const m of found) {
      const seq = Number(m[1]);
      if (seq < counts.length) counts[seq]!++;
    }
    const whole = i < lines.length - 1 && found.length === 1 && (line === found[0]![0] || isJsonRecord(line));
    if (!whole) torn++;
  }
  return torn;
}

function isJsonRecord(line: string): boolean {
  if (!line.startsWith('{') || !line.endsWith('}')) return false;
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

function childEnv(): NodeJS.ProcessEnv {
  const nodeOptions = (process.env['NODE_OPTIONS'] ?? '').replace(/--import[= ]tsx\b/g, '').trim();
  return { ...process.env, NODE_OPTIONS: nodeOptions };
}

function rotateOnce(
  logrotate: string,
  state: string,
  conf: string,
): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile(
      logrotate,
      ['-f', '-v', '-s', state, conf],
      { timeout: 60_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const status = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ status, output: `${stdout}${stderr}` });
      },
    );
  });
}

/** Runs one writer under the real logrotate with one configuration; the temp directory is removed at the end. */
export async function runLogrotate(o: RotateRunOptions): Promise<RotateRunResult> {
  if (FDKEEPER_WRITERS.includes(o.writer)) assertLogDistFresh();
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rand = generator(seed);
  const rate = o.rate ?? 10_000;
  const [minMs, maxMs] = o.intervalMs ?? [100, 500];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-logrotate-'));
  const logs = path.join(dir, 'logs');
  fs.mkdirSync(logs);
  const log = path.join(logs, 'app.log');
  const conf = path.join(dir, 'logrotate.conf');
  const state = path.join(dir, 'state');
  const report = path.join(dir, 'writer.json');
  const child = spawn(
    process.execPath,
    [
      WRITER,
      JSON.stringify({
        writer: o.writer,
        path: log,
        rate,
        durationMs: o.durationMs,
        report,
        logOptions: o.logOptions ?? {},
      }),
    ],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: childEnv(),
    },
  );
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  child.stdin.on('error', () => undefined); // a writer killed by a HUP has closed its end
  const exited = new Promise<string>((resolve) => {
    child.on('close', (code, signal) => {
      resolve(signal !== null ? signal : `exit ${String(code)}`);
    });
  });
  // How the writer ended, once it has (set from the exit callback).
  const end: { how: string | undefined } = { how: undefined };
  void exited.then((e) => (end.how = e));
  const running = (): boolean => end.how === undefined;
  const until = async (marker: string, ms: number): Promise<void> => {
    const limit = Date.now() + ms;
    while (!out.includes(marker)) {
      if (end.how !== undefined) return;
      if (Date.now() > limit)
        throw new Error(
          `logrotate run: the writer (${o.writer}) did not print '${marker}' within ${ms} ms: ${err.trim()}`,
        );
      await delay(5);
    }
  };
  try {
    await until('R', 60_000);
    if (end.how !== undefined)
      throw new Error(`the writer (${o.writer}) ended (${end.how}) before it was ready: ${err.trim()}`);
    fs.writeFileSync(conf, configText(o.config, log, child.pid!, Math.ceil(o.durationMs / minMs) + 20));
    child.stdin.write('go\n');
    const failed: FailedRotation[] = [];
    let rotations = 0;
    while (!out.includes('E') && running()) {
      await delay(minMs + rand() * (maxMs - minMs));
      if (out.includes('E') || !running()) break;
      const r = await rotateOnce(o.logrotate, state, conf);
      rotations++;
      if (r.status !== 0) {
        const lines = r.output.split('\n').filter((l) => /error/i.test(l));
        failed.push({
          status: r.status,
          errors: (lines.length > 0 ? lines : r.output.split('\n').slice(-5)).join('\n'),
        });
      }
    }
    child.stdin.end('close\n');
    const writerEnd = await Promise.race([exited, delay(120_000, undefined, { ref: false }).then(() => 'timeout')]);
    let written = 0;
    let rateDone = 0;
    let maxStallMs = 0;
    let writerErrors: string[] = [];
    if (fs.existsSync(report)) {
      const rep = JSON.parse(fs.readFileSync(report, 'utf8')) as {
        written: number;
        emitMs: number;
        maxStallMs: number;
        errors: string[];
      };
      written = rep.written;
      rateDone = Math.round(rep.written / (rep.emitMs / 1000));
      maxStallMs = rep.maxStallMs;
      writerErrors = rep.errors;
    } else {
      // Killed before its report: count what it must have emitted by the time it died, at least.
      written = Math.round((o.durationMs * rate) / 1000);
    }
    const counts = new Uint32Array(written);
    let torn = 0;
    let backups = 0;
    const names = fs.readdirSync(logs);
    for (const name of names) {
      const file = path.join(logs, name);
      let bytes = fs.readFileSync(file);
      if (name.endsWith('.gz')) {
        try {
          bytes = zlib.gunzipSync(bytes);
        } catch {
          torn++;
          continue;
        }
      }
      if (name.endsWith('.backup')) backups++;
      torn += scan(bytes.toString('latin1'), counts);
    }
    let lost = 0;
    let duplicated = 0;
    for (const c of counts) {
      if (c === 0) lost++;
      else duplicated += c - 1;
    }
    return {
      label: o.label ?? WRITER_LABELS[o.writer],
      writer: o.writer,
      config: o.config,
      seed,
      written,
      lost,
      duplicated,
      torn,
      rotations,
      failedRotations: failed,
      writerEnd,
      writerErrors,
      files: names.length,
      backups,
      rate: rateDone,
      maxStallMs,
    };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The table, as in docs/logs.md. */
export function rotateTable(results: readonly RotateRunResult[]): string {
  const head =
    '| config | writer | written | lost | duplicated | torn | logrotate runs (failed) | writer ended | lines/s | seed |';
  const rule = '|---|---|--:|--:|--:|--:|--:|---|--:|--:|';
  const rows = results.map(
    (r) =>
      `| ${r.config} | ${r.label} | ${r.written} | ${r.lost} | ${r.duplicated} | ${r.torn} | ${r.rotations} (${r.failedRotations.length}) | ${r.writerEnd} | ${r.rate} | ${r.seed} |`,
  );
  return [head, rule, ...rows].join('\n');
}
