import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import { Option, InvalidArgumentError, type Command } from 'commander';
import { atomicCreate } from '../../atomic/pending-file.js';
import type { Durability } from '../../atomic/types.js';
import { stdinInput, StdinError } from '../input/stdin.js';
import { escapeText } from '../../diagnostics/terminal-text.js';
import { EXIT_FAIL, EXIT_OK } from '../output/exit-codes.js';
import type { ProgramIo } from '../output/io.js';
import { formatJson } from '../output/json.js';

interface WriteOptions {
  mode?: number;
  mkdir?: boolean;
  durability: Durability;
  replaceSymlink?: boolean;
  requireInput?: boolean;
  json?: boolean;
}

/** Why a write was not committed (`reason` in `--json`). */
type NotCommitted = 'signal' | 'command-failed' | 'read-error' | 'empty-input' | 'error';

/** What `fdkeeper write --json` prints. */
interface WriteResult {
  path: string;
  committed: boolean;
  bytes: number;
  reason: NotCommitted | null;
  exitCode: number;
  message: string | null;
}

/** The signals that abort a write: the ones a user or a supervisor sends to stop a pipeline. */
const ABORT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type AbortSignalName = (typeof ABORT_SIGNALS)[number];

/** `128 + n`: how a shell reports a process ended by signal n. */
function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + ((constants.signals[signal] as number | undefined) ?? 0);
}

function parseMode(text: string): number {
  if (!/^0?[0-7]{3,4}$/.test(text)) throw new InvalidArgumentError(`'${text}' is not an octal mode (e.g. 644, 0600)`);
  return parseInt(text, 8);
}

/** `fdkeeper write <path> [-- command args…]`: the atomic sponge. */
export function registerWriteCommand(program: Command, io: ProgramIo, exit: (code: number) => void): void {
  program
    .command('write')
    .description("Atomically replace a file with stdin (or a command's output), only when the input ended cleanly")
    .argument('<path>', 'the file to replace (or create)')
    .argument('[command...]', 'after --: run this command and write its stdout; commit only if it exits 0')
    .option(
      '--mode <octal>',
      "permission bits of the new file (default: the replaced file's, else 0666 less the umask)",
      parseMode,
    )
    .option('--mkdir', 'create missing parent directories')
    .addOption(
      new Option('--durability <level>', 'full: survives power loss; file: no directory fsync; none: no fsync')
        .choices(['full', 'file', 'none'])
        .default('full'),
    )
    .option('--replace-symlink', 'replace a symlink at <path> itself (default: write through to the file it points to)')
    .option('--require-input', 'refuse to replace the file with empty input (a producer that failed before printing)')
    .option('--json', 'print the outcome as JSON on stdout')
    .addHelpText(
      'after',
      `
The input goes to a temp file beside <path> (O_EXCL, mode 0600); on a clean end of input it is fsynced,
renamed over <path> and the directory fsynced. On SIGINT/SIGTERM/SIGHUP, a read error, a failing command
(exec form) or a write error (ENOSPC…), the temp file is removed and <path> is left byte-identical.
Only a clean end of file commits: stdin that is a directory (EISDIR) or fails to read (EIO) aborts, and
a closed stdin (<&-) is refused; < /dev/null is an empty input.

A pipe cannot tell the reader that the producer failed: in \`cmd | fdkeeper write out\`, a \`cmd\` that
dies still closes the pipe, which reads as a clean end of input, and the file is replaced with what it
printed (with \`set -o pipefail\` the shell reports the failure, too late). To commit only when the
producer succeeds, let fdkeeper run it:  fdkeeper write out -- cmd args

Exit codes: 0 committed; 1 not committed (read or write error, empty input with --require-input);
2 bad usage; 130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP; exec form: the command's own non-zero
status (128+N if a signal killed it, 127 not found, 126 not executable).

Examples:
  $ jq '.version = "2.0"' package.json | fdkeeper write package.json
  $ fdkeeper write config.json -- ./generate-config --env prod
  $ sort -u names.txt | fdkeeper write --require-input names.txt
  $ curl -fsS https://example.com/data.csv | fdkeeper write --mkdir --mode 644 data/latest.csv`,
    )
    .action(async (path: string, command: string[], options: WriteOptions) => {
      exit(await write(path, command, options, io));
    });
}

/** Runs `command`, its stdout piped, and resolves with how it ended. */
function run(command: readonly string[]): {
  child: ChildProcess;
  ended: Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>;
} {
  const [file = '', ...args] = command;
  const child = spawn(file, args, { stdio: ['inherit', 'pipe', 'inherit'] });
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => {
      resolve({ code: null, signal: null, error });
    });
    child.once('close', (code, signal) => {
      resolve({ code, signal });
    });
  });
  return { child, ended };
}

