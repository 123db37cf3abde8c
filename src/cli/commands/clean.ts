import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { readClaim, type Holder } from '../../atomic/claim.js';
import { cleanupTemps } from '../../atomic/cleanup-temps.js';
import { HOST, bootTimeMs, isPidDead } from '../../atomic/pid.js';
import { isClaimName, parseTempName } from '../../atomic/temp-name.js';
import { fdtable } from '../../table/default-table.js';
import { type CleanEntry, type CleanReport, renderClean } from '../output/clean-render.js';
import { colors, shouldColor } from '../output/color.js';
import { formatDuration, parseDuration } from '../output/duration.js';
import { EXIT_FAIL, EXIT_OK } from '../output/exit-codes.js';
import type { ProgramIo } from '../output/io.js';
import { formatJson } from '../output/json.js';

interface CleanOptions {
  olderThan: number;
  dryRun?: boolean;
  checkPids: boolean;
  json?: boolean;
}

function parseAge(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new InvalidArgumentError(`'${text}' is not a duration (e.g. 30m, 1h, 7d)`);
  return ms;
}

/** `fdkeeper clean <dir>`: remove the temp files and claims crashed writers left. */
export function registerCleanCommand(program: Command, io: ProgramIo, exit: (code: number) => void): void {
  program
    .command('clean')
    .description('Remove the temp files (and stale claims) that crashed or killed atomic writers left in a directory')
    .argument('<dir>', 'the directory to clean (not recursive)')
    .option('--older-than <duration>', 'remove a temp file whose writer may still be alive once it is this old', parseAge, 3_600_000)
    .option('--dry-run', 'report what would be removed; remove nothing')
    .option('--no-check-pids', 'decide by age alone (a directory shared with other hosts, e.g. NFS)')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Only fdkeeper's own names are considered (.NAME.PID-RANDOM.fdkeeper-tmp and .NAME.fdkeeper-claim);
anything else is left alone. A temp file is removed when its writer (the pid in its name) is not
running, when it was written before this host booted, or when it is older than --older-than. A live
writer's temp file younger than that is kept, and the report says why.

Exit codes: 0 done (also when there was nothing to remove); 1 the directory could not be read or a
file not removed (ENOENT, EACCES…); 2 bad usage.

Examples:
  $ fdkeeper clean /var/lib/app
  $ fdkeeper clean --dry-run --older-than 10m ./data
  $ fdkeeper clean --json /var/lib/app | jq '.removed[].name'
  $ fdkeeper clean --no-check-pids --older-than 1d /mnt/nfs/shared`,
    )
    .action(async (dir: string, options: CleanOptions) => {
      exit(await clean(dir, options, io));
    });
}

/** What was there before the cleanup, to explain afterwards what it did. */
interface Candidate {
  readonly name: string;
  readonly kind: 'temp' | 'claim';
  readonly stat: Stats | undefined;
  readonly pid: number | undefined;
  readonly holder: Holder | undefined;
}

function lstatOptional(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

async function clean(dirArg: string, options: CleanOptions, io: ProgramIo): Promise<number> {
  const dir = resolve(dirArg);
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    io.stderr(`fdkeeper clean: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_FAIL;
  }
  const candidates: Candidate[] = [];
  for (const name of names) {
    const temp = parseTempName(name);
    if (temp !== undefined) {
      candidates.push({ name, kind: 'temp', stat: lstatOptional(join(dir, name)), pid: temp.pid, holder: undefined });
    } else if (isClaimName(name)) {
      let holder: Holder | undefined;
      try {
        holder = await readClaim(fdtable.backend, join(dir, name));
      } catch {
        holder = undefined; // not readable as a claim (a FIFO, a directory): cleanupTemps skips it too
      }
      candidates.push({ name, kind: 'claim', stat: lstatOptional(join(dir, name)), pid: holder?.pid, holder });
    }
  }

  let removed: string[];
  try {
    removed = await cleanupTemps(dir, { olderThanMs: options.olderThan, dryRun: options.dryRun === true, checkPids: options.checkPids });
  } catch (e) {
    io.stderr(`fdkeeper clean: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_FAIL;
  }
  const removedSet = new Set(removed);
  const now = Date.now();
  const booted = bootTimeMs();
  const limit = formatDuration(options.olderThan);
  const explain = (cand: Candidate, wasRemoved: boolean): string => {
    const st = cand.stat;
    if (st === undefined) return 'vanished while cleaning (another cleaner or its writer)';
    if (!st.isFile()) return 'not a regular file: not one of ours';
    const age = now - st.mtimeMs;
    const ageText = `modified ${formatDuration(age)} ago`;
    const old = age >= options.olderThan;
    if (cand.kind === 'claim') {
      const h = cand.holder;
      if (h === undefined) return 'unreadable claim';
      if (h.pid === undefined && h.host === undefined) return wasRemoved ? 'empty claim (its writer crashed before writing it)' : 'empty claim';
      const who = `claim of pid ${h.pid ?? '?'} on ${h.host === HOST ? 'this host' : `host ${h.host ?? '?'}`}`;
      if (wasRemoved) {
        if (options.checkPids && h.host === HOST && h.pid !== undefined && isPidDead(h.pid)) return `${who}, which is not running`;
        if (options.checkPids && h.host === HOST && h.mtimeMs < booted) return `${who}, made before this host booted`;
        return `${who}; ${ageText}, older than ${limit}`;
      }
      if (h.host !== HOST) return `${who}: its process cannot be checked from here; ${ageText}, younger than ${limit}`;
      return `${who}, still running; ${ageText}, younger than ${limit}`;
    }
    const pid = cand.pid ?? 0;
    if (wasRemoved) {
      if (options.checkPids && isPidDead(pid)) return `writer pid ${pid} is not running`;
      if (options.checkPids && st.mtimeMs < booted) return `written before this host booted (pid ${pid} is someone else now)`;
      return `${ageText}, older than ${limit}`;
    }
    if (!options.checkPids) return `${ageText}, younger than ${limit} (pids not checked)`;
    if (old) return `${ageText}, but it was being written when the cleanup ran`;
    return `writer pid ${pid} is running; ${ageText}, younger than ${limit}`;
  };
  const entry = (cand: Candidate, wasRemoved: boolean): CleanEntry => ({
    name: cand.name,
    kind: cand.kind,
    pid: cand.pid ?? null,
    host: cand.kind === 'claim' ? (cand.holder?.host ?? null) : null,
    size: cand.stat?.isFile() === true ? cand.stat.size : null,
    modified: cand.stat === undefined ? null : new Date(cand.stat.mtimeMs).toISOString(),
    reason: explain(cand, wasRemoved),
  });
  const report: CleanReport = {
    dir,
    dryRun: options.dryRun === true,
    olderThanMs: options.olderThan,
    checkPids: options.checkPids,
    removed: candidates.filter((cand) => removedSet.has(cand.name)).map((cand) => entry(cand, true)),
    kept: candidates.filter((cand) => !removedSet.has(cand.name)).map((cand) => entry(cand, false)),
    otherFiles: names.length - candidates.length,
  };
  io.stdout(options.json === true ? formatJson(report) : renderClean(report, colors(shouldColor({ isTTY: io.isTTY }))));
  return EXIT_OK;
}
