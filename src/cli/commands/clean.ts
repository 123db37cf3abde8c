import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { host, isPidDead } from '../../atomic/pid.js';
import {
  classifyName,
  hostBootTimeMs,
  judge,
  notOurs,
  pidMax,
  readClaimContent,
  removeJudged,
  type JudgeContext,
  type Leftover,
} from '../clean/leftovers.js';
import { type CleanEntry, type CleanReport, renderClean } from '../output/clean-render.js';
import { colors, shouldColor } from '../output/color.js';
import { durationParser } from '../output/duration.js';
import { escapeText } from '../../diagnostics/terminal-text.js';
import { EXIT_FAIL, EXIT_OK } from '../output/exit-codes.js';
import type { ProgramIo } from '../output/io.js';
import { formatJson } from '../output/json.js';

interface CleanOptions {
  olderThan: number;
  dryRun?: boolean;
  checkPids: boolean;
  anyOwner?: boolean;
  json?: boolean;
}

/** `fdkeeper clean <dir>`: remove the temp files and claims crashed writers left. */
export function registerCleanCommand(program: Command, io: ProgramIo, exit: (code: number) => void): void {
  program
    .command('clean')
    .description('Remove the temp files (and stale claims) that crashed or killed atomic writers left in a directory')
    .argument('<dir>', 'the directory to clean (not recursive)')
    .addOption(
      new Option('--older-than <duration>', 'remove a temp file whose writer may still be alive once it is this old')
        .argParser(durationParser('--older-than', { allowZero: true }))
        .default(3_600_000, '1h'),
    )
    .option('--dry-run', 'report what would be removed; remove nothing')
    .option('--no-check-pids', 'decide by age alone (a directory shared with other hosts, e.g. NFS)')
    .option('--any-owner', "also remove other users' temp files and claims (default: only this user's)")
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Only fdkeeper's own files are considered: a regular file (never a link, FIFO or directory) with one
link, named .NAME.PID-RANDOM.fdkeeper-tmp (a possible pid) or .NAME.fdkeeper-claim (holding exactly
"PID\\nHOST\\n", or empty), owned by the user running clean (--any-owner: any user). Anything else is
left alone. Such a file is removed when its writer (the pid) is not running, when it is older than
--older-than, or when it was written before this host booted; a live writer's younger file is kept.
The report says which rule decided, for every file.

Exit codes: 0 done (also when there was nothing to remove); 1 the directory could not be read or a
file not removed (EACCES…); 2 bad usage.

Examples:
  $ fdkeeper clean /var/lib/app
  $ fdkeeper clean --dry-run --older-than 10m ./data
  $ fdkeeper clean --json /var/lib/app | jq '.removed[].name'
  $ fdkeeper clean --no-check-pids --older-than 1d /mnt/nfs/shared
  $ sudo fdkeeper clean --any-owner /srv/shared     root, for every user's leftovers`,
    )
    .action((dir: string, options: CleanOptions) => {
      exit(clean(dir, options, io));
    });
}

function lstatOptional(path: Buffer): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function clean(dirArg: string, options: CleanOptions, io: ProgramIo): number {
  const dir = resolve(dirArg);
  const dirBytes = Buffer.from(dir);
  let names: Buffer[];
  try {
    names = readdirSync(dirBytes, { encoding: 'buffer' }).sort((x, y) => Buffer.compare(x, y));
  } catch (e) {
    io.stderr(`fdkeeper clean: ${escapeText(e instanceof Error ? e.message : String(e))}\n`);
    return EXIT_FAIL;
  }
  const deadPids = new Map<number, boolean>();
  const ctx: JudgeContext = {
    now: Date.now(),
    bootMs: hostBootTimeMs(),
    olderThanMs: options.olderThan,
    checkPids: options.checkPids,
    anyOwner: options.anyOwner === true,
    uid: process.geteuid?.(),
    pidMax: pidMax(),
    host: host(),
    // This process writes no temp files: one with its pid is an earlier process's.
    isDead: (pid) => {
      let dead = deadPids.get(pid);
      if (dead === undefined) deadPids.set(pid, (dead = pid === process.pid || isPidDead(pid)));
      return dead;
    },
  };
  const removed: CleanEntry[] = [];
  const kept: CleanEntry[] = [];
  let failed = 0;
  let otherFiles = 0;
  // Names as the terminal shows them: escaped from the exact bytes (the JSON name is their UTF-8 text).
  const shownNames = new Map<CleanEntry, string>();
  for (const nameBytes of names) {
    const named = classifyName(nameBytes);
    if (named === undefined) {
      otherFiles++;
      continue;
    }
    const path = Buffer.concat([dirBytes, Buffer.from('/'), nameBytes]);
    const stat = lstatOptional(path);
    const pid = named.kind === 'temp' ? named.pid : undefined;
    const base = { nameBytes, kind: named.kind, stat, pid };
    // A claim's content is read only once the file passed every other check.
    const claim =
      named.kind === 'claim' && stat !== undefined && notOurs(base, ctx) === undefined
        ? readClaimContent(path, stat, ctx.pidMax)
        : undefined;
    const facts: Leftover = {
      ...base,
      pid: claim?.state === 'valid' ? claim.pid : pid,
      host: claim?.state === 'valid' ? claim.host : undefined,
      claim,
    };
    const verdict = judge(facts, ctx);
    const entry = (reason: string): CleanEntry => ({
      name: nameBytes.toString('utf8'),
      kind: facts.kind,
      pid: facts.pid ?? null,
      host: facts.host ?? null,
      uid: stat?.uid ?? null,
      size: stat?.isFile() === true ? stat.size : null,
      modified: stat === undefined ? null : new Date(stat.mtimeMs).toISOString(),
      reason,
    });
    const push = (list: CleanEntry[], reason: string): void => {
      const e = entry(reason);
      shownNames.set(e, escapeText(nameBytes));
      list.push(e);
    };
    if (!verdict.remove || stat === undefined) {
      push(kept, verdict.reason);
      continue;
    }
    if (options.dryRun === true) {
      push(removed, verdict.reason);
      continue;
    }
    try {
      const how = removeJudged(dirBytes, path, stat);
      if (how === 'removed') push(removed, verdict.reason);
      else
        push(
          kept,
          how === 'vanished'
            ? 'vanished while cleaning (another cleaner or its writer)'
            : 'replaced by another file while cleaning: left alone',
        );
    } catch (e) {
      failed++;
      const code = (e as { code?: string }).code ?? 'error';
      push(kept, `could not be removed (${code}): ${verdict.reason}`);
      io.stderr(`fdkeeper clean: ${escapeText(e instanceof Error ? e.message : String(e))}\n`);
    }
  }
  const report: CleanReport = {
    dir,
    dryRun: options.dryRun === true,
    olderThanMs: options.olderThan,
    checkPids: options.checkPids,
    anyOwner: options.anyOwner === true,
    removed,
    kept,
    otherFiles,
  };
  io.stdout(
    options.json === true
      ? formatJson(report)
      : renderClean(report, colors(shouldColor({ isTTY: io.isTTY })), (e) => shownNames.get(e) ?? escapeText(e.name)),
  );
  return failed === 0 ? EXIT_OK : EXIT_FAIL;
}
