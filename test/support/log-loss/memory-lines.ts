/**
 * Helpers of the deterministic LogFile tests (log-file, log-rotate-cooperation): numbered lines, and
 * reading and writing whole files on a Backend (the memory backend has no node:fs).
 */
import fs from 'node:fs';
import type { Backend } from '../../../src/backend/backend.js';
import type { LogFile } from '../../../src/log/log-file.js';

/** `line <from>\n` … `line <to - 1>\n`. */
export function lines(from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += `line ${i}\n`;
  return s;
}

/** Writes the same lines as {@link lines}, one record each. */
export function writeLines(log: LogFile, from: number, to: number): void {
  for (let i = from; i < to; i++) log.write(`line ${i}\n`);
}

/** The whole content of `p` on `m`. */
export function memText(m: Backend, p: string): string {
  const fd = m.openSync(p, fs.constants.O_RDONLY);
  try {
    const size = m.fstatSync(fd).size;
    const b = Buffer.alloc(size);
    m.readSync(fd, b, 0, size, 0);
    return b.toString();
  } finally {
    m.closeSync(fd);
  }
}

/** Creates or truncates `p` on `m` with `text` in it. */
export function memWrite(m: Backend, p: string, text: string): void {
  const fd = m.openSync(p, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o644);
  m.writeSync(fd, Buffer.from(text), 0, Buffer.byteLength(text), null);
  m.closeSync(fd);
}
