/**
 * The facade's promise API waits on the table's budget instead of failing with EMFILE (issue 13 item 1):
 * the real consumers a user has — isomorphic-git adding 2,000 files, glob walking a tree — run on
 * `createFs(new MemoryBackend())` with default options, whose backend refuses past 1,024 open
 * descriptors. The synchronous API cannot wait and fails with a clear EMFILE.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import git from 'isomorphic-git';
import { glob } from 'glob';
import { MemoryBackend } from '../src/backend/memory/memory-backend.js';
import { FileTable } from '../src/table/file-table.js';
import { createFs, type FsFacade } from '../src/facade/create-fs.js';
import { FsError } from '../src/errors/fs-error.js';

const FILES = 2000;
const DIR = '/repo';
const author = { name: 'fdkeeper', email: 'fdkeeper@example.invalid', timestamp: 1_700_000_000, timezoneOffset: 0 };

/** 2,000 files in 20 directories, each with its own content. */
async function populate(fs: FsFacade): Promise<string[]> {
  const paths: string[] = [];
  for (let i = 0; i < FILES; i++) paths.push(`d${i % 20}/f${i}.txt`);
  for (let d = 0; d < 20; d++) await fs.promises.mkdir(`${DIR}/d${d}`, { recursive: true });
  // In batches well under the backend's 1,024 descriptors: the many concurrent opens are git's.
  for (let k = 0; k < FILES; k += 100)
    await Promise.all(paths.slice(k, k + 100).map((p, i) => fs.promises.writeFile(`${DIR}/${p}`, `file ${k + i}\n`)));
  return paths;
}

test('isomorphic-git: init, 2,000 files, add ., commit, readBlob on createFs(new MemoryBackend()) with default options', async () => {
  const fs = createFs(new MemoryBackend());
  await git.init({ fs, dir: DIR });
  const paths = await populate(fs);
  await git.add({ fs, dir: DIR, filepath: '.' });
  const matrix = await git.statusMatrix({ fs, dir: DIR });
  assert.equal(matrix.length, FILES);
  for (const [file, head, workdir, stage] of matrix)
    assert.deepEqual([head, workdir, stage], [0, 2, 2], `${file} is added`);
  const oid = await git.commit({ fs, dir: DIR, message: '2,000 files', author });
  for (const i of [0, 999, 1999]) {
    const { blob } = await git.readBlob({ fs, dir: DIR, oid, filepath: paths[i] ?? '' });
    assert.equal(Buffer.from(blob).toString(), `file ${i}\n`);
  }
  const after = await git.statusMatrix({ fs, dir: DIR });
  assert.ok(
    after.every(([, head, workdir, stage]) => head === 1 && workdir === 1 && stage === 1),
    'everything committed, nothing modified',
  );
  assert.equal(fs.table.size, 0, 'every descriptor was closed');
});

test('control: the same git add on a table that may not wait for the backend to have room fails with EMFILE', async () => {
  const backend = new MemoryBackend();
  // emfileRetryMs 0: an open the backend refuses fails at once, as a bare open(2) does.
  const fs = createFs(backend, { table: new FileTable({ backend, emfileRetryMs: 0 }) });
  await git.init({ fs, dir: DIR });
  await populate(fs);
  await assert.rejects(git.add({ fs, dir: DIR, filepath: '.' }), { code: 'EMFILE' });
});

test('glob over the facade: a tree of 2,000 files, matched with its fs option', async () => {
  const fs = createFs(new MemoryBackend());
  await fs.promises.mkdir(DIR);
  const paths = await populate(fs);
  const found = await glob('**/*.txt', { cwd: DIR, fs, posix: true });
  assert.deepEqual(found.sort(), [...paths].sort());
  const sync = glob.sync('d1/*.txt', { cwd: DIR, fs, posix: true });
  assert.equal(sync.length, FILES / 20);
});

test('a promise open past the budget waits for a close; a synchronous one fails at once with EMFILE', async () => {
  const backend = new MemoryBackend();
  const fs = createFs(backend, { table: new FileTable({ backend, maxOpen: 4 }) });
  fs.mkdirSync('/d');
  const fds = [0, 1, 2, 3].map((i) => fs.openSync(`/d/${i}`, 'w'));
  let err: unknown;
  try {
    fs.openSync('/d/4', 'w');
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof FsError, String(err));
  assert.equal(err.code, 'EMFILE');
  assert.equal(err.path, '/d/4');
  assert.match(err.message, /fd budget of 4 exhausted/);
  let opened = false;
  const waiting = fs.promises.open('/d/4', 'w').then((h) => {
    opened = true;
    return h;
  });
  const viaCallback = new Promise<number>((resolve, reject) => {
    fs.open('/d/5', 'w', (e, fd) => {
      if (e === null) resolve(fd);
      else reject(e);
    });
  });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(opened, false, 'the promise open waits while the budget is full');
  fs.closeSync(fds[0] ?? -1);
  const h = await waiting;
  await h.close();
  fs.closeSync(await viaCallback);
  for (const fd of fds.slice(1)) fs.closeSync(fd);
  assert.equal(fs.table.size, 0);
});
