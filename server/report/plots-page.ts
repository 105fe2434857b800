/**
 * The plots page of `dws report plots`: one chart per metric across snapshots, as one
 * self-contained HTML file. The charts are drawn by uPlot (MIT, leeoniya/uPlot; ~50 kB minified),
 * whose minified build and style sheet are inlined from the installed `uplot` package, so the page
 * works from disk and in a VS Code webview with no network. The tables are drawn here; the inline
 * script only builds the charts and the hover card (plain ES2017 in a string: no build step).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { InternalError } from '../../protocol/errors.js';
import type { ReportPlots } from '../../protocol/index.js';
import { escapeXml, pageHead, scriptJson } from '../../lineage/graph-render.js';

export type PlotsData = Pick<ReportPlots, 'snapshots' | 'changingParams' | 'charts' | 'notPlotted'>;

let uplot: { script: string; style: string; licence: string } | undefined;

/** uPlot's browser build, style sheet and licence (MIT: its notice goes with every copy), read once from the `uplot` dependency. */
function uplotSources(): { script: string; style: string; licence: string } {
  if (uplot === undefined) {
    const read = (file: string) => {
      try {
        return readFileSync(createRequire(import.meta.url).resolve(`uplot/${file}`), 'utf8');
      } catch (e) {
        throw new InternalError(`Cannot read uplot/${file}, which the plots page inlines (${e instanceof Error ? e.message : String(e)}): reinstall dataworkspaces with its dependencies`);
      }
    };
    uplot = {
      // `<\/` means the same as `</` inside JS strings and regexps, and cannot end the <script> element.
      script: read('dist/uPlot.iife.min.js').replace(/<\/(script)/gi, '<\\/$1'),
      style: read('dist/uPlot.min.css'),
      licence: read('LICENSE').replaceAll('--', '- -'), // inside an HTML comment
    };
  }
  return uplot;
}

export function renderPlotsPage(title: string, data: PlotsData): string {
  const { script, style, licence } = uplotSources();
  const n = data.snapshots.length;
  const plural = (k: number, word: string) => `${k} ${word}${k === 1 ? '' : 's'}`;
  const summary = [plural(n, 'snapshot'), plural(data.charts.length, 'chart'), ...(data.notPlotted.length > 0 ? [`${data.notPlotted.length} not plotted`] : [])].join(' · ');
  return `${pageHead(title)}
<style>
${style}
${PAGE_STYLE}
</style>
</head>
<body>
<header><h1>${escapeXml(title)}</h1><span class="summary">${summary}</span></header>
<main>
${emptyNote(data)}
<div id="charts"></div>
${notPlottedTable(data)}
${sameParams(data)}
</main>
<div id="tooltip" hidden></div>
<script type="application/json" id="plots-data">${scriptJson(data)}</script>
<!-- The charts are drawn by uPlot (https://github.com/leeoniya/uPlot), inlined below under its licence:
${licence.trim()}
-->
<script>
${script}
</script>
<script>
${PAGE_SCRIPT}
</script>
</body>
</html>
`;
}

function emptyNote(data: PlotsData): string {
  if (data.snapshots.length === 0) {
    return '<p class="empty">No snapshots yet. Take one with <code>dws snapshot</code> or <code>dws run</code>: the <code>metrics</code> of a results resource\'s <code>results.json</code> are recorded with it.</p>';
  }
  if (data.charts.length === 0 && data.notPlotted.length === 0) {
    return `<p class="empty">No snapshot has metrics. A snapshot records the <code>metrics</code> object of a results resource's <code>results.json</code>.</p>`;
  }
  return '';
}

