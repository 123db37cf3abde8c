import { O } from '../backend/flags.js';
import { FsError } from '../errors/fs-error.js';

/** A mode string parsed into what it asks for. */
export interface ParsedMode {
  /** Whether the file is opened for reading (`r`, or any mode with `+`). */
  readonly reading: boolean;
  /** Whether the file is opened for writing (`w`, `a`, `x`, or any mode with `+`). */
  readonly writing: boolean;
  /** `a`: every write goes to the end of the file. */
  readonly appending: boolean;
  /** `x`: create, failing with EEXIST if the file exists. */
  readonly exclusive: boolean;
  /** `b`: bytes in and out; otherwise text. */
  readonly binary: boolean;
  /** The `O_*` flags to open with. */
  readonly flags: number;
  /** The canonical binary-mode spelling, as Python's FileIO reports it: `'rb'`, `'rb+'`, `'ab+'`, `'xb'`… */
  readonly rawMode: string;
}

/**
 * Parses a Python/fopen mode string: exactly one of `r` (read), `w` (truncate or create), `a` (append,
 * create), `x` (create exclusively); optionally `+` (update: read and write); optionally `b` (binary) or
 * `t` (text, the default). Letters may come in any order, each at most once. Anything else — `''`, `'rw'`,
 * `'ra+'`, `'bt'`, `'r++'`, `'U'` — is an EINVAL {@link FsError} naming the mode.
 */
export function parseMode(mode: string, path?: string): ParsedMode {
  const fail = (why: string): never => {
    throw new FsError({ code: 'EINVAL', syscall: 'open', path, detail: `invalid mode '${mode}': ${why}` });
  };
  if (typeof mode !== 'string') fail('the mode must be a string');
  let kind = '';
  let plus = false;
  let binary = false;
  let text = false;
  for (const c of mode) {
    switch (c) {
      case 'r':
      case 'w':
      case 'a':
      case 'x':
        if (kind !== '') fail(`it has both '${kind}' and '${c}'; use exactly one of r, w, a, x`);
        kind = c;
        break;
      case '+':
        if (plus) fail("'+' appears twice");
        plus = true;
        break;
      case 'b':
        if (binary) fail("'b' appears twice");
        binary = true;
        break;
      case 't':
        if (text) fail("'t' appears twice");
        text = true;
        break;
      default:
        fail(`unknown character '${c}'; allowed are r, w, a, x, +, b, t`);
    }
  }
  if (kind === '') fail('it must contain exactly one of r, w, a, x');
  if (binary && text) fail("it cannot be both binary ('b') and text ('t')");
  const reading = kind === 'r' || plus;
  const writing = kind !== 'r' || plus;
  let flags = reading && writing ? O.RDWR : writing ? O.WRONLY : O.RDONLY;
  if (kind === 'w') flags |= O.CREAT | O.TRUNC;
  if (kind === 'a') flags |= O.CREAT | O.APPEND;
  if (kind === 'x') flags |= O.CREAT | O.EXCL;
  return {
    reading,
    writing,
    appending: kind === 'a',
    exclusive: kind === 'x',
    binary,
    flags,
    rawMode: `${kind}b${plus ? '+' : ''}`,
  };
}
