import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flagsToMode } from '../backend/flags.js';
import type { OpenHandleSource } from '../diagnostics/leak-report.js';
import type { OpenSite } from '../diagnostics/open-site.js';

/** The node:fs call that opened a tracked descriptor. */
export type NodeFsOpenApi = 'openSync' | 'open' | 'promises.open' | 'createReadStream' | 'createWriteStream';

/**
 * One descriptor opened through node:fs while tracking was on. It keeps the open call's arguments as
 * they were passed and turns them into a path and a mode only when a report asks (most records are
 * closed long before anyone reads them, so the open path stays cheap).
 */
export class FdRecord implements OpenHandleSource {
  /** The descriptor number. */
  readonly number: number;
  /** When it was opened (`Date.now()`). */
  readonly openedAt: number;
  /** The register hook never hands numbers out: it only watches. */
  readonly escaped = false;
  /** The call that opened it; a stream's open is re-attributed when the stream reports its fd. */
  origin: NodeFsOpenApi;
  /** Where it was opened; replaced by the stream's creation site for stream opens. */
  openSite: OpenSite | undefined;
  private readonly pathArg: unknown;
  private readonly flagsArg: unknown;
  /** The working directory a relative path was opened from (Node caches `process.cwd()`, so this is cheap). */
  private readonly cwd: string | undefined;

  constructor(
    number: number,
    pathArg: unknown,
    flagsArg: unknown,
    origin: NodeFsOpenApi,
    openSite: OpenSite | undefined,
  ) {
    this.number = number;
    this.pathArg = pathArg;
    this.flagsArg = flagsArg;
    this.origin = origin;
    this.openSite = openSite;
    this.openedAt = Date.now();
    this.cwd = typeof pathArg === 'string' && !isAbsolute(pathArg) ? process.cwd() : undefined;
  }

  /** The path opened, absolute (a relative one resolved against the working directory of the open; a `Buffer` or
   * `file:` URL turned into a string). */
  get path(): string | undefined {
    const p = describePath(this.pathArg);
    return p === undefined || this.cwd === undefined ? p : resolve(this.cwd, p);
  }

  /** The open flags as a short mode: the app's flag string, or `'r'`/`'w'`/`'r+'`/… for numeric flags. */
  get mode(): string {
    const f = this.flagsArg;
    if (typeof f === 'string') return f;
    if (typeof f === 'number') return flagsToMode(f);
    return 'r';
  }
}

function describePath(p: unknown): string | undefined {
  if (typeof p === 'string') return p;
  if (Buffer.isBuffer(p)) return p.toString();
  if (p instanceof URL) {
    try {
      return fileURLToPath(p);
    } catch {
      return p.href;
    }
  }
  return undefined;
}
