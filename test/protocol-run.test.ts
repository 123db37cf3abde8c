import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, now, runAsync, runSync, type Protocol } from '../src/protocol/run.js';

// A protocol with a failing step, a catch and a finally: both runners must see the same sequence.
function* steps(log: string[], failAt: number): Protocol<string> {
  try {
    for (let i = 0; i < 3; i++) {
      const v = yield* call(
        () => {
          log.push(`sync ${i}`);
          if (i === failAt) throw new Error(`boom ${i}`);
          return i * 2;
        },
        () => {
          log.push(`async ${i}`);
          return i === failAt ? Promise.reject(new Error(`boom ${i}`)) : Promise.resolve(i * 2);
        },
      );
      log.push(`got ${v}`);
    }
    return 'done';
  } catch (e) {
    log.push(`caught ${(e as Error).message}`);
    return yield* now(() => 'recovered');
  } finally {
    log.push('finally');
  }
}

test('runSync and runAsync perform the same steps, and a failed call is thrown back at its yield', async () => {
  for (const failAt of [-1, 0, 2]) {
    const a: string[] = [];
    const b: string[] = [];
    const rs = runSync(steps(a, failAt));
    const ra = await runAsync(steps(b, failAt));
    assert.equal(rs, ra);
    assert.equal(rs, failAt < 0 ? 'done' : 'recovered');
    assert.deepEqual(
      a.map((l) => l.replace('sync', 'X')),
      b.map((l) => l.replace('async', 'X')),
    );
    assert.ok(
      a.every((l) => !l.startsWith('async')),
      'the sync run never calls a promise form',
    );
    assert.ok(
      b.every((l) => !l.startsWith('sync')),
      'the async run never calls a sync form',
    );
  }
});

test('an error the protocol does not catch leaves both runners the same way', async () => {
  function* failing(): Protocol<number> {
    yield* call(
      () => {
        throw new Error('x');
      },
      () => Promise.reject(new Error('x')),
    );
    return 1;
  }
  assert.throws(() => runSync(failing()), /x/);
  await assert.rejects(runAsync(failing()), /x/);
});
