/**
 * fdkeeper benchmarks: every contender in one process, contender order rotated between rounds,
 * medians over rounds, ratios against raw node:fs baselines. Imports the BUILT library (dist/).
 *
 *   npm run bench -- [--rounds N] [--only name,…] [--json FILE] [--quick] [--sample-ms MS] [--list]
 *
 * `--only` takes case names (open-close, rw4k, read1m, lines, textread, overhead, memory, atomic, log, register,
 * import) and/or group ids (pread4k-sync, …).
 * `--quick`: 2 rounds, 100 ms samples, smaller files (well under a minute).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  formatGroup,
  formatMachine,
  formatRatio,
  machineInfo,
  makeContext,
  runGroup,
  type BenchCase,
  type GroupResult,
  type HarnessOptions,
} from './harness.js';
import { atomic } from './cases/atomic.js';
import { importCost } from './cases/import.js';
import { log } from './cases/log.js';
import { lines } from './cases/lines.js';
import { memory } from './cases/memory.js';
import { openClose } from './cases/open-close.js';
import { overhead } from './cases/overhead.js';
import { read1m } from './cases/read1m.js';
import { register } from './cases/register.js';
import { rw4k } from './cases/rw4k.js';
import { textRead } from './cases/text-read.js';

/** Every case, in the order they run. Add new groups (atomic writes, log files…) here. */
const CASES: readonly BenchCase[] = [
  openClose,
  rw4k,
  read1m,
  lines,
  textRead,
  overhead,
  memory,
  atomic,
  log,
  register,
  importCost,
];

interface Args {
  rounds: number | undefined;
  only: string[] | undefined;
  json: string | undefined;
  quick: boolean;
  sampleMs: number | undefined;
  list: boolean;
}

const USAGE = `usage: npm run bench -- [--rounds N] [--only name,…] [--json FILE] [--quick] [--sample-ms MS] [--list]

  --rounds N      timed rounds per group (default 5; 2 with --quick)
  --only a,b      run only these cases or group ids (see --list)
  --json FILE     also write every sample and the machine description as JSON
  --quick         2 rounds, 100 ms samples, smaller files: a smoke run in well under a minute
  --sample-ms MS  target duration of one timed sample (default 200; 100 with --quick)
  --list          list cases and group ids and exit`;

function parseArgs(argv: readonly string[]): Args {
  const a: Args = {
    rounds: undefined,
    only: undefined,
    json: undefined,
    quick: false,
    sampleMs: undefined,
    list: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n\n${USAGE}`);
      return v;
    };
    const positive = (v: string): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer, not '${v}'`);
      return n;
    };
    switch (flag) {
      case '--rounds':
        a.rounds = positive(value());
        break;
      case '--only':
        a.only = value()
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
        break;
      case '--json':
        a.json = path.resolve(value());
        break;
      case '--quick':
        a.quick = true;
        break;
      case '--sample-ms':
        a.sampleMs = positive(value());
        break;
      case '--list':
        a.list = true;
        break;
      case '-h':
      case '--help':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument '${arg}'\n\n${USAGE}`);
    }
  }
  return a;
}

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Which library build is measured: the commit, uncommitted changes under src/, and a hash of dist/. */
function buildInfo(): string {
  let commit = 'unknown commit';
  let dirty = '';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const changed = execFileSync('git', ['status', '--porcelain', '--', 'src'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .split('\n')
      .filter((l) => l !== '').length;
    if (changed > 0) dirty = ` + ${changed} uncommitted change(s) under src/`;
  } catch {
    // not a git checkout
  }
  const hash = createHash('sha256');
  const dist = path.join(ROOT, 'dist');
  const files = (fs.readdirSync(dist, { recursive: true }) as string[]).filter((f) => f.endsWith('.js')).sort();
  for (const f of files) hash.update(f).update(fs.readFileSync(path.join(dist, f)));
  return `${commit}${dirty}; dist/*.js sha256 ${hash.digest('hex').slice(0, 12)}`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.list) {
    for (const c of CASES) console.log(`${c.name}: ${c.groupIds.join(', ')}`);
    return;
  }
  const known = new Set(CASES.flatMap((c) => [c.name, ...c.groupIds]));
  for (const o of args.only ?? [])
    if (!known.has(o)) throw new Error(`--only: unknown case or group '${o}' (known: ${[...known].join(', ')})`);
  const wantGroup = (c: BenchCase, id: string): boolean =>
    args.only === undefined || args.only.includes(c.name) || args.only.includes(id);
  const cases = CASES.filter((c) => c.groupIds.some((id) => wantGroup(c, id)));

  const opts: HarnessOptions = {
    rounds: args.rounds ?? (args.quick ? 2 : 5),
    sampleMs: args.sampleMs ?? (args.quick ? 100 : 200),
    quick: args.quick,
    log: (line) => {
      process.stderr.write(`${line}\n`);
    },
  };

  const ctx = makeContext(args.quick);
  let cleaned = false;
  const cleanup = (): void => {
    if (cleaned) return;
    cleaned = true;
    ctx.cleanup();
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });

  const started = Date.now();
  const machine = machineInfo(ctx.dir);
  const results: GroupResult[] = [];
  try {
    console.log('# fdkeeper benchmarks\n');
    console.log(formatMachine(machine));
    console.log(`- library: ${buildInfo()}`);
    console.log(
      `- rounds: ${opts.rounds}, target sample length: ${opts.sampleMs} ms${args.quick ? ' (--quick: smaller files)' : ''}`,
    );
    if (process.env['FDKEEPER_OPEN_SITES'] !== undefined) {
      console.log(
        `- WARNING: FDKEEPER_OPEN_SITES=${process.env['FDKEEPER_OPEN_SITES']} changes the default site policy of every table; rows labelled as defaults are not.`,
      );
    }
    console.log('');

    for (const c of cases) {
      const groups = await c.groups(ctx);
      const ids = groups.map((g) => g.id);
      if (ids.join() !== c.groupIds.join())
        throw new Error(`case ${c.name} declares groups ${c.groupIds.join(', ')} but built ${ids.join(', ')}`);
      for (const g of groups) {
        if (!wantGroup(c, g.id)) continue;
        const r = await runGroup(g, opts);
        results.push(r);
        console.log(formatGroup(r));
      }
    }

    const targets = results.flatMap((g) => g.targets.map((t) => ({ group: g, t })));
    if (targets.length > 0) {
      console.log('## Targets\n');
      for (const { group, t } of targets) {
        console.log(
          `- [${t.met ? 'met' : 'NOT met'}] ${group.id}: ${t.contender} ${formatRatio(t.ratio, 3)} (${t.relation === '<=' ? '≤' : '≥'} ${t.bound}× ${t.vs})`,
        );
      }
      console.log('');
    }
    const loadEnd = os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(', ');
    console.log(`finished in ${((Date.now() - started) / 1000).toFixed(0)} s; load average at end: ${loadEnd}`);

    if (args.json !== undefined) {
      fs.writeFileSync(
        args.json,
        JSON.stringify(
          { machine, loadavgEnd: os.loadavg(), options: { ...opts, log: undefined, only: args.only }, groups: results },
          null,
          2,
        ) + '\n',
      );
      console.log(`samples written to ${args.json}`);
    }
  } finally {
    cleanup();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exitCode = 1;
});
