#!/usr/bin/env node
// Compares two `npm run bench -- --json FILE` runs (before, after) in one table.
// Absolute times swing with machine load, so each contender is compared through its ratio to the
// group's first baseline (a bare node:fs row measured in the same rounds): change = how much slower the
// row is, relative to that baseline, after than before. Noise is the larger round-to-round range
// ((max − min) / median) of the two runs; a row is "worse" only when its change exceeds 1 + noise.
//
//   node scripts/bench-compare.mjs before.json after.json [--markdown]
import { readFileSync } from 'node:fs';

const [beforeFile, afterFile] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (beforeFile === undefined || afterFile === undefined) {
  console.error('usage: node scripts/bench-compare.mjs before.json after.json');
  process.exit(2);
}
const load = (f) => JSON.parse(readFileSync(f, 'utf8'));
const before = load(beforeFile);
const after = load(afterFile);

function rows(run) {
  const out = new Map();
  for (const g of run.groups) {
    const base = g.contenders.find((c) => c.name === g.baselines?.[0]);
    for (const c of g.contenders) {
      const range = c.median > 0 ? (c.max - c.min) / c.median : 0;
      // The harness's ratio: median of per-round ratios; for latency groups a time ratio (> 1: slower than the
      // baseline), for throughput groups a speed ratio (> 1: faster).
      const ratio = base === undefined ? undefined : c.ratios?.[base.name];
      out.set(`${g.id}\u0000${c.name}`, { group: g.id, name: c.name, ratio, range, kind: g.kind, isBase: c === base });
    }
  }
  return out;
}
const b = rows(before);
const a = rows(after);
const fmt = (x) => (x === undefined ? '—' : x.toFixed(3));
let worse = 0;
const lines = [
  '| group | contender | before (× baseline) | after (× baseline) | change | noise | verdict |',
  '|---|---|---|---|---|---|---|',
];
for (const [key, r] of a) {
  const old = b.get(key);
  if (r.isBase) continue;
  if (old === undefined || old.ratio === undefined || r.ratio === undefined) {
    lines.push(`| ${r.group} | ${r.name} | — | ${fmt(r.ratio)} | — | — | new row |`);
    continue;
  }
  // change > 1 always means slower than before.
  const change = r.kind === 'throughput' ? old.ratio / r.ratio : r.ratio / old.ratio;
  const noise = Math.max(r.range, old.range);
  const verdict = change > 1 + noise ? 'worse' : change < 1 / (1 + noise) ? 'better' : 'same (within noise)';
  if (verdict === 'worse' && /fdkeeper/i.test(r.name)) worse++;
  lines.push(
    `| ${r.group} | ${r.name} | ${fmt(old.ratio)} | ${fmt(r.ratio)} | ${change.toFixed(2)}× | ±${(noise * 100).toFixed(0)}% | ${verdict} |`,
  );
}
for (const [key, r] of b)
  if (!a.has(key) && !r.isBase) lines.push(`| ${r.group} | ${r.name} | ${fmt(r.ratio)} | — | — | — | gone |`);
console.log(lines.join('\n'));
console.log(`\n${worse} fdkeeper row(s) worse beyond noise.`);
