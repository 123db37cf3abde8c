// Shared fixtures for the io-layer tests (not a test file itself: it does not end in .test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FsError } from '../../src/errors/fs-error.js';
import { FileTable } from '../../src/table/file-table.js';

/**
 * A fresh temporary directory and a fresh FileTable for one test file. After each test the table must
 * be empty (nothing leaked); whatever a failing test left open is closed so the next test starts clean.
 */
export function ioFixture(
  prefix: string,
  table: FileTable = new FileTable(),
): {
  table: FileTable;
  dir: string;
  file: (name: string, content?: string | Uint8Array) => string;
  read: (p: string) => Buffer;
} {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `fdkeeper-${prefix}-`));
  let n = 0;
  test.afterEach(() => {
    const leaked = table.descriptors();
    for (const d of leaked) {
      try {
        d.closeSync();
      } catch {
        // already reported below
      }
    }
    assert.equal(leaked.length, 0, `descriptors leaked: ${leaked.map((d) => d.toString()).join(', ')}`);
    assert.equal(table.size, 0);
  });
  test.after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    table,
    dir,
    /** A path in the temp dir; with `content`, the file is created with it. Names are made unique. */
    file(name: string, content?: string | Uint8Array): string {
      const p = path.join(dir, `${String(++n)}-${name}`);
      if (content !== undefined) fs.writeFileSync(p, content);
      return p;
    },
    read(p: string): Buffer {
      return fs.readFileSync(p);
    },
  };
}

/** Asserts that `fn` throws an FsError with `code`, and (if given) a message matching `message`. */
export function throwsFs(fn: () => unknown, code: string, message?: RegExp | string): FsError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  return checkFsError(caught, code, message);
}

/** Asserts that `p` rejects with an FsError with `code`, and (if given) a message matching `message`. */
export async function rejectsFs(
  p: Promise<unknown> | (() => Promise<unknown>),
  code: string,
  message?: RegExp | string,
): Promise<FsError> {
  let caught: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    caught = e;
  }
  return checkFsError(caught, code, message);
}

/**
 * Asserts that every promise method in `calls` rejects (never throws synchronously) with an FsError with
 * `code` whose message matches `message`: a promise API reports failure through its promise.
 */
export async function allRejectFs(
  calls: readonly (readonly [string, () => Promise<unknown>])[],
  code: string,
  message: RegExp | string,
): Promise<void> {
  for (const [name, call] of calls) {
    let pr: Promise<unknown>;
    try {
      pr = call();
    } catch (e) {
      assert.fail(`${name}() threw synchronously instead of rejecting: ${String(e)}`);
    }
    const e = await rejectsFs(pr, code);
    if (typeof message === 'string')
      assert.ok(
        e.message.includes(message),
        `${name}: message ${JSON.stringify(e.message)} should contain ${JSON.stringify(message)}`,
      );
    else assert.match(e.message, message, name);
  }
}

function checkFsError(caught: unknown, code: string, message: RegExp | string | undefined): FsError {
  assert.ok(caught !== undefined, `expected an FsError ${code}, but nothing was thrown`);
  assert.ok(
    caught instanceof FsError,
    `expected an FsError ${code}, got ${caught instanceof Error ? (caught.stack ?? caught.message) : JSON.stringify(caught)}`,
  );
  assert.equal(caught.code, code, caught.message);
  if (typeof message === 'string')
    assert.ok(
      caught.message.includes(message),
      `message ${JSON.stringify(caught.message)} should contain ${JSON.stringify(message)}`,
    );
  else if (message !== undefined) assert.match(caught.message, message);
  return caught;
}

/** The characters (code points) of `s`, as the text layer counts them. */
export function codePoints(s: string): string[] {
  return Array.from(s);
}

/** Whether the raw kernel descriptor `fd` is open in this process. */
export function fdIsOpen(fd: number): boolean {
  try {
    fs.fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}
