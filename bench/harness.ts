/**
 * The benchmark harness: groups of contenders timed in one process, contender order rotated (and
 * reversed every other round) between rounds, medians over rounds, ratios against named baselines.
 *
 * Everything here is generic; `bench/cases/*.ts` supply the groups. A group is one printed table with
 * one primary baseline (usually the raw node:fs way of doing the same thing).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

// ================================================================ model

/** What a contender's `run` returns: a count (bytes, lines, ops…) checked against the group's `expect`. */
export type RunResult = number;

/** One way of doing a group's operation. */
export interface Contender {
  /** Shown in the table; also how baselines and targets refer to it. Unique within its group. */
  readonly name: string;
  /** A short label for ratio column headers when this contender is a baseline (default: `name`). */
  readonly short?: string;
  /** Prepares state (opens files…) before the group's warm-up; untimed. */
  setup?(): void | Promise<void>;
  /** Resets state before every timed sample (truncates a file, seeks to 0…); untimed. */
  beforeSample?(): void | Promise<void>;
  /** Performs the operation `iterations` times; returns a count the group checks. Timed. */
  run(iterations: number): RunResult | Promise<RunResult>;
  /** Extra check after every sample (content checksums…); returns an error message or undefined. Untimed. */
  check?(iterations: number): string | undefined;
  /** Releases what `setup` took; untimed. */
  teardown?(): void | Promise<void>;
}

/** A ratio a contender must meet against a baseline. */
export interface Target {
  readonly contender: string;
  /** The baseline it is measured against; default the group's primary baseline. */
  readonly vs?: string;
  /** Latency groups: the time ratio must be at most this. */
  readonly atMost?: number;
  /** Throughput groups: the speed ratio must be at least this. */
  readonly atLeast?: number;
  /** Where the target comes from (shown next to the verdict). */
  readonly source?: string;
}

/**
 * One table. `latency` groups report ns per operation and time ratios (contender ÷ baseline, lower
 * is better); `throughput` groups report MB/s (and items/s) and speed ratios (higher is better).
 */
export interface Group {
  /** Short id, used by `--only` and in the JSON output. */
  readonly id: string;
  readonly title: string;
  /** One or two sentences: what exactly one operation is. */
  readonly about: string;
  readonly kind: 'latency' | 'throughput';
  /** Bytes one operation moves (throughput groups: gives MB/s). */
  readonly bytesPerOp?: number;
  /** Items one operation yields, e.g. `{ count: 1_000_000, unit: 'lines' }` (gives items/s). */
  readonly itemsPerOp?: { readonly count: number; readonly unit: string };
  /** Contender names whose ratios get a column; the first is the primary baseline (targets, sorting). */
  readonly baselines: readonly string[];
  readonly contenders: readonly Contender[];
  /** What `run(n)` must return; a mismatch aborts the benchmark (a benchmark that reads nothing is worthless). */
  readonly expect?: (iterations: number) => number;
  /** Iterations per sample; default: calibrated on the primary baseline to last `sampleMs`. */
  readonly iterations?: number;
  /**
   * `'baseline'` (default): every contender does the primary baseline's calibrated iteration count, so
   * all do the same work per sample. `'each'`: every contender is calibrated on its own (for groups whose
   * contenders differ by orders of magnitude).
   */
  readonly calibrate?: 'baseline' | 'each';
  /** Whether to print ratio columns (default true; false when only the Δ ns/op column means something). */
  readonly showRatios?: boolean;
  readonly targets?: readonly Target[];
  /** Notes printed under the table. */
  readonly notes?: readonly string[];
  setup?(): void | Promise<void>;
  teardown?(): void | Promise<void>;
}

/** What a case module gets to build its groups with. */
export interface BenchContext {
  /** A fresh temp directory, removed at the end. */
  readonly dir: string;
  readonly quick: boolean;
  /** Memoised fixture builder: the first call with `key` builds, later ones reuse (across cases). */
  fixture<T>(key: string, build: () => T | Promise<T>): Promise<T>;
}

/** A module under `bench/cases/`: a name and group ids (for `--only`, known before anything is built) and its groups. */
export interface BenchCase {
  readonly name: string;
  readonly groupIds: readonly string[];
  readonly groups: (ctx: BenchContext) => Promise<readonly Group[]> | readonly Group[];
}

