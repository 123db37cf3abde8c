// Stands in for `node:test` in the test suites compiled for the Windows run (scripts/windows/compile.mjs
// rewrites the import, adding `?suite=<name>`). test/it/describe/suite are node:test's own, except that a
// test the skip list (skips.mjs) names for this suite is skipped with the list's reason — so a POSIX-only
// test says why it did not run, in the output and in the runner's summary, and is never silently dropped.
import * as nodeTest from 'node:test';
import { TEST_SKIPS } from './skips.mjs';

const suiteName = new URL(import.meta.url).searchParams.get('suite') ?? '';
const mine = TEST_SKIPS.filter((s) => s.suite === suiteName);

function reasonFor(name) {
  if (typeof name !== 'string') return undefined;
  for (const s of mine) if (typeof s.name === 'string' ? s.name === name : s.name.test(name)) return s.reason;
  return undefined;
}

function withSkips(fn) {
  const wrapped = function (...args) {
    const name = typeof args[0] === 'string' ? args[0] : undefined;
    const reason = reasonFor(name);
    if (reason === undefined) return fn(...args);
    const body = args.find((a) => typeof a === 'function');
    const opts = args.find((a) => a !== null && typeof a === 'object') ?? {};
    return fn(name, { ...opts, skip: `win32: ${reason}` }, body ?? (() => {}));
  };
  // test.after, test.describe, test.skip…: node:test's own, as on the function it stands in for.
  return Object.assign(wrapped, fn);
}

export const test = withSkips(nodeTest.test);
export const it = withSkips(nodeTest.it);
export const describe = withSkips(nodeTest.describe);
export const suite = nodeTest.suite === undefined ? undefined : withSkips(nodeTest.suite);
export const { after, afterEach, before, beforeEach, mock, run, only, skip, todo } = nodeTest;
export default test;
