import type { SourceMapping } from 'node:module';
import { dirname, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { nodeModule } from '../process/builtins.js';

/**
 * The folder holding fdkeeper's own code (`dist/` or `src/`): frames inside it are not "the site".
 * This file lives at `<root>/diagnostics/open-site.{js,ts}`.
 */
const LIBRARY_ROOT = dirname(dirname(fileURLToPath(import.meta.url))) + sep;
const LIBRARY_ROOT_URL = pathToFileURL(LIBRARY_ROOT).href; // file:///C:/… on Windows, not file://C:\…
/** The CLI is a user of the library: its frames count as open sites. */
const CLI_ROOT = LIBRARY_ROOT + 'cli' + sep;
const CLI_ROOT_URL = pathToFileURL(CLI_ROOT).href;

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

/** A holder V8 fills with a stack when passed to `Error.captureStackTrace`. */
interface StackHolder {
  stack?: unknown;
}

/** Hands V8's structured call sites back unformatted (see {@link OpenSite.capture}). */
const rawCallSites = (_error: Error, sites: NodeJS.CallSite[]): NodeJS.CallSite[] => sites;

/**
 * Where a handle was opened or closed: a stack captured at that moment, formatted only when somebody
 * asks (a leak report, an EBADF message). Capturing costs about a microsecond; formatting costs far more
 * and is deferred.
 *
 * The stack is read as V8's structured call sites, not as text: a call site's file is the file that ran
 * (`…/fdkeeper/dist/…js`), before any source map moves it to `src/…ts`, so fdkeeper's own frames are
 * recognised however the app runs (plain, `node --enable-source-maps`, tsx). The user's frames are then
 * shown at their original positions, through the source map Node has for them, if any (the same map
 * Node's own stack traces use).
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
    if (this.frames === undefined) {
      // V8 prepares a captured stack on its first read, with the Error.prepareStackTrace of that moment:
      // rawCallSites, for this one read.
      // eslint-disable-next-line @typescript-eslint/unbound-method -- saved to be put back as it was
      const prepare = Error.prepareStackTrace;
      let stack: unknown;
      try {
        Error.prepareStackTrace = rawCallSites;
        stack = this.holder.stack;
      } finally {
        Error.prepareStackTrace = prepare;
      }
      // Text only if something kept Error.prepareStackTrace from being replaced.
      this.frames = Array.isArray(stack)
        ? userFramesOf(stack as NodeJS.CallSite[])
        : parseStack(typeof stack === 'string' ? stack : '').filter((f) => isUserFile(f.file));
    }
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

/**
 * The user frames of `sites`: fdkeeper's and Node's are recognised by the file that ran; each user
 * frame is then placed where its source map (if Node has one) says it was written.
 */
function userFramesOf(sites: readonly NodeJS.CallSite[]): StackFrame[] {
  const frames: StackFrame[] = [];
  for (const site of sites) {
    const file = site.getFileName() ?? site.getScriptNameOrSourceURL();
    const line = site.getLineNumber();
    const column = site.getColumnNumber();
    if (!file || line === null || column === null || site.isNative() || !isUserFile(file)) continue;
    frames.push({ fn: callSiteName(site), ...originalPosition(file, line, column) });
  }
  return frames;
}

/** V8's own name for a frame (`fn`, `Type.method [as alias]`, `new Ctor`, `<anonymous>`), as its stack text shows it. */
function callSiteName(site: NodeJS.CallSite): string {
  const fn = site.getFunctionName();
  if (site.isConstructor()) return `new ${fn || '<anonymous>'}`;
  if (site.isToplevel()) return fn || '<anonymous>';
  const type = site.getTypeName();
  const method = site.getMethodName();
  if (fn) {
    const typed = type && !fn.startsWith(`${type}.`) ? `${type}.${fn}` : fn;
    return method && fn !== method && !fn.endsWith(`.${method}`) ? `${typed} [as ${method}]` : typed;
  }
  return `${type ? `${type}.` : ''}${method || '<anonymous>'}`;
}

/**
 * Where `file:line:column` (1-based, of the code that ran) was written, by the source map Node holds for
 * `file` (`--enable-source-maps`, `process.setSourceMapsEnabled(true)`, tsx); the position itself when
 * there is none.
 */
function originalPosition(file: string, line: number, column: number): { file: string; line: number; column: number } {
  let map;
  try {
    map = nodeModule().findSourceMap(file);
  } catch {
    map = undefined;
  }
  if (map === undefined) return { file, line, column };
  const entry = map.findEntry(line - 1, column - 1) as Partial<SourceMapping>;
  if (
    typeof entry.originalSource !== 'string' ||
    typeof entry.originalLine !== 'number' ||
    typeof entry.originalColumn !== 'number'
  )
    return { file, line, column };
  return { file: entry.originalSource, line: entry.originalLine + 1, column: entry.originalColumn + 1 };
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

/** Whether a frame in `file` (as it ran, before any source map) is the user's: not Node's, not fdkeeper's (its CLI excepted). */
function isUserFile(file: string): boolean {
  if (file.startsWith('node:') || file === 'native' || file === '') return false;
  if (file.startsWith(CLI_ROOT) || file.startsWith(CLI_ROOT_URL)) return true;
  return !(file.startsWith(LIBRARY_ROOT) || file.startsWith(LIBRARY_ROOT_URL));
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