export interface HarnessOptions {
  readonly rounds: number;
  /** Target duration of one timed sample. */
  readonly sampleMs: number;
  readonly quick: boolean;
  /** Progress lines (per round and sample) go here; tables go to stdout. */
  readonly log: (line: string) => void;
}

// ================================================================ results

export interface ContenderResult {
  readonly name: string;
  /** ns per operation, one per round, in round order. */
  readonly samples: number[];
  /** Wall time of each sample in ms (for judging sample length). */
  readonly sampleMs: number[];
  median: number;
  min: number;
  max: number;
  /** Ratio per baseline name: median over rounds of the per-round ratio (see {@link ratioOf}). */
  readonly ratios: Record<string, number>;
  /** Latency groups: ns/op minus the primary baseline's, median over rounds of the per-round difference. */
  delta: number;
}

export interface TargetResult {
  readonly contender: string;
  readonly vs: string;
  readonly bound: number;
  readonly relation: '<=' | '>=';
  readonly ratio: number;
  readonly met: boolean;
  readonly source: string | undefined;
}

export interface GroupResult {
  readonly id: string;
  readonly title: string;
  readonly about: string;
  readonly kind: Group['kind'];
  /** Iterations per sample, by contender name. */
  readonly iterations: Record<string, number>;
  readonly showRatios: boolean;
  readonly bytesPerOp: number | undefined;
  readonly itemsPerOp: Group['itemsPerOp'];
  readonly baselines: readonly string[];
  /** Column labels of the baselines. */
  readonly baselineLabels: readonly string[];
  readonly orders: string[][];
  readonly contenders: ContenderResult[];
  readonly targets: TargetResult[];
  readonly notes: readonly string[];
}

// ================================================================ statistics

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Ratio of a contender to a baseline, paired by round: each round's contender time over the same
 * round's baseline time (or, for throughput, the inverse: a speed ratio), then the median. Pairing by
 * round cancels most of the slow drift of a shared machine, which medians of each side alone do not.
 */
export function ratioOf(kind: Group['kind'], contender: readonly number[], baseline: readonly number[]): number {
  const per = contender.map((c, i) => (kind === 'latency' ? c / baseline[i]! : baseline[i]! / c));
  return median(per);
}

/** The order of contenders in round `r`: rotated by `r`, and reversed in odd rounds. */
export function roundOrder<T>(items: readonly T[], r: number): T[] {
  const k = items.length === 0 ? 0 : r % items.length;
  const order = [...items.slice(k), ...items.slice(0, k)];
  return r % 2 === 1 ? order.reverse() : order;
}

// ================================================================ gc

let gcFn: (() => void) | undefined;

/** A full collection between samples, so one contender's garbage is not collected on another's time. */
export function collectGarbage(): void {
  if (gcFn === undefined) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  }
  gcFn();
}

// ================================================================ running

const now = (): bigint => process.hrtime.bigint();

async function timeRun(c: Contender, iterations: number): Promise<{ ns: number; result: RunResult }> {
  const t0 = now();
  const r = c.run(iterations);
  const result = typeof r === 'number' ? r : await r;
  const t1 = now();
  return { ns: Number(t1 - t0), result };
}

function verify(group: Group, c: Contender, iterations: number, result: RunResult, when: string): void {
  const problems: string[] = [];
  if (!Number.isFinite(result)) problems.push(`run() returned ${String(result)}`);
  if (group.expect !== undefined) {
    const want = group.expect(iterations);
    if (result !== want) problems.push(`run(${iterations}) returned ${result}, expected ${want}`);
  }
  const extra = c.check?.(iterations);
  if (extra !== undefined) problems.push(extra);
  if (problems.length > 0) throw new Error(`[${group.id}] ${c.name} (${when}): ${problems.join('; ')}`);
}

/** Doubles the iteration count until a run lasts long enough to scale it to `sampleMs`. */
async function calibrate(group: Group, c: Contender, sampleMs: number): Promise<number> {
  let n = 1;
  for (;;) {
    await c.beforeSample?.();
    const { ns, result } = await timeRun(c, n);
    verify(group, c, n, result, 'calibration');
    const ms = ns / 1e6;
    if (ms >= sampleMs) return n;
    if (ms >= Math.min(50, sampleMs / 4)) return Math.max(1, Math.ceil((n * sampleMs) / ms));
    if (n >= 2 ** 32)
      throw new Error(`[${group.id}] ${c.name}: ${n} iterations take ${ms.toFixed(3)} ms; does run() loop?`);
    n *= ms < 1 ? 8 : 2;
  }
}

