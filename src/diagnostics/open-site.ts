import { fileURLToPath } from 'node:url';
import { dirname, sep } from 'node:path';

/**
 * The folder holding fdkeeper's own code (`dist/` or `src/`): frames inside it are not "the site".
 * This file lives at `<root>/diagnostics/open-site.{js,ts}`.
 */
const LIBRARY_ROOT = dirname(dirname(fileURLToPath(import.meta.url))) + sep;
const LIBRARY_ROOT_URL = 'file://' + LIBRARY_ROOT;
/** The CLI is a user of the library: its frames count as open sites. */
const CLI_ROOT = LIBRARY_ROOT + 'cli' + sep;
const CLI_ROOT_URL = 'file://' + CLI_ROOT;

/** How many frames a capture keeps: enough to pass fdkeeper's own frames and show a few of the caller's. */
const CAPTURE_FRAMES = 10;
/** How many user frames a formatted stack shows. */
const SHOWN_FRAMES = 8;

/** One parsed stack frame. */
export interface StackFrame {
  /** The function name, or `'<anonymous>'`. */
  readonly fn: string;
  /** The file (path or URL) the frame is in. */
  readonly file: string;
  /** 1-based line number. */
  readonly line: number;
  /** 1-based column number. */
  readonly column: number;
}

/** A holder V8 fills with a stack when passed to `Error.captureStackTrace`; formatted only on read. */
interface StackHolder {
  stack?: string;
}

/**
 * Where a handle was opened or closed: a stack captured at that moment, formatted only when somebody
 * asks (a leak report, an EBADF message). Capturing costs about a microsecond; formatting costs far more
 * and is deferred.
 */
export class OpenSite {
  private readonly holder: StackHolder;
  private frames: readonly StackFrame[] | undefined;

  private constructor(holder: StackHolder) {
    this.holder = holder;
  }

  /**
   * Captures the current stack. `skip` is the function whose frame and callers-above are dropped by V8
   * (pass the public API function so the stack starts at the caller).
   */
  static capture(skip?: (...args: never[]) => unknown): OpenSite {
    const holder: StackHolder = {};
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = CAPTURE_FRAMES;
    Error.captureStackTrace(holder, skip);
    Error.stackTraceLimit = limit;
    return new OpenSite(holder);
  }

  /** The frames outside fdkeeper and Node's internals, innermost first. */
  userFrames(): readonly StackFrame[] {
    if (this.frames === undefined) this.frames = parseStack(this.holder.stack ?? '').filter(isUserFrame);
    return this.frames;
  }

  /** The innermost user frame: the line that opened (or closed) the handle. */
  topFrame(): StackFrame | undefined {
    return this.userFrames()[0];
  }

  /** `fn (file:line:column)` for the innermost user frame, or `'<unknown>'`. */
  describe(): string {
    const f = this.topFrame();
    return f === undefined ? '<unknown>' : formatFrame(f);
  }

  /** A grouping key: the innermost user frame's file, line and column. */
  key(): string {
    const f = this.topFrame();
    return f === undefined ? '<unknown>' : `${f.file}:${f.line}:${f.column}`;
  }

  /** The user frames formatted one per line, `    at fn (file:line:col)`, as in a Node stack. */
  formatStack(indent = '    '): string {
    return this.userFrames()
      .slice(0, SHOWN_FRAMES)
      .map((f) => `${indent}at ${formatFrame(f)}`)
      .join('\n');
  }
}

/** `fn (file:line:column)`, with `file://` URLs shown as paths. */
export function formatFrame(f: StackFrame): string {
  return `${f.fn} (${displayFile(f.file)}:${f.line}:${f.column})`;
}

/** A stack frame's file as a path for people: `file:` URLs (ES modules) become paths, the rest is kept. */
export function displayFile(file: string): string {
  if (!file.startsWith('file://')) return file;
  try {
    return fileURLToPath(file);
  } catch {
    return file;
  }
}

const FRAME_WITH_FN = /^\s*at (?:async )?(.*?) \((.*):(\d+):(\d+)\)$/;
const FRAME_BARE = /^\s*at (?:async )?(.*):(\d+):(\d+)$/;

/** Parses the `at …` lines of a V8 stack string. Lines it cannot read (native, eval) are skipped. */
export function parseStack(stack: string): StackFrame[] {
  const frames: StackFrame[] = [];
  for (const line of stack.split('\n')) {
    let m = FRAME_WITH_FN.exec(line);
    if (m !== null) {
      frames.push({ fn: m[1] ?? '<anonymous>', file: m[2] ?? '', line: Number(m[3]), column: Number(m[4]) });
      continue;
    }
    m = FRAME_BARE.exec(line);
    if (m !== null) frames.push({ fn: '<anonymous>', file: m[1] ?? '', line: Number(m[2]), column: Number(m[3]) });
  }
  return frames;
}

function isUserFrame(f: StackFrame): boolean {
  if (f.file.startsWith('node:') || f.file === 'native' || f.file === '') return false;
  if (f.file.startsWith(CLI_ROOT) || f.file.startsWith(CLI_ROOT_URL)) return true;
  return !(f.file.startsWith(LIBRARY_ROOT) || f.file.startsWith(LIBRARY_ROOT_URL));
}

/**
 * When a table records open and close sites. A capture costs one stack walk (about 1–2 µs on a small
 * VM, comparable to the open(2)+close(2) pair itself), so the default records them only once enough
 * descriptors are open for a leak to be plausible.
 *
 * - `'always'`: every open and close records its site (tests, debugging, `fdkeeper/register`).
 * - `'auto'`: sites are recorded while at least {@link SitePolicyOptions.autoThreshold} descriptors are
 *   open in the table, and close sites of descriptors handed to other code as objects (borrowed views,
 *   `table.descriptor(n)`), where a later call can fail with EBADF and name them.
 * - `'never'`: no stacks at all; reports group handles by path instead.
 */
export type SiteMode = 'always' | 'auto' | 'never';

/** Options for {@link SitePolicy}. */
export interface SitePolicyOptions {
  /** See {@link SiteMode}. Default: `FDKEEPER_OPEN_SITES` from the environment, else `'auto'`. */
  mode?: SiteMode;
  /** In `'auto'` mode, the number of open descriptors from which sites are recorded. Default 32. */
  autoThreshold?: number;
}

/** Reads `FDKEEPER_OPEN_SITES`; anything but the three mode names is ignored. */
export function siteModeFromEnv(): SiteMode | undefined {
  const v = process.env['FDKEEPER_OPEN_SITES'];
  return v === 'always' || v === 'auto' || v === 'never' ? v : undefined;
}

/** Decides, per open, whether to pay for a stack capture. */
export class SitePolicy {
  /** The current mode; may be changed at run time (the test helper switches to `'always'`). */
  mode: SiteMode;
  /** See {@link SitePolicyOptions.autoThreshold}. */
  autoThreshold: number;

  constructor(options: SitePolicyOptions = {}) {
    this.mode = options.mode ?? siteModeFromEnv() ?? 'auto';
    this.autoThreshold = options.autoThreshold ?? 32;
  }

  /** Whether an open made while `openCount` descriptors are open should record its site. */
  shouldCapture(openCount: number): boolean {
    return this.mode === 'always' || (this.mode === 'auto' && openCount >= this.autoThreshold);
  }
}
