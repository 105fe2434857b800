/**
 * Renderers of a lineage graph (lineage.md §10) for `dws lineage graph --format html|dot|mermaid|json`.
 * The HTML page is self-contained (no network fetch): the SVG is drawn here from the layout in
 * lineage/graph-layout.ts, and a small inline script adds pan/zoom, hover and a details panel.
 * 1.6's page is a GPL d3 template and not an interop artefact, so ours is our own (§10).
 */
import { PAGE_SCRIPT, PAGE_STYLE } from './graph-page.js';
import { formatDuration, layoutGraph, nodeLabel, SUBTITLE_FONT_SIZE, TITLE_FONT_SIZE } from './graph-layout.js';
import type { Point } from './graph-layout.js';
import type { GraphNode, LineageGraph } from './graph-model.js';

/** Colours of resources by role (the four dws roles; anything else is `other`). */
const ROLE_COLOURS: Record<string, { fill: string; stroke: string }> = {
  'source-data': { fill: '#dcfce7', stroke: '#16a34a' },
  'intermediate-data': { fill: '#dbeafe', stroke: '#2563eb' },
  code: { fill: '#ede9fe', stroke: '#7c3aed' },
  results: { fill: '#ffedd5', stroke: '#ea580c' },
  other: { fill: '#f1f5f9', stroke: '#64748b' },
};
const STEP_COLOURS = { fill: '#1e293b', stroke: '#0f172a', text: '#ffffff' };

type ResourceNode = Extract<GraphNode, { kind: 'resource' }>;

function roleKey(node: ResourceNode): string {
  return node.role !== null && node.role in ROLE_COLOURS ? node.role : 'other';
}

