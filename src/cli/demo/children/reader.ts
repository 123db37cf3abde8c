// torn-write: the reader racing either writer; classifies every read as whole, empty or torn.
import { readFileSync } from 'node:fs';
import { report } from './report.js';
import { raceArgs } from './torn.js';

const { path, ms } = raceArgs();
let reads = 0;
let whole = 0;
let empty = 0;
let torn = 0;
let tornExample: number | null = null;
const deadline = performance.now() + ms;
while (performance.now() < deadline) {
  const bytes = readFileSync(path);
  reads++;
  if (bytes.length === 0) {
    empty++;
    continue;
  }
  let ok = false;
  try {
    const d = JSON.parse(bytes.toString()) as { v?: unknown; end?: unknown };
    ok = d.v === d.end;
  } catch {
    // a torn document is not JSON
  }
  if (ok) whole++;
  else {
    torn++;
    tornExample ??= bytes.length;
  }
}
report({ reads, whole, empty, torn, tornExample });
