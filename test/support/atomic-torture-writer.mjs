// Writer child of test/atomic-torture.test.ts, killed with SIGKILL at a random instant by the parent:
//
//   node atomic-torture-writer.mjs <target> <atomic|naive|rename> <full|file|none> <name>
//
// Loads the built library (dist/: plain JavaScript, so that the child starts fast; with
// FDKEEPER_TORTURE_WORKER=1 its writes run on a replace worker), prints 'R' once
// ready, then replaces <target> in a tight loop with self-validating contents of random sizes
// (atomic-torture-content.mjs) — through atomicWrite with the given durability; or (naive, the
// negative control) fs.writeFileSync in place; or (rename, a hand-written positive control of the
// harness) a temp file named as atomicWrite names them, renamed over the target without fsync —
// printing '.' after each completed write. It never stops by itself: any exit other than the
// parent's SIGKILL is a failure (the error goes to stderr).
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { makeContent, randomLength } from './atomic-torture-content.mjs';

const [target, mode, durability, name] = process.argv.slice(2);
if (
  target === undefined ||
  name === undefined ||
  !['atomic', 'naive', 'rename'].includes(mode) ||
  !['full', 'file', 'none'].includes(durability)
) {
  process.stderr.write('usage: atomic-torture-writer.mjs <target> <atomic|naive|rename> <full|file|none> <name>\n');
  process.exit(2);
}
const { atomicWrite } = mode === 'atomic' ? await import(new URL('../../dist/index.js', import.meta.url).href) : {};
if (mode === 'atomic' && process.env.FDKEEPER_TORTURE_WORKER === '1') {
  // Writes on a replace worker from the first one on (the parent sets this for every other writer).
  // The build's internal entry for the pool (not in package.json's exports; the same pool as dist/index.js's).
  const pool = await import(new URL('../../dist/lib/worker-pool.js', import.meta.url).href);
  pool.setWorkerPolicy({ startAfter: 0 });
  if (!(await pool.workersReady())) throw new Error('no replace worker');
}

process.stdout.write('R');
for (let n = 0; ; n++) {
  const content = makeContent(`${name}-${n.toString(36)}`, randomLength());
  if (mode === 'atomic') await atomicWrite(target, content, { durability });
  else if (mode === 'rename') {
    const temp = path.join(
      path.dirname(target),
      `.${path.basename(target)}.${process.pid.toString(36)}-${randomBytes(6).toString('hex')}.fdkeeper-tmp`,
    );
    fs.writeFileSync(temp, content, { flag: 'wx' });
    fs.renameSync(temp, target);
  } else fs.writeFileSync(target, content);
  process.stdout.write('.');
}
