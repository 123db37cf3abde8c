import { basename } from 'node:path';
import { formatAge } from '../diagnostics/leak-report.js';
import type { OpenCountPoint } from './open-count-series.js';
import type { RegisterReport, RegisterReportSite } from './report.js';

/** How many open sites the bar chart shows (the table lists them all). */
const CHART_SITES = 20;

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The `FDKEEPER_REPORT=html:<file>` page: one self-contained file (inline CSS and SVG, no scripts, no
 * fonts, no links to anything) that can be attached to a bug report or opened from a CI artifact. It
 * shows open descriptors over time, open descriptors per open site, and a table of every site with its
 * stack and sample paths.
 */
export function renderHtmlReport(report: RegisterReport): string {
  const title = `fdkeeper leak report: pid ${report.pid}`;
  const command = report.argv.slice(1).join(' ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #1d2430; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; }
h2 { font-size: 1.1em; margin-top: 2em; border-bottom: 1px solid #dde; padding-bottom: 0.2em; }
.meta { color: #566; }
.numbers { display: flex; gap: 2em; margin: 1em 0; }
.numbers div { font-size: 0.9em; color: #566; }
.numbers b { display: block; font-size: 1.8em; color: #1d2430; }
.numbers .bad b { color: #b3261e; }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; }
th, td { text-align: left; vertical-align: top; padding: 0.35em 0.6em; border-bottom: 1px solid #e4e6ee; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font-family: ui-monospace, monospace; font-size: 0.92em; }
pre { margin: 0.3em 0 0; white-space: pre-wrap; color: #445; }
svg { max-width: 100%; height: auto; }
svg text { font: 11px ui-monospace, monospace; fill: #445; }
.line { fill: none; stroke: #2f6fdf; stroke-width: 1.5; }
.bar { fill: #d9534f; }
.axis { stroke: #99a; stroke-width: 1; }
.grid { stroke: #e4e6ee; stroke-width: 1; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="meta"><code>${escapeHtml(command)}</code><br>report made ${escapeHtml(report.reason === 'exit' ? 'at exit' : report.reason === 'signal' ? 'on SIGUSR2' : 'on request')} ${escapeHtml(report.time)}, after ${escapeHtml(formatAge(report.uptimeMs))}; Node ${escapeHtml(report.node)}; cwd <code>${escapeHtml(report.cwd)}</code></p>
<div class="numbers">
<div class="${report.open > 0 ? 'bad' : ''}"><b>${report.open}</b>still open</div>
<div><b>${report.sites.length}</b>${report.sites.length === 1 ? 'open site' : 'open sites'}</div>
<div><b>${report.opened}</b>opened through node:fs</div>
<div><b>${report.closed}</b>closed</div>
<div class="${report.gcClosed > 0 ? 'bad' : ''}"><b>${report.gcClosed}</b>closed by the garbage collector</div>
</div>
<h2>Open descriptors over time</h2>
${report.series === undefined ? '<p>Not recorded.</p>' : timeChart(report.series)}
<h2>Still open, by open site</h2>
${report.sites.length === 0 ? '<p>Nothing opened through node:fs is still open.</p>' : siteChart(report.sites)}
${report.sites.length === 0 ? '' : siteTable(report.sites)}
${reclaimedSection(report)}
</body>
</html>
`;
}

/** A step line of the open count; each bucket draws its peak as a spike, so short bursts stay visible. */
function timeChart(points: readonly OpenCountPoint[]): string {
  const width = 760;
  const height = 260;
  const left = 52;
  const right = 16;
  const top = 14;
  const bottom = 34;
  const tMax = Math.max(1, ...points.map((p) => p.t));
  const vMax = Math.max(1, ...points.map((p) => p.max));
  const x = (t: number): number => left + ((width - left - right) * t) / tMax;
  const y = (v: number): number => top + (height - top - bottom) * (1 - v / vMax);
  const f = (n: number): string => n.toFixed(1);
  const path: string[] = [];
  let previous: OpenCountPoint | undefined;
  for (const p of points) {
    if (previous === undefined) path.push(`M${f(x(p.t))},${f(y(p.max))}`);
    else path.push(`H${f(x(p.t))}`, `V${f(y(p.max))}`);
    path.push(`V${f(y(p.last))}`);
    previous = p;
  }
  const yTicks = [...new Set([0, Math.round(vMax / 2), vMax])];
  const xTicks = [0, tMax / 2, tMax];
  const grid = yTicks
    .map(
      (v) =>
        `<line class="grid" x1="${left}" x2="${width - right}" y1="${f(y(v))}" y2="${f(y(v))}"/><text x="${left - 6}" y="${f(y(v) + 4)}" text-anchor="end">${v}</text>`,
    )
    .join('');
  const xLabels = xTicks
    .map(
      (t) => `<text x="${f(x(t))}" y="${height - bottom + 16}" text-anchor="middle">${escapeHtml(formatAge(t))}</text>`,
    )
    .join('');
  return `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="open descriptors over time, peak ${vMax}">
${grid}
<line class="axis" x1="${left}" x2="${left}" y1="${top}" y2="${height - bottom}"/><line class="axis" x1="${left}" x2="${width - right}" y1="${height - bottom}" y2="${height - bottom}"/>
<path class="line" d="${path.join('')}"/>
${xLabels}<text x="${(left + width - right) / 2}" y="${height - 4}" text-anchor="middle">time since the hook was installed (peak ${vMax} open)</text>
</svg>`;
}

/** `fn (file.js:12)`: short enough for a chart label; the table has the full path. */
function shortSite(s: RegisterReportSite): string {
  if (s.site === null || s.file === null) return '<unknown site>';
  return `${s.function ?? '<anonymous>'} (${basename(s.file)}:${s.line ?? '?'})`;
}

/** Horizontal bars, one per open site, labelled above the bar. */
function siteChart(sites: readonly RegisterReportSite[]): string {
  const shown = sites.slice(0, CHART_SITES);
  const width = 760;
  const left = 8;
  const barMax = width - left - 70;
  const row = 36;
  const height = shown.length * row + 8;
  const max = Math.max(1, ...shown.map((s) => s.count));
  const bars = shown
    .map((s, i) => {
      const y = 8 + i * row;
      const w = Math.max(2, (barMax * s.count) / max);
      return `<text x="${left}" y="${y + 10}">${escapeHtml(shortSite(s))}</text><rect class="bar" x="${left}" y="${y + 15}" width="${w.toFixed(1)}" height="14"/><text x="${(left + w + 6).toFixed(1)}" y="${y + 26}">${s.count}</text>`;
    })
    .join('\n');
  const more =
    sites.length > shown.length
      ? `<p>… and ${sites.length - shown.length} more open sites in the table below.</p>`
      : '';
  return `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="open descriptors per open site">
${bars}
</svg>${more}`;
}

function siteTable(sites: readonly RegisterReportSite[]): string {
  const rows = sites
    .map((s) => {
      const apis = Object.entries(s.apis)
        .map(([api, n]) => `${api} ${n}`)
        .join(', ');
      return `<tr><td class="n">${s.count}</td><td class="n">${escapeHtml(formatAge(s.oldestAgeMs))}</td><td><code>${escapeHtml(s.site ?? '<unknown site>')}</code><pre>${escapeHtml(s.stack)}</pre></td><td>${s.samplePaths.map((p) => `<code>${escapeHtml(p)}</code>`).join('<br>')}</td><td>${escapeHtml(apis)}<br>fds ${escapeHtml(abbreviate(s.fds))}</td></tr>`;
    })
    .join('\n');
  return `<table>
<thead><tr><th>open</th><th>oldest</th><th>open site</th><th>sample paths</th><th>opened by</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
}

function reclaimedSection(report: RegisterReport): string {
  if (report.gcClosed === 0) return '';
  const rows = report.reclaimed
    .map(
      (r) =>
        `<tr><td class="n">${r.count}</td><td><code>${escapeHtml(r.site ?? '<unknown site>')}</code></td><td>${r.samplePaths.map((p) => `<code>${escapeHtml(p)}</code>`).join('<br>')}</td></tr>`,
    )
    .join('\n');
  return `<h2>Closed by the garbage collector</h2>
<p>${report.gcClosed} FileHandles were never closed by the app; Node closed them when they were garbage-collected. Until then they were leaks, and under load they run a process out of descriptors.</p>
<table><thead><tr><th>count</th><th>open site</th><th>sample paths</th></tr></thead><tbody>
${rows}
</tbody></table>`;
}

/** `3, 4, 5 … 52` for long lists. */
function abbreviate(fds: readonly number[]): string {
  return fds.length <= 8
    ? fds.join(', ')
    : `${fds.slice(0, 6).join(', ')} … ${fds[fds.length - 1] ?? ''} (${fds.length})`;
}
