// A throwaway reference of a rotation-proof log writer, for the log loss test's harness only: it shows
// that the harness passes a correct writer (0 lost for delete and replace) before — and independently
// of — fdkeeper's LogFile. Deliberately simple and synchronous: lines are buffered for one tick, and
// every `checkInterval` ms the path is compared with the open file (dev + ino, and nlink 0 for "no
// longer linked anywhere"). On a mismatch it opens the path anew and, when the old inode is unlinked
// (deleted or replaced), copies into the new file what it wrote after the last confirmed check.
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';

export class ReferenceLog {
  /** Opens (creating) `path` for append. */
  constructor(path, checkInterval) {
    this.path = path;
    this.checkInterval = checkInterval;
    this.fd = fs.openSync(path, 'a+');
    this.confirmed = fs.fstatSync(this.fd).size;
    this.lastCheck = performance.now();
    this.pending = [];
    /** Bytes of lines handed to the kernel (carried copies not counted). */
    this.bytesWritten = 0;
    this.reopens = 0;
  }

  write(line) {
    this.pending.push(line);
  }

  /** Writes the buffered lines, then checks the path when a check is due. */
  tick() {
    this.flush();
    if (performance.now() - this.lastCheck >= this.checkInterval) this.check();
  }

  flush() {
    if (this.pending.length === 0) return;
    const chunk = Buffer.from(this.pending.join(''), 'latin1');
    this.pending = [];
    fs.writeSync(this.fd, chunk);
    this.bytesWritten += chunk.length;
  }

  check() {
    this.lastCheck = performance.now();
    // The size before the path is looked at: whatever is beyond it was written after this check and
    // is carried if the check turns out to be the last one that confirmed the file.
    const size = fs.fstatSync(this.fd).size;
    let linked;
    try {
      linked = fs.statSync(this.path);
    } catch {
      linked = undefined;
    }
    const open = fs.fstatSync(this.fd);
    if (linked !== undefined && linked.dev === open.dev && linked.ino === open.ino && open.nlink > 0) {
      this.confirmed = size;
      return;
    }
    const fd = fs.openSync(this.path, 'a+');
    if (open.nlink === 0 && open.size > this.confirmed) {
      const carry = Buffer.alloc(open.size - this.confirmed);
      const n = fs.readSync(this.fd, carry, 0, carry.length, this.confirmed);
      fs.writeSync(fd, carry, 0, n);
    }
    fs.closeSync(this.fd);
    this.fd = fd;
    this.confirmed = fs.fstatSync(fd).size;
    this.reopens++;
  }

  close() {
    this.flush();
    this.check();
    fs.closeSync(this.fd);
  }
}
