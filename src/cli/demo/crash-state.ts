import { atomicWrite } from '../../atomic/atomic-write.js';
import type { MemoryBackend } from '../../backend/memory/memory-backend.js';
import { O } from '../../backend/flags.js';
import { createFs } from '../../facade/create-fs.js';
import { exploreCrashes, type CrashMoment } from '../../testing/explore-crashes.js';
import type { DemoRow, RowOutcome } from './types.js';

const DIR = '/app';
const TARGET = '/app/config.json';
/** The old and new contents: over several 512-byte sectors, each in recognisable runs, so tearing shows. */
const OLD = 'o'.repeat(1000);
const NEW = 'A'.repeat(600) + 'B'.repeat(600) + 'C'.repeat(600);

/** How the states a crash could leave break down. */
export interface CrashTally {
  /** Distinct states a power loss from the start of the write on could leave. */
  readonly during: number;
  /** Distinct states a power loss after the write returned could leave. */
  readonly after: number;
  /** States (of either moment) that failed: not the complete old or new content while writing, not the new content after. */
  readonly bad: number;
  /** What the bad states held, by kind: `empty`, `torn`, `old` (after the write returned), `absent`. */
  readonly kinds: Readonly<Record<string, number>>;
}

/** `old`, `new`, `empty`, `torn`, `absent`. */
function kindOf(state: MemoryBackend): string {
  const content = state.tree()[TARGET];
  if (content === undefined) return 'absent';
  if (typeof content !== 'string') return content.kind;
  if (content === OLD) return 'old';
  if (content === NEW) return 'new';
  if (content === '') return 'empty';
  return 'torn';
}

async function explore(write: (b: MemoryBackend) => void | Promise<void>): Promise<CrashTally> {
  const kinds: Record<string, number> = {};
  const result = await exploreCrashes({
    setup: (b) => {
      b.mkdirSync(DIR);
      const fd = b.openSync(TARGET, O.WRONLY | O.CREAT | O.EXCL, 0o644);
      b.writeSync(fd, Buffer.from(OLD), 0, OLD.length, null);
      b.closeSync(fd);
    },
    run: write,
    check: (state, when: CrashMoment) => {
      const kind = kindOf(state);
      const ok = when === 'during' ? kind === 'old' || kind === 'new' : kind === 'new';
      if (ok) return;
      kinds[kind] = (kinds[kind] ?? 0) + 1;
      throw new Error(`${when}: ${kind}`);
    },
    throwOnFailure: false,
  });
  return { during: result.during, after: result.after, bad: result.failures.length, kinds };
}

/** Plain node:fs semantics (`writeFileSync` through the node:fs facade on the crash-model backend). */
export function plainCrashStates(): Promise<CrashTally> {
  return explore((b) => {
    createFs(b).writeFileSync(TARGET, NEW);
  });
}

/** fdkeeper's `atomicWrite` at its default durability ('full'). */
export function fdkeeperCrashStates(): Promise<CrashTally> {
  return explore(async (b) => {
    await atomicWrite(TARGET, NEW, { backend: b });
  });
}

function kindsText(kinds: Readonly<Record<string, number>>): string {
  const entries = Object.entries(kinds);
  return entries.length === 0 ? 'none' : entries.map(([k, n]) => `${k} ×${n}`).join(', ');
}

export const crashState: DemoRow = {
  id: 'crash-state',
  title: 'a power loss while a file is rewritten',
  async run(): Promise<RowOutcome> {
    const p = await plainCrashStates();
    const f = await fdkeeperCrashStates();
    const plainTotal = p.during + p.after;
    const fdTotal = f.during + f.after;
    const explained = `the crash explorer (fdkeeper/testing exploreCrashes, MemoryBackend crash model after ext4 data=ordered) enumerates every state a power loss could leave`;
    const plainOutcome = `${p.bad} of ${plainTotal} crash states bad (${kindsText(p.kinds)})`;
    const plainDetail = [
      `writeFileSync('${TARGET}', 1800 bytes) over 1000 old bytes; ${explained}: ${p.during} from the start of the write on, ${p.after} after it returned`,
      `bad: while writing, anything but the complete old or new file; after it returned, anything but the new file (no fsync: even "old" is a lost write)`,
      `found: ${kindsText(p.kinds)}`,
    ].join('\n');
    const pass = f.bad === 0 && f.during > 0 && f.after > 0;
    const fdOutcome = pass
      ? `0 of ${fdTotal} crash states bad`
      : `${f.bad} of ${fdTotal} crash states bad (${kindsText(f.kinds)})`;
    const fdDetail = [
      `await atomicWrite('${TARGET}', same bytes) (durability 'full': temp file, fsync, rename, fsync of the directory); the same exploration: ${f.during} + ${f.after} states`,
      `while writing every state holds the complete old or new file; once it resolved, only the new one`,
    ].join('\n');
    return {
      plain: { outcome: plainOutcome, detail: plainDetail },
      fdkeeper: { outcome: fdOutcome, detail: fdDetail },
      pass,
    };
  },
};
