// What the Windows run (npm run test:windows) does not run, and why. Every entry is printed in the
// run's summary; an entry that matched no test is reported as stale.
//
// SUITES_NOT_RUN: whole suites (test/<name>.test.ts) left out, each with its reason.
// TEST_SKIPS: single tests (or describe blocks) in suites that run, by exact name or RegExp.

/** @type {Record<string, string>} */
export const SUITES_NOT_RUN = {};

/** @type {{ suite: string, name: string | RegExp, reason: string }[]} */
export const TEST_SKIPS = [];