// --- html ----------------------------------------------------------------------------------------

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON safe inside `<script>`: no `</script>` or `<!--` can end or confuse the element. */
/** The start of a self-contained page (the lineage graph, the plots page): its scripts and styles are inline, and it loads nothing. */
export function pageHead(title: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>${escapeXml(title)}</title>`;
}

export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** Arguments joined as a shell would need them, for reading and copying. */
function shellJoin(args: string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

const ORIGINS: Record<ResourceNode['origin'], string> = {
  source_data: 'source data (no step in this workspace wrote it)',
  code: 'code',
  step_output: 'written by a step',
  imported: 'imported from another workspace',
  observed_write: 'seen written while the step ran: outside its declared outputs, or through a symlink out of its resource',
};

/** What the page's tooltip and details panel show for a node (the script only lays it out). */
function nodeInfo(node: GraphNode): { rows: Array<[string, string]>; params: Array<[string, string]> | null } {
  if (node.kind === 'step') {
    const seconds = node.executionTimeSeconds;
    return {
      rows: [
        ['Started', node.startTime.replace('T', ' ')],
        // The exact seconds too, where the rounded form hides them (ms, minutes).
        ['Duration', seconds === null ? 'unknown' : seconds >= 1 && seconds < 60 ? formatDuration(seconds) : `${formatDuration(seconds)} (${seconds} s)`],
        ['Command line', node.commandLine === null ? 'not recorded' : shellJoin(node.commandLine)],
      ],
      params: Object.entries(node.parameters).map(([k, v]) => [k, JSON.stringify(v) ?? String(v)]),
    };
  }
  const c = node.certificate;
  return {
    rows: [
      ['Resource', node.resource],
      ['Subpath', node.subpath ?? '(whole resource)'],
      ['Role', node.role ?? 'unknown'],
      ['Certificate', c === null ? 'none' : c.type === 'hash' ? `hash ${c.hash}` : `placeholder v${c.version} (not snapshotted yet)`],
      ['Origin', ORIGINS[node.origin]],
      ...(node.outside !== undefined ? ([['Really written to', `${node.outside} (through a symlink)`]] as Array<[string, string]>) : []),
    ],
    params: null,
  };
}

/** An SVG path through the route's points with horizontal tangents (smooth S-curves between columns). */
function edgePath(points: Point[]): string {
  const r = (n: number): number => Math.round(n * 10) / 10;
  let d = `M${r(points[0]!.x)},${r(points[0]!.y)}`;
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1]!, points[i]!];
    if (a.y === b.y) { d += ` L${r(b.x)},${r(b.y)}`; continue; }
    const dx = (b.x - a.x) / 2;
    d += ` C${r(a.x + dx)},${r(a.y)} ${r(b.x - dx)},${r(b.y)} ${r(b.x)},${r(b.y)}`;
  }
  return d;
}

function legend(g: LineageGraph): string {
  const roles = new Set(g.nodes.flatMap((n) => (n.kind === 'resource' ? [roleKey(n)] : [])));
  const items = [`<span class="item"><svg width="26" height="16"><rect x="1" y="2" width="24" height="12" rx="3" class="step-box"/></svg>step</span>`];
  for (const role of Object.keys(ROLE_COLOURS).filter((r) => roles.has(r))) {
    items.push(`<span class="item"><svg width="26" height="16"><rect x="1" y="2" width="24" height="12" rx="6" class="res-box role-${role}"/></svg>${role === 'other' ? 'other resource' : role}</span>`);
  }
  const kinds = (['input', 'code', 'output', 'observed'] as const).filter((k) => k !== 'observed' || g.edges.some((e) => e.kind === 'observed'));
  for (const kind of kinds) {
    items.push(`<span class="item"><svg width="30" height="16"><path d="M2,8 L22,8" class="edge ${kind}" marker-end="url(#arrow-${kind})"/></svg>${kind === 'input' ? 'reads' : kind === 'code' ? 'runs code' : kind === 'output' ? 'writes' : 'observed write'}</span>`);
  }
  return items.join('');
}

/** The SVG colours and shapes; legend swatches reuse the same classes. */
function svgStyle(): string {
  const roles = Object.entries(ROLE_COLOURS).map(([r, c]) => `.role-${r} { fill: ${c.fill}; stroke: ${c.stroke}; }`).join('\n');
  return `.step-box { fill: ${STEP_COLOURS.fill}; stroke: ${STEP_COLOURS.stroke}; }
.node text.title { font-size: ${TITLE_FONT_SIZE}px; font-weight: bold; }
.node text.subtitle { font-size: ${SUBTITLE_FONT_SIZE}px; }
.node.step text.title { fill: ${STEP_COLOURS.text}; }
.node.step text.subtitle { fill: #cbd5e1; }
${roles}`;
}

export function renderHtml(g: LineageGraph): string {
  const layout = layoutGraph(g);
  // Code edges are drawn first, under the data flow they would otherwise hide.
  const edges = [...layout.edges].sort((a, b) => Number(b.kind === 'code') - Number(a.kind === 'code')).map((e) => `<path class="edge ${e.kind}" data-from="${escapeXml(e.from)}" data-to="${escapeXml(e.to)}" d="${edgePath(e.points)}" marker-end="url(#arrow-${e.kind})"/>`);
  const nodes = g.nodes.map((n) => {
    const box = layout.nodes.get(n.id)!;
    const label = nodeLabel(n);
    const shape = n.kind === 'step'
      ? `<rect class="step-box" width="${box.width}" height="${box.height}" rx="4"/>`
      : `<rect class="res-box role-${roleKey(n)}${n.origin === 'imported' ? ' imported' : ''}" width="${box.width}" height="${box.height}" rx="${box.height / 2}"/>`;
    const cx = box.width / 2;
    return `<g class="node ${n.kind}" data-id="${escapeXml(n.id)}" transform="translate(${box.x},${box.y})" tabindex="0">${shape}` +
      `<text class="title" x="${cx}" y="19">${escapeXml(label.title)}</text><text class="subtitle" x="${cx}" y="35">${escapeXml(label.subtitle)}</text></g>`;
  });
  const data = {
    width: layout.width,
    height: layout.height,
    nodes: g.nodes.map((n) => ({ id: n.id, kind: n.kind, ...nodeLabel(n), ...nodeInfo(n) })),
    edges: g.edges,
  };
  const steps = g.nodes.filter((n) => n.kind === 'step').length;
  const markers = (['input', 'code', 'output', 'observed'] as const).map((k) =>
    `<marker id="arrow-${k}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrow ${k}"/></marker>`);
  return `${pageHead(g.title)}
<style>
${PAGE_STYLE}
${svgStyle()}
</style>
</head>
<body>
<header>
<div class="heading"><h1>${escapeXml(g.title)}</h1><span class="summary">${steps} step${steps === 1 ? '' : 's'} · ${g.nodes.length - steps} resource${g.nodes.length - steps === 1 ? '' : 's'}</span></div>
<div class="legend">${legend(g)}</div>
</header>
<main>
<svg id="graph" xmlns="http://www.w3.org/2000/svg" aria-label="${escapeXml(g.title)}">
<defs>${markers.join('')}</defs>
<g id="scene">
<g class="edges">${edges.join('\n')}</g>
<g class="nodes">${nodes.join('\n')}</g>
</g>
</svg>
${g.nodes.length === 0 ? '<p class="empty">No lineage recorded.</p>' : ''}
<div class="controls"><button type="button" id="zoom-in" title="Zoom in">+</button><button type="button" id="zoom-out" title="Zoom out">&#8722;</button><button type="button" id="fit" title="Show the whole graph">Fit</button></div>
<p class="hint">Drag to pan · wheel to zoom · hover or click a node for details</p>
<aside id="details" hidden></aside>
<div id="tooltip" hidden></div>
</main>
<script type="application/json" id="graph-data">${scriptJson(data)}</script>
<script>
${PAGE_SCRIPT}
</script>
</body>
</html>
`;
}

// --- dot -----------------------------------------------------------------------------------------

function dotString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** Graphviz text in the shape of 1.6's (`digraph lineage`, numbered nodes), with steps as boxes. */
export function renderDot(g: LineageGraph): string {
  const num = new Map(g.nodes.map((n, i) => [n.id, i + 1]));
  const lines = ['digraph lineage {', '  size="100,100";', '  rankdir=LR;', `  label=${dotString(g.title)};`, '  labelloc=t;', '  node [fontname="Helvetica",fontsize=10];'];
  for (const n of g.nodes) {
    const l = nodeLabel(n);
    const label = dotString(`${l.title}\n${l.subtitle}`);
    if (n.kind === 'step') {
      lines.push(`  ${num.get(n.id)} [label=${label},shape=box,style=filled,fillcolor="${STEP_COLOURS.fill}",fontcolor="${STEP_COLOURS.text}"];`);
    } else {
      const c = ROLE_COLOURS[roleKey(n)]!;
      lines.push(`  ${num.get(n.id)} [label=${label},shape=ellipse,style=filled,fillcolor="${c.fill}",color="${c.stroke}"];`);
    }
  }
  const style = { input: '', output: '', code: ' [style=dashed]', observed: ' [style=dotted,color="#dc2626",label="observed"]' };
  for (const e of g.edges) lines.push(`  ${nodeNumber(num, e.from)} -> ${nodeNumber(num, e.to)}${style[e.kind]};`);
  return lines.join('\n') + '\n}\n';
}

function nodeNumber(num: Map<string, number>, id: string): number {
  const n = num.get(id);
  if (n === undefined) throw new Error(`lineage graph: an edge refers to the unknown node ${id}`);
  return n;
}

// --- mermaid -------------------------------------------------------------------------------------

/** Mermaid entity codes, so quotes, `<`, `&` and `#` in names cannot break the label. */
function mermaidText(s: string): string {
  return s.replace(/[#"<>&]/g, (c) => ({ '#': '#35;', '"': '#quot;', '<': '#lt;', '>': '#gt;', '&': '#amp;' })[c]!);
}

/** A `flowchart LR` with steps as rectangles and resources as stadiums coloured by role. */
export function renderMermaid(g: LineageGraph): string {
  const num = new Map(g.nodes.map((n, i) => [n.id, i + 1]));
  const lines = ['---', `title: ${JSON.stringify(g.title)}`, '---', 'flowchart LR'];
  const classes = new Map<string, number[]>();
  for (const n of g.nodes) {
    const l = nodeLabel(n);
    const text = `"${mermaidText(l.title)}<br/>${mermaidText(l.subtitle)}"`;
    lines.push(n.kind === 'step' ? `  n${num.get(n.id)}[${text}]` : `  n${num.get(n.id)}([${text}])`);
    const cls = n.kind === 'step' ? 'step' : `role_${roleKey(n).replace(/-/g, '_')}`;
    classes.set(cls, [...(classes.get(cls) ?? []), num.get(n.id)!]);
  }
  const arrow = { input: '-->', output: '-->', code: '-.->', observed: '-. observed .->' };
  for (const e of g.edges) lines.push(`  n${nodeNumber(num, e.from)} ${arrow[e.kind]} n${nodeNumber(num, e.to)}`);
  lines.push(`  classDef step fill:${STEP_COLOURS.fill},stroke:${STEP_COLOURS.stroke},color:${STEP_COLOURS.text}`);
  for (const [role, c] of Object.entries(ROLE_COLOURS)) lines.push(`  classDef role_${role.replace(/-/g, '_')} fill:${c.fill},stroke:${c.stroke},color:#0f172a`);
  for (const [cls, ids] of classes) lines.push(`  class ${ids.map((i) => `n${i}`).join(',')} ${cls}`);
  return lines.join('\n') + '\n';
}

// --- json ----------------------------------------------------------------------------------------

/** The graph model itself, for other tools. */
export function renderJson(g: LineageGraph): string {
  return JSON.stringify(g, null, 2) + '\n';
}