async function write(path: string, command: string[], options: WriteOptions, io: ProgramIo): Promise<number> {
  const exec = command.length > 0;
  const controller = new AbortController();
  let caught: AbortSignalName | undefined;
  let child: ChildProcess | undefined;
  let source: { chunks: AsyncIterable<Buffer>; stop: () => void } | undefined;
  const onSignal = (signal: AbortSignalName): void => {
    caught ??= signal;
    controller.abort(new Error(`interrupted by ${signal}`));
    child?.kill(signal);
    source?.stop();
  };
  const handlers = ABORT_SIGNALS.map(
    (s) =>
      [
        s,
        () => {
          onSignal(s);
        },
      ] as const,
  );
  for (const [s, h] of handlers) process.on(s, h);

  const result: WriteResult = { path, committed: false, bytes: 0, reason: null, exitCode: EXIT_OK, message: null };
  const fail = (reason: NotCommitted, code: number, message: string): number => {
    result.reason = reason;
    result.exitCode = code;
    result.message = message;
    io.stderr(`fdkeeper write: ${escapeText(message)}\n`); // --json keeps the exact message
    return code;
  };
  try {
    let stdin: ReturnType<typeof stdinInput> | undefined;
    if (!exec) {
      try {
        stdin = stdinInput();
      } catch (e) {
        if (!(e instanceof StdinError)) throw e;
        return fail('read-error', EXIT_FAIL, `${e.message}; ${resolve(path)} left as it was`);
      }
    }
    let pending;
    try {
      pending = await atomicCreate(path, {
        durability: options.durability,
        mode: options.mode,
        mkdir: options.mkdir === true,
        replaceSymlink: options.replaceSymlink === true,
        signal: controller.signal,
      });
    } catch (e) {
      return fail(
        caught === undefined ? 'error' : 'signal',
        caught === undefined ? EXIT_FAIL : signalExitCode(caught),
        describe(e),
      );
    }
    result.path = pending.path;
    // Anything but a commit below leaves the temp file removed and the target as it was.
    await using _temp = pending;

    let ended: ReturnType<typeof run>['ended'] | undefined;
    if (exec) {
      const started = run(command);
      child = started.child;
      ended = started.ended;
      const out = child.stdout;
      source = out === null ? undefined : { chunks: out as AsyncIterable<Buffer>, stop: () => out.destroy() };
    } else {
      source = stdin;
      if (process.stdin.isTTY && process.stderr.isTTY)
        io.stderr('fdkeeper write: reading the terminal; Ctrl-D to commit, Ctrl-C to abort\n');
    }

    let readError: unknown;
    let writeError: unknown;
    try {
      if (source !== undefined) {
        for await (const bytes of source.chunks) {
          try {
            await pending.write(bytes);
          } catch (e) {
            writeError = e;
            break;
          }
          result.bytes += bytes.length;
        }
      }
    } catch (e) {
      readError = e;
    }
    if (writeError !== undefined) {
      // The output has nowhere to go: stop reading, and stop the command rather than wait for it.
      source?.stop();
      child?.kill('SIGTERM');
    }
    const status = ended === undefined ? undefined : await ended;
    const target = `${pending.path} left as it was`;

    if (caught !== undefined) return fail('signal', signalExitCode(caught), `interrupted by ${caught}; ${target}`);
    if (writeError !== undefined) return fail('error', EXIT_FAIL, describe(writeError));
    if (status?.error !== undefined) {
      const code = (status.error as { code?: unknown }).code;
      return fail(
        'command-failed',
        code === 'ENOENT' ? 127 : 126,
        `cannot run ${command[0] ?? ''}: ${status.error.message}; ${target}`,
      );
    }
    if (readError !== undefined)
      return fail(
        exec ? 'command-failed' : 'read-error',
        EXIT_FAIL,
        `${exec ? 'writing the output' : 'reading stdin'} failed: ${describe(readError)}; ${target}`,
      );
    if (status !== undefined && (status.code !== 0 || status.signal !== null)) {
      const how =
        status.signal !== null ? `was killed by ${status.signal}` : `exited with status ${status.code ?? '?'}`;
      return fail(
        'command-failed',
        status.signal !== null ? signalExitCode(status.signal) : (status.code ?? EXIT_FAIL),
        `${shellWords(command)} ${how}; ${target}`,
      );
    }
    if (options.requireInput === true && result.bytes === 0)
      return fail('empty-input', EXIT_FAIL, `the input was empty (--require-input); ${target}`);
    // From here a signal no longer aborts: the commit is under way, and once it has renamed the file
    // the new content is complete and in place.
    try {
      await pending.commit();
    } catch (e) {
      return fail('error', EXIT_FAIL, describe(e));
    }
    result.committed = true;
    return EXIT_OK;
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
    if (!exec) source?.stop();
    if (options.json === true) io.stdout(formatJson(result));
  }
}

/** `command` as a shell would need it typed: arguments with spaces or quotes single-quoted. */
function shellWords(command: readonly string[]): string {
  return command.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
