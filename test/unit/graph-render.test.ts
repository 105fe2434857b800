// The lineage graph renderers (html, dot, mermaid, json) and the layout behind the HTML page, on a
// handmade graph with hostile names, on the Python fixture's v3 lineage and on a 50-step pipeline.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { layoutGraph } from '../../lineage/graph-layout.js';
import type { GraphLayout } from '../../lineage/graph-layout.js';
import type { LineageGraph } from '../../lineage/graph-model.js';
import { renderDot, renderHtml, renderJson, renderMermaid } from '../../lineage/graph-render.js';
import { FIXTURE_EXPECTED, fixtureGraph, generatedGraph, nodeNames } from '../graph-fixture.js';

/** Two steps; names and params with quotes, `<`, `&`, `#` and a `</script>`. */
const handmade: LineageGraph = {
  title: 'Lineage of "x" <&>',
  nodes: [
    { id: 'src', kind: 'resource', resource: 'raw', subpath: 'a "b" <c>&d', role: 'source-data', certificate: { type: 'hash', hash: '0123456789abcdef0123456789abcdef01234567' }, origin: 'source_data' },
    { id: 'step1', kind: 'step', name: 'clean "it" <now> & #1', startTime: '2026-11-25T16:35:32.978474', executionTimeSeconds: 2.5, parameters: { text: '</script><script>alert(1)</script>', n: 3 }, commandLine: ['python3', 'clean.py', "it's"] },
    { id: 'out', kind: 'resource', resource: 'work', subpath: null, role: 'intermediate-data', certificate: { type: 'placeholder', version: 2 }, origin: 'step_output' },
    { id: 'code', kind: 'resource', resource: 'code', subpath: null, role: 'code', certificate: null, origin: 'code' },
    { id: 'step2', kind: 'step', name: 'report', startTime: '2026-11-25T16:40:00.000000', executionTimeSeconds: null, parameters: {}, commandLine: null },
    { id: 'res', kind: 'resource', resource: 'results', subpath: null, role: 'mystery', certificate: { type: 'hash', hash: 'ffffffffffffffffffffffffffffffffffffffff' }, origin: 'imported' },
  ],
  edges: [
    { from: 'src', to: 'step1', kind: 'input' },
    { from: 'code', to: 'step1', kind: 'code' },
    { from: 'step1', to: 'out', kind: 'output' },
    { from: 'out', to: 'step2', kind: 'input' },
    { from: 'src', to: 'step2', kind: 'input' },
    { from: 'step2', to: 'res', kind: 'output' },
  ],
};

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** The node boxes of a layout must not overlap, and every edge must run left to right. */
function expectClean(g: LineageGraph, layout: GraphLayout): void {
  const boxes = [...layout.nodes.values()];
  expect(boxes.map((b) => b.id).sort()).toEqual(g.nodes.map((n) => n.id).sort());
  for (const b of boxes) {
    expect([b.x, b.y, b.width, b.height].every(Number.isFinite)).toBe(true);
    expect(b.x + b.width).toBeLessThanOrEqual(layout.width);
    expect(b.y + b.height).toBeLessThanOrEqual(layout.height);
  }
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i]!, boxes[j]!];
      const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
      expect(apart, `${a.id} and ${b.id} overlap`).toBe(true);
    }
  }
  for (const e of layout.edges) {
    const xs = e.points.map((p) => p.x);
    expect(xs, `edge ${e.from} -> ${e.to}`).toEqual([...xs].sort((p, q) => p - q));
    // Between its ends, an edge runs through gaps between boxes, never across one.
    for (const p of e.points.slice(1, -1)) {
      for (const b of boxes) expect(p.x > b.x && p.x < b.x + b.width && p.y > b.y && p.y < b.y + b.height, `edge ${e.from} -> ${e.to} crosses ${b.id}`).toBe(false);
    }
  }
}