/** Metrics that are not (all) numbers: each value with the snapshots that have it. */
function notPlottedTable(data: PlotsData): string {
  if (data.notPlotted.length === 0) return '';
  const rows = data.notPlotted.map(({ metric, values }) => {
    const groups = new Map<string, string[]>();
    values.forEach((v, i) => {
      if (v === null) return;
      const text = typeof v === 'string' ? v : JSON.stringify(v);
      groups.set(text, [...(groups.get(text) ?? []), data.snapshots[i]!.label]);
    });
    const cells = [...groups].map(([value, labels]) => `<li><code>${escapeXml(value)}</code> in ${escapeXml(labels.join(', '))}</li>`);
    return `<tr><th>${escapeXml(metric)}</th><td>${cells.length > 0 ? `<ul>${cells.join('')}</ul>` : 'no value in any snapshot'}</td></tr>`;
  });
  return `<section id="not-plotted"><h2>Not plotted: values that are not numbers</h2><table>${rows.join('\n')}</table></section>`;
}

/** Params with one value in every snapshot: said once here rather than on every hover card. */
function sameParams(data: PlotsData): string {
  const first = data.snapshots[0];
  if (data.snapshots.length < 2 || first === undefined) return '';
  const same = Object.keys(first.params).filter((p) => !data.changingParams.includes(p) && data.snapshots.every((s) => Object.hasOwn(s.params, p)));
  if (same.length === 0) return '';
  return `<p class="same">The same in every snapshot: ${same.map((p) => `<code>${escapeXml(p)} = ${escapeXml(JSON.stringify(first.params[p]))}</code>`).join(', ')}</p>`;
}

const PAGE_STYLE = String.raw`
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #0f172a; background: #f8fafc; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 16px; padding: 10px 18px; background: #fff; border-bottom: 1px solid #e2e8f0; }
h1 { margin: 0; font-size: 18px; font-weight: 600; }
.summary { color: #64748b; font-size: 13px; }
main { padding: 16px 18px; }
#charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 16px; }
.chart { min-width: 0; padding: 10px 12px 4px; background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; }
.chart h2, #not-plotted h2 { margin: 0 0 6px; font-size: 15px; font-weight: 600; overflow-wrap: anywhere; }
.plot { width: 100%; }
.empty { margin: 15vh 0; text-align: center; color: #64748b; }
#not-plotted { margin-top: 20px; padding: 10px 12px; background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; }
#not-plotted table { border-collapse: collapse; }
#not-plotted th { text-align: left; vertical-align: top; padding: 3px 16px 3px 0; font-weight: 600; }
#not-plotted td { padding: 3px 0; }
#not-plotted ul { margin: 0; padding-left: 18px; }
code { font: 12px "DejaVu Sans Mono", ui-monospace, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.same { color: #475569; font-size: 13px; }
#tooltip { position: fixed; z-index: 10; max-width: 420px; padding: 8px 10px; background: #0f172a; color: #f8fafc; border-radius: 6px; font-size: 12px; pointer-events: none; box-shadow: 0 4px 14px rgba(15, 23, 42, 0.3); }
#tooltip strong { display: block; margin-bottom: 4px; font-size: 13px; overflow-wrap: anywhere; }
#tooltip table { border-collapse: collapse; }
#tooltip th { text-align: left; vertical-align: top; padding: 1px 10px 1px 0; color: #cbd5e1; font-weight: 600; white-space: nowrap; }
#tooltip th.section { padding-top: 5px; color: #94a3b8; font-size: 11px; text-transform: uppercase; letter-spacing: 0.05em; }
#tooltip td { padding: 1px 0; font-family: "DejaVu Sans Mono", ui-monospace, monospace; overflow-wrap: anywhere; }
`;

