// closed-behind-back with fdkeeper: the owner's RawFile closes, the borrower holds a `borrow()` view, not
// the number; its write after the number was reused fails with EBADF naming both sites.
import { closeSync, openSync as fsOpenSync } from 'node:fs';
import { BORROWER_BYTES } from './shared.js';
import { childArgs, errorFacts, libraryModule, report } from './report.js';

type Library = typeof import('../../../index.js');
const { FileTable, openSync } = (await import(libraryModule('index.js'))) as Library;
type Raw = InstanceType<Library['RawFile']>;

const [ownerPath, otherPath] = childArgs(2) as [string, string];
const table = new FileTable({ openSites: 'always' });

function ownerOpens(): Raw {
  return openSync(ownerPath, 'wb', { table, buffering: 0 }); // @open-site
}
function ownerCloses(file: Raw): void {
  file.closeSync(); // @close-site
}
function otherOpens(): number {
  return fsOpenSync(otherPath, 'w');
}
function borrowerWrites(view: Raw): number {
  return view.writeSync(Buffer.from(BORROWER_BYTES));
}

const owner = ownerOpens();
const view = owner.borrow(); // the borrower gets a borrowed view, not the number
const number = owner.descriptor.number;
ownerCloses(owner);
const otherFd = otherOpens();
let written: number | null = null;
let error: { name: string; code: string; message: string; openedAt: string | null; closedAt: string | null } | null =
  null;
try {
  written = borrowerWrites(view);
} catch (e) {
  const sites = e as { openedAt?: string; closedAt?: string };
  error = { ...errorFacts(e), openedAt: sites.openedAt ?? null, closedAt: sites.closedAt ?? null };
}
view.closeSync();
closeSync(otherFd);
report({ number, otherFd, written, error, tableSize: table.size, tableHeld: table.heldCount });
