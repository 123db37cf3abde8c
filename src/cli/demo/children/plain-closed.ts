// closed-behind-back, plain node:fs: the owner closes its descriptor, another open reuses the number, and
// a borrower that kept the bare number writes through it.
import { closeSync, openSync, writeSync } from 'node:fs';
import { BORROWER_BYTES } from './shared.js';
import { childArgs, errorFacts, report } from './report.js';

const [ownerPath, otherPath] = childArgs(2) as [string, string];

function ownerOpens(): number {
  return openSync(ownerPath, 'w');
}
function ownerCloses(fd: number): void {
  closeSync(fd);
}
function otherOpens(): number {
  return openSync(otherPath, 'w');
}
function borrowerWrites(fd: number): number {
  return writeSync(fd, BORROWER_BYTES);
}

const ownerFd = ownerOpens();
const borrowed = ownerFd; // the borrower keeps the bare number
ownerCloses(ownerFd);
const otherFd = otherOpens(); // the kernel hands out the lowest free number
let written: number | null = null;
let error: { code: string; message: string } | null = null;
try {
  written = borrowerWrites(borrowed);
} catch (e) {
  const { code, message } = errorFacts(e);
  error = { code, message };
}
closeSync(otherFd);
report({ ownerFd, otherFd, written, error });
