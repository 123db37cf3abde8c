// Child of test/option-validation.test.ts: tries each case — one public call with one numeric option set
// to one value — in its own empty directory, and prints one JSON line per case. A case that aborts the
// process (a C++ assertion in node:fs) leaves a `start` line without its `done` line, so the parent can
// name it; the parent then reruns the remaining cases.
//
//   node option-child.mjs '<json { lib, root, cases: [{ id, api, option, value }] }>'
//
// Values travel as strings: '-0', '-1', '2**31', 'NaN', 'Infinity', '1.5', "'x'" (the string x).
import fs from 'node:fs';
import path from 'node:path';

const { lib: url, root, cases } = JSON.parse(process.argv[2] ?? '{}');
const lib = await import(url);
const facade = (await import(new URL('fs.js', url).href)).createFs(lib.fdtable.backend);

function decode(v) {
  return v === "'x'" ? 'x' : v === '-0' ? -0 : v === '2**31' ? 2 ** 31 : Number(v);
}

const ORIGINAL = 'original content\n';

/** Runs one call; `file` is a path in the case's own directory. */
async function call(api, option, v, dir) {
  const file = path.join(dir, 'target');
  switch (api) {
    case 'open': {
      const f = await lib.open(file, 'w', { [option]: v });
      await f.close();
      return;
    }
    case 'openSync':
      lib.openSync(file, 'w', { [option]: v }).closeSync();
      return;
    case 'fdopen':
      lib.openSync(v, 'w').closeSync();
      return;
    case 'openLog': {
      const options = option === 'fsync.intervalMs' ? { fsync: { intervalMs: v } } : { [option]: v };
      lib.openLog(file, options).closeSync();
      return;
    }
    case 'atomicWrite':
    case 'atomicWriteSync': {
      fs.writeFileSync(file, ORIGINAL);
      const options = option.startsWith('chown.')
        ? { chown: { uid: 0, gid: 0, [option.slice(6)]: v } }
        : { [option]: v };
      if (api === 'atomicWrite') await lib.atomicWrite(file, 'new content\n', options);
      else lib.atomicWriteSync(file, 'new content\n', options);
      return;
    }
    case 'atomicCreate': {
      const pending = await lib.atomicCreate(file, { [option]: v });
      await pending.write('new');
      await pending.commit();
      return;
    }
    case 'createExclusive':
      await lib.createExclusive(file, 'new', { wait: { [option.slice(5)]: v } });
      return;
    case 'cleanupTemps':
      await lib.cleanupTemps(dir, { [option]: v });
      return;
    case 'FileTable':
      new lib.FileTable({ [option]: v });
      return;
    case 'facade.openSync':
      facade.closeSync(facade.openSync(file, 'w', v));
      return;
    case 'facade.mkdirSync':
      facade.mkdirSync(file, { mode: v });
      return;
    case 'facade.chmodSync':
      fs.writeFileSync(file, ORIGINAL);
      facade.chmodSync(file, v);
      return;
    default:
      throw new Error(`unknown api ${api}`);
  }
}

for (const c of cases) {
  const dir = path.join(root, `case-${c.id}`);
  fs.mkdirSync(dir);
  process.stdout.write(JSON.stringify({ start: c.id }) + '\n');
  let error = null;
  try {
    await call(c.api, c.option, decode(c.value), dir);
  } catch (e) {
    error = { name: e?.constructor?.name ?? typeof e, code: e?.code ?? null, message: String(e?.message ?? e) };
  }
  const files = fs.readdirSync(dir).sort();
  const target = path.join(dir, 'target');
  const content = files.includes('target') && fs.statSync(target).isFile() ? fs.readFileSync(target, 'utf8') : null;
  process.stdout.write(JSON.stringify({ done: c.id, error, files, content }) + '\n');
}