/** Runs one group: setup, calibration, warm-up of every contender, rounds, teardown. */
export async function runGroup(group: Group, opts: HarnessOptions): Promise<GroupResult> {
  const byName = new Map(group.contenders.map((c) => [c.name, c]));
  if (byName.size !== group.contenders.length) throw new Error(`[${group.id}] duplicate contender names`);
  for (const b of group.baselines) if (!byName.has(b)) throw new Error(`[${group.id}] unknown baseline '${b}'`);
  for (const t of group.targets ?? []) {
    if (!byName.has(t.contender)) throw new Error(`[${group.id}] target names unknown contender '${t.contender}'`);
    if (t.vs !== undefined && !group.baselines.includes(t.vs))
      throw new Error(`[${group.id}] target baseline '${t.vs}' is not a baseline of the group`);
  }
  const primary = group.baselines[0];
  if (primary === undefined) throw new Error(`[${group.id}] needs at least one baseline`);

  await group.setup?.();
  const setUp: Contender[] = [];
  try {
    for (const c of group.contenders) {
      await c.setup?.();
      setUp.push(c);
    }

    // Calibrate on the primary baseline (every contender then does the same work per sample), or each
    // contender on its own.
    const iterations: Record<string, number> = {};
    if (group.iterations !== undefined) {
      for (const c of group.contenders) iterations[c.name] = group.iterations;
    } else if (group.calibrate === 'each') {
      for (const c of group.contenders) iterations[c.name] = await calibrate(group, c, opts.sampleMs);
    } else {
      const n = await calibrate(group, byName.get(primary)!, opts.sampleMs);
      for (const c of group.contenders) iterations[c.name] = n;
    }
    const counts = [...new Set(Object.values(iterations))];
    opts.log(
      `[${group.id}] ${counts.length === 1 ? String(counts[0]) : 'calibrated per contender:'} iteration(s) per sample; warming up ${group.contenders.length} contenders`,
    );

    // Warm-up: one full sample per contender (JIT, page cache, lazily built state), verified.
    for (const c of group.contenders) {
      await c.beforeSample?.();
      const n = iterations[c.name]!;
      const { result } = await timeRun(c, n);
      verify(group, c, n, result, 'warm-up');
    }

    const samples = new Map<string, { ns: number[]; ms: number[] }>(
      group.contenders.map((c) => [c.name, { ns: [], ms: [] }]),
    );
    const orders: string[][] = [];
    for (let r = 0; r < opts.rounds; r++) {
      const order = roundOrder(group.contenders, r);
      orders.push(order.map((c) => c.name));
      const parts: string[] = [];
      for (const c of order) {
        await c.beforeSample?.();
        collectGarbage();
        const n = iterations[c.name]!;
        const { ns, result } = await timeRun(c, n);
        verify(group, c, n, result, `round ${r + 1}`);
        const s = samples.get(c.name)!;
        s.ns.push(ns / n);
        s.ms.push(ns / 1e6);
        parts.push(`${c.name}=${formatPrimary(group, ns / n)}`);
      }
      opts.log(`[${group.id}] round ${r + 1}/${opts.rounds}: ${parts.join(' | ')}`);
    }

    const contenders: ContenderResult[] = group.contenders.map((c) => {
      const s = samples.get(c.name)!;
      return {
        name: c.name,
        samples: s.ns,
        sampleMs: s.ms,
        median: median(s.ns),
        min: Math.min(...s.ns),
        max: Math.max(...s.ns),
        ratios: {},
        delta: 0,
      };
    });
    const resultOf = new Map(contenders.map((c) => [c.name, c]));
    const baseSamples = resultOf.get(primary)!.samples;
    for (const c of contenders) {
      for (const b of group.baselines) c.ratios[b] = ratioOf(group.kind, c.samples, resultOf.get(b)!.samples);
      c.delta = median(c.samples.map((x, i) => x - baseSamples[i]!));
    }
    const targets: TargetResult[] = (group.targets ?? []).map((t) => {
      const vs = t.vs ?? primary;
      const ratio = resultOf.get(t.contender)!.ratios[vs]!;
      const relation = t.atMost !== undefined ? '<=' : '>=';
      const bound = t.atMost ?? t.atLeast ?? NaN;
      return {
        contender: t.contender,
        vs,
        bound,
        relation,
        ratio,
        met: relation === '<=' ? ratio <= bound : ratio >= bound,
        source: t.source,
      };
    });
    return {
      id: group.id,
      title: group.title,
      about: group.about,
      kind: group.kind,
      iterations,
      showRatios: group.showRatios ?? true,
      bytesPerOp: group.bytesPerOp,
      itemsPerOp: group.itemsPerOp,
      baselines: group.baselines,
      baselineLabels: group.baselines.map((b) => byName.get(b)!.short ?? b),
      orders,
      contenders,
      targets,
      notes: group.notes ?? [],
    };
  } finally {
    for (const c of setUp.reverse()) await c.teardown?.();
    await group.teardown?.();
  }
}