describe('renderHtml', () => {
  const html = renderHtml(handmade);

  it('draws every step and resource with its certificate, escaped', () => {
    for (const name of nodeNames(handmade)) expect(html).toContain(`>${escapeXml(name)}</text>`);
    expect(html).toContain('>raw:/a &quot;b&quot; &lt;c&gt;&amp;d</text>');
    expect(html).toContain('>clean &quot;it&quot; &lt;now&gt; &amp; #1</text>');
    expect(html).not.toContain('<now>');
    expect(html).toContain('>0123456</text>');
    expect(html).toContain('>placeholder v2</text>');
    expect(html).toContain('>no certificate</text>');
    expect(html).toContain('<title>Lineage of &quot;x&quot; &lt;&amp;&gt;</title>');
    expect(html).toContain('<h1>Lineage of &quot;x&quot; &lt;&amp;&gt;</h1>');
  });

  it('embeds the details as JSON that cannot end its script element', () => {
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    const json = /<script type="application\/json" id="graph-data">(.*?)<\/script>/s.exec(html)![1]!;
    const data = JSON.parse(json) as { nodes: Array<{ id: string; title: string; rows: string[][]; params: string[][] | null }> };
    const step = data.nodes.find((n) => n.id === 'step1')!;
    expect(step.title).toBe('clean "it" <now> & #1');
    expect(step.params).toEqual([['text', '"</script><script>alert(1)</script>"'], ['n', '3']]);
    expect(step.rows).toEqual([['Started', '2026-11-25 16:35:32.978474'], ['Duration', '2.50 s'], ['Command line', `python3 clean.py 'it'\\''s'`]]);
    expect(data.nodes.find((n) => n.id === 'out')!.rows).toContainEqual(['Certificate', 'placeholder v2 (not snapshotted yet)']);
  });

  it('is one self-contained page: no external script, style, font or image', () => {
    expect(html).not.toMatch(/\s(src|href)=/);
    expect(html).not.toMatch(/@import|url\((?!#)/);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"`);
    // The only URL is the SVG namespace.
    expect(html.match(/https?:\/\/[^"]*/g)).toEqual(['http://www.w3.org/2000/svg']);
  });

  it('colours resources by role, with a legend of the roles present', () => {
    expect(html).toContain('class="res-box role-source-data"');
    expect(html).toContain('class="res-box role-other imported"');
    expect(html).toMatch(/class="legend">.*source-data.*intermediate-data.*code.*other resource/);
    expect(html).not.toMatch(/class="legend">.*results/);
  });

  it('says so when there is no lineage', () => {
    expect(renderHtml({ title: 'empty', nodes: [], edges: [] })).toContain('No lineage recorded.');
  });
});

describe('renderDot and renderMermaid', () => {
  it('writes Graphviz text in the shape of 1.6, quotes escaped', () => {
    expect(renderDot(handmade)).toBe(`digraph lineage {
  size="100,100";
  rankdir=LR;
  label="Lineage of \\"x\\" <&>";
  labelloc=t;
  node [fontname="Helvetica",fontsize=10];
  1 [label="raw:/a \\"b\\" <c>&d\\n0123456",shape=ellipse,style=filled,fillcolor="#dcfce7",color="#16a34a"];
  2 [label="clean \\"it\\" <now> & #1\\n2026-11-25 16:35:32 · 2.50 s",shape=box,style=filled,fillcolor="#1e293b",fontcolor="#ffffff"];
  3 [label="work\\nplaceholder v2",shape=ellipse,style=filled,fillcolor="#dbeafe",color="#2563eb"];
  4 [label="code\\nno certificate",shape=ellipse,style=filled,fillcolor="#ede9fe",color="#7c3aed"];
  5 [label="report\\n2026-11-25 16:40:00 · duration unknown",shape=box,style=filled,fillcolor="#1e293b",fontcolor="#ffffff"];
  6 [label="results\\nfffffff",shape=ellipse,style=filled,fillcolor="#f1f5f9",color="#64748b"];
  1 -> 2;
  4 -> 2 [style=dashed];
  2 -> 3;
  3 -> 5;
  1 -> 5;
  5 -> 6;
}
`);
  });

  it('writes a mermaid flowchart with entity-escaped labels', () => {
    const m = renderMermaid(handmade);
    expect(m.split('\n').slice(0, 11)).toEqual([
      '---',
      'title: "Lineage of \\"x\\" <&>"',
      '---',
      'flowchart LR',
      '  n1(["raw:/a #quot;b#quot; #lt;c#gt;#amp;d<br/>0123456"])',
      '  n2["clean #quot;it#quot; #lt;now#gt; #amp; #35;1<br/>2026-11-25 16:35:32 · 2.50 s"]',
      '  n3(["work<br/>placeholder v2"])',
      '  n4(["code<br/>no certificate"])',
      '  n5["report<br/>2026-11-25 16:40:00 · duration unknown"]',
      '  n6(["results<br/>fffffff"])',
      '  n1 --> n2',
    ]);
    expect(m).toContain('  n4 -.-> n2\n');
    expect(m).toContain('  class n2,n5 step\n');
    expect(m).toContain('  class n6 role_other\n');
  });

  it('refuses an edge to an unknown node', () => {
    const broken: LineageGraph = { ...handmade, edges: [{ from: 'src', to: 'nowhere', kind: 'input' }] };
    expect(() => renderDot(broken)).toThrow('unknown node nowhere');
    expect(() => renderMermaid(broken)).toThrow('unknown node nowhere');
    expect(() => renderHtml(broken)).toThrow('unknown node nowhere');
  });
});

describe('renderJson', () => {
  it('is the graph model, pretty-printed', () => {
    const json = renderJson(handmade);
    expect(JSON.parse(json)).toEqual(handmade);
    expect(json).toContain('\n  "nodes": [\n');
    expect(json.endsWith('}\n')).toBe(true);
  });
});

describe('the Python fixture v3 lineage', () => {
  const g = fixtureGraph();

  it('has the steps prepare and train and their resources in every format', () => {
    expect(nodeNames(g).sort()).toEqual(['code', 'intermediate-data:/prepared', 'prepare', 'results', 'source-data', 'train']);
    for (const out of [renderHtml(g), renderDot(g), renderMermaid(g)]) for (const name of nodeNames(g)) expect(out).toContain(name);
    expect(JSON.parse(renderJson(g))).toEqual(g);
  });

  it('labels resources with the names and short hashes 1.6 graphed', () => {
    // 1.6's graph has one node per certificate, named by ref and labelled by hash[0:7] (lineage.md §10).
    const python = JSON.parse(readFileSync(FIXTURE_EXPECTED + 'lineage-graph-v3.html.graph.json', 'utf8')) as { graph: { nodes: Array<{ name: string; label: string }> } };
    const dot = renderDot(g);
    for (const n of python.graph.nodes) expect(dot).toContain(`[label="${n.name}\\n${n.label}"`);
  });

  it('lays out sources left of prepare, prepare left of train, train left of results', () => {
    const layout = layoutGraph(g);
    expectClean(g, layout);
    const x = (id: string): number => layout.nodes.get(id)!.x;
    const id = (name: string): string => g.nodes.find((n) => (n.kind === 'step' ? n.name : n.resource) === name)!.id;
    expect(x(id('source-data'))).toBeLessThan(x(id('prepare')));
    expect(x(id('prepare'))).toBeLessThan(x(id('intermediate-data')));
    expect(x(id('intermediate-data'))).toBeLessThan(x(id('train')));
    expect(x(id('train'))).toBeLessThan(x(id('results')));
  });
});

describe('layoutGraph', () => {
  it('places a 50-step pipeline with no overlapping boxes and edges only in the gaps', () => {
    const g = generatedGraph(50, true);
    const layout = layoutGraph(g);
    expectClean(g, layout);
    // Layers: a step is right of everything it reads.
    for (const e of g.edges) expect(layout.nodes.get(e.from)!.layer).toBeLessThan(layout.nodes.get(e.to)!.layer);
  });

  it('sizes boxes to their text', () => {
    const long = 'x'.repeat(120);
    const g: LineageGraph = { title: 't', nodes: [{ id: 'a', kind: 'step', name: long, startTime: '2026-01-01T00:00:00.000000', executionTimeSeconds: 1, parameters: {}, commandLine: null }], edges: [] };
    expect(layoutGraph(g).nodes.get('a')!.width).toBeGreaterThan(120 * 13 * 0.6);
  });

  it('puts a source just before its first reader, not at the far left', () => {
    const g = generatedGraph(12);
    g.nodes.push({ id: 'late', kind: 'resource', resource: 'extra', subpath: null, role: 'source-data', certificate: null, origin: 'source_data' });
    g.edges.push({ from: 'late', to: 's11', kind: 'input' });
    const layout = layoutGraph(g);
    expectClean(g, layout);
    expect(layout.nodes.get('late')!.layer).toBe(layout.nodes.get('s11')!.layer - 1);
  });
});