const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('plots-data').textContent);
  var tooltip = document.getElementById('tooltip');
  var charts = document.getElementById('charts');
  var COLOURS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4d7c0f'];
  var HEIGHT = 240;
  var labels = data.snapshots.map(function (s) { return s.label; });
  var xs = labels.map(function (_, i) { return i; });
  // About 7 px a character at the axis font, plus a gap.
  var labelSpace = Math.min(110, 16 + 7 * labels.reduce(function (m, l) { return Math.max(m, short(l).length); }, 2));

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function short(label) { return label.length > 14 ? label.slice(0, 13) + '\u2026' : label; }
  // Axis numbers: six significant digits, so steps like 0.30000000000000004 read 0.3.
  function number(v) { return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6))); }
  function text(v) { return v === null || v === undefined ? '\u2014' : typeof v === 'string' ? v : JSON.stringify(v); }

  // --- the hover card: the snapshot, the metric's value there and the params that differ ---
  function row(table, label, value, cls) {
    var tr = document.createElement('tr');
    var th = el('th', label, cls);
    tr.appendChild(th);
    if (value === undefined) th.colSpan = 2; else tr.appendChild(el('td', value));
    table.appendChild(tr);
  }
  function showTip(metric, value, i, x, y) {
    var s = data.snapshots[i];
    tooltip.textContent = '';
    tooltip.appendChild(el('strong', s.label));
    var t = document.createElement('table');
    row(t, metric, value === null ? 'no value' : String(value)); // the value itself, not rounded as on the axis
    row(t, 'snapshot', s.hash.slice(0, 12));
    row(t, 'taken', s.timestamp.slice(0, 19).replace('T', ' '));
    if (s.message) row(t, 'message', s.message);
    if (data.changingParams.length > 0) {
      row(t, 'Parameters', undefined, 'section');
      data.changingParams.forEach(function (p) { row(t, p, Object.prototype.hasOwnProperty.call(s.params, p) ? text(s.params[p]) : '\u2014'); });
    }
    tooltip.appendChild(t);
    tooltip.hidden = false;
    var w = tooltip.offsetWidth, h = tooltip.offsetHeight;
    var left = x + 14 + w > window.innerWidth - 4 ? x - w - 14 : x + 14;
    var top = y + 14 + h > window.innerHeight - 4 ? y - h - 14 : y + 14;
    tooltip.style.left = Math.max(4, left) + 'px';
    tooltip.style.top = Math.max(4, top) + 'px';
  }

  // --- one chart per metric: x is the snapshot's place in history, labelled by tag or hash ---
  var plots = data.charts.map(function (c, n) {
    var card = el('section', null, 'chart');
    card.setAttribute('data-metric', c.metric);
    card.appendChild(el('h2', c.metric));
    var holder = el('div', null, 'plot');
    card.appendChild(holder);
    charts.appendChild(card);
    var colour = COLOURS[n % COLOURS.length];
    return new uPlot({
      width: holder.clientWidth,
      height: HEIGHT,
      legend: { show: false },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: false, range: function () { return [-0.5, Math.max(labels.length - 0.5, 0.5)]; } } },
      axes: [
        {
          // Whole steps only, far enough apart for the longest label: many snapshots thin out the labels, not overlap them.
          incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000],
          space: labelSpace,
          values: function (u, splits) { return splits.map(function (v) { return Number.isInteger(v) && v >= 0 && v < labels.length ? short(labels[v]) : ''; }); },
          grid: { show: false },
        },
        { size: 64, values: function (u, splits) { return splits.map(number); } },
      ],
      series: [{}, { label: c.metric, stroke: colour, width: 2, spanGaps: true, points: { size: 7, fill: colour, stroke: colour } }],
      hooks: {
        setCursor: [function (u) {
          var i = u.cursor.idx;
          if (i === null || i === undefined || u.cursor.left < 0) { tooltip.hidden = true; return; }
          var r = u.over.getBoundingClientRect();
          showTip(c.metric, c.values[i], i, r.left + u.cursor.left, r.top + u.cursor.top);
        }],
      },
    }, [xs, c.values], holder);
  });

  window.addEventListener('resize', function () {
    plots.forEach(function (u) { u.setSize({ width: u.root.parentNode.clientWidth, height: HEIGHT }); });
  });
})();
`;