// ================================================================ formatting

function groupDigits(n: number, digits: number): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** ns/op for latency groups, MB/s for throughput groups with a byte count, else ops/s. */
function formatPrimary(group: Pick<Group, 'kind' | 'bytesPerOp'>, nsPerOp: number): string {
  if (group.kind === 'latency') return `${groupDigits(nsPerOp, nsPerOp < 100 ? 1 : 0)} ns`;
  if (group.bytesPerOp !== undefined) return `${groupDigits((group.bytesPerOp / nsPerOp) * 1e3, 0)} MB/s`;
  return `${groupDigits(1e9 / nsPerOp, 1)} ops/s`;
}

function formatRate(perOp: number, nsPerOp: number): string {
  const perSec = (perOp / nsPerOp) * 1e9;
  if (perSec >= 1e6) return `${groupDigits(perSec / 1e6, 2)} M`;
  if (perSec >= 1e3) return `${groupDigits(perSec / 1e3, 1)} k`;
  return groupDigits(perSec, 0);
}

export function formatRatio(r: number, digits = 2): string {
  return Number.isFinite(r) ? `${r.toFixed(digits)}×` : '?';
}

/** A GitHub-flavoured markdown table with padded columns; `align` per column: 'l' or 'r'. */
export function markdownTable(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly ('l' | 'r')[],
): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const cell = (s: string, i: number): string => (align[i] === 'r' ? s.padStart(widths[i]!) : s.padEnd(widths[i]!));
  const lines = [
    `| ${head.map(cell).join(' | ')} |`,
    `|${widths.map((w, i) => (align[i] === 'r' ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** The printed form of one group: heading, what one op is, the table, targets, notes. */
export function formatGroup(g: GroupResult): string {
  const latency = g.kind === 'latency';
  const head = ['contender', latency ? 'median ns/op' : g.bytesPerOp !== undefined ? 'median MB/s' : 'median ops/s'];
  const align: ('l' | 'r')[] = ['l', 'r'];
  if (g.itemsPerOp !== undefined) {
    head.push(`${g.itemsPerOp.unit}/s`);
    align.push('r');
  }
  head.push('range');
  align.push('r');
  if (latency) {
    head.push(`Δ ns/op vs ${g.baselineLabels[0]!}`);
    align.push('r');
  }
  const ratioBaselines = g.showRatios ? g.baselines : [];
  for (const b of ratioBaselines.map((_, i) => g.baselineLabels[i]!)) {
    head.push(`${latency ? 'time' : 'speed'} ÷ ${b}`);
    align.push('r');
  }
  const base = g.contenders.find((c) => c.name === g.baselines[0])!;
  const rows = g.contenders.map((c) => {
    const row = [c.name, formatPrimary(g, c.median).replace(/ (ns|MB\/s|ops\/s)$/, '')];
    if (g.itemsPerOp !== undefined) row.push(formatRate(g.itemsPerOp.count, c.median));
    // Range: (slowest - fastest) / median over the rounds.
    row.push(`${(((c.max - c.min) / c.median) * 100).toFixed(1)}%`);
    if (latency) {
      const d = c.delta;
      row.push(c === base ? '—' : `${d >= 0 ? '+' : '−'}${groupDigits(Math.abs(d), Math.abs(d) < 100 ? 1 : 0)}`);
    }
    for (const b of ratioBaselines) row.push(c.name === b ? '1 (base)' : formatRatio(c.ratios[b]!));
    return row;
  });
  const out = [`### ${g.title}`, '', g.about, '', markdownTable(head, rows, align), ''];
  const counts = [...new Set(Object.values(g.iterations))];
  const per =
    counts.length === 1
      ? `${counts[0]!.toLocaleString('en-US')} op(s) per sample`
      : 'op count per sample calibrated per contender';
  out.push(
    `${per}, ${g.orders.length} round(s); range = (max − min) / median over rounds; Δ${g.showRatios ? ' and ratios are medians of per-round differences and ratios' : ' is the median of per-round differences'}.`,
  );
  for (const t of g.targets) {
    const verdict = t.met ? 'met' : 'NOT met';
    out.push(
      `- target: ${t.contender} ${t.relation === '<=' ? '≤' : '≥'} ${t.bound}× ${t.vs} (${latency ? 'time' : 'speed'}): ${formatRatio(t.ratio, 3)} — **${verdict}**${t.source === undefined ? '' : ` (${t.source})`}`,
    );
  }
  for (const n of g.notes) out.push(`- note: ${n}`);
  out.push('');
  return out.join('\n');
}

// ================================================================ machine and environment

export interface MachineInfo {
  readonly date: string;
  readonly cpuModel: string;
  readonly cores: number;
  readonly node: string;
  readonly v8: string;
  readonly kernel: string;
  readonly platform: string;
  readonly memGiB: number;
  readonly loadavg: readonly number[];
  readonly tmpdir: string;
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1] !== undefined) return m[1].trim();
  } catch {
    // not Linux
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

export function machineInfo(tmp: string): MachineInfo {
  return {
    date: new Date().toISOString(),
    cpuModel: cpuModel(),
    cores: os.availableParallelism(),
    node: process.version,
    v8: process.versions.v8,
    kernel: `${os.type()} ${os.release()}`,
    platform: `${process.platform} ${process.arch}`,
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    tmpdir: tmp,
  };
}

export function formatMachine(m: MachineInfo): string {
  return [
    `- date: ${m.date}`,
    `- CPU: ${m.cpuModel}, ${m.cores} cores; ${m.memGiB} GiB RAM`,
    `- Node ${m.node} (V8 ${m.v8}); ${m.kernel} (${m.platform})`,
    `- load average at start: ${m.loadavg.join(', ')}`,
    `- temp files: ${m.tmpdir}`,
  ].join('\n');
}

// ================================================================ fixtures

/** Writes a file of `size` bytes of a fixed, non-constant pattern (so nothing can be sparse or deduplicated). */
export function writePatternFile(file: string, size: number): void {
  const chunk = Buffer.allocUnsafe(Math.min(size, 1 << 20));
  let x = 0x9e3779b9;
  for (let i = 0; i + 4 <= chunk.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    chunk.writeUInt32LE(x >>> 0, i);
  }
  const fd = fs.openSync(file, 'w');
  try {
    let done = 0;
    while (done < size) {
      const n = Math.min(chunk.length, size - done);
      fs.writeSync(fd, chunk, 0, n, done);
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** A {@link BenchContext} over a fresh temp directory. */
export function makeContext(quick: boolean): BenchContext & { cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdkeeper-bench-'));
  const cache = new Map<string, Promise<unknown>>();
  return {
    dir,
    quick,
    fixture<T>(key: string, build: () => T | Promise<T>): Promise<T> {
      let p = cache.get(key) as Promise<T> | undefined;
      if (p === undefined) {
        p = Promise.resolve().then(build);
        cache.set(key, p);
      }
      return p;
    },
    cleanup(): void {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Promise wrappers over node:fs's callback API: the thinnest promise form node:fs offers. */
export const cb = {
  open(p: string, flags: string | number): Promise<number> {
    return new Promise((resolve, reject) => {
      fs.open(p, flags, (err, fd) => {
        if (err === null) resolve(fd);
        else reject(err);
      });
    });
  },
  close(fd: number): Promise<void> {
    return new Promise((resolve, reject) => {
      fs.close(fd, (err) => {
        if (err === null) resolve();
        else reject(err);
      });
    });
  },
  read(fd: number, buf: Buffer, offset: number, length: number, position: number | null): Promise<number> {
    return new Promise((resolve, reject) => {
      fs.read(fd, buf, offset, length, position, (err, n) => {
        if (err === null) resolve(n);
        else reject(err);
      });
    });
  },
  write(fd: number, buf: Buffer, offset: number, length: number, position: number | null): Promise<number> {
    return new Promise((resolve, reject) => {
      fs.write(fd, buf, offset, length, position, (err, n) => {
        if (err === null) resolve(n);
        else reject(err);
      });
    });
  },
};
