/**
 * Layered left-to-right layout of a lineage graph for the HTML page (lineage/graph-render.ts):
 * longest-path layers (sources left), virtual points for edges spanning several layers, barycenter
 * sweeps to limit crossings, then vertical positions that keep each layer's order and spacing.
 * Node sizes come from their text in a monospace font, so labels never overflow their boxes.
 */
import type { GraphEdge, GraphNode, LineageGraph } from './graph-model.js';

/** The two text lines drawn in a node box; the layout sizes boxes from them. */
export interface NodeLabel { title: string; subtitle: string }

export interface LayoutNode { id: string; x: number; y: number; width: number; height: number; layer: number }
export interface Point { x: number; y: number }
/** An edge as a route from the right side of `from` to the left side of `to`. */
export interface LayoutEdge { from: string; to: string; kind: GraphEdge['kind']; points: Point[] }
export interface GraphLayout { width: number; height: number; nodes: Map<string, LayoutNode>; edges: LayoutEdge[] }

// Text metrics: labels use a monospace font (DejaVu Sans Mono and most others are 0.6 em wide).
export const TITLE_FONT_SIZE = 13;
export const SUBTITLE_FONT_SIZE = 11;
const CHAR_WIDTH = 0.62;
const PADDING_X = 16;
const NODE_HEIGHT = 46;
const MIN_WIDTH = 96;
const LAYER_GAP = 84;
const NODE_GAP = 22;
const VIRTUAL_GAP = 8;
export const MARGIN = 24;

/** `name` or `name:/subpath`, as dws displays a resource ref (lineage.md §1). */
export function refName(node: Extract<GraphNode, { kind: 'resource' }>): string {
  return node.subpath === null ? node.resource : `${node.resource}:/${node.subpath}`;
}

/** A short certificate: the hash's first 7 digits (as 1.6's graph labels) or the placeholder version. */
export function certificateLabel(node: Extract<GraphNode, { kind: 'resource' }>): string {
  const c = node.certificate;
  if (node.origin === 'observed_write') return node.outside !== undefined ? `symlink to ${node.outside}` : 'written, not declared';
  if (c === null) return 'no certificate';
  return c.type === 'hash' ? c.hash.slice(0, 7) : `placeholder v${c.version}`;
}

/** A duration for people: `25 ms`, `3.40 s`, `2 min 5 s`. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null) return 'duration unknown';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(2)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

/** `2026-11-25T16:35:33.219154` → `2026-11-25 16:35:33`. */
export function formatStart(startTime: string): string {
  return startTime.replace('T', ' ').replace(/\.\d+$/, '');
}

export function nodeLabel(node: GraphNode): NodeLabel {
  if (node.kind === 'step') return { title: node.name, subtitle: `${formatStart(node.startTime)} · ${formatDuration(node.executionTimeSeconds)}` };
  return { title: refName(node), subtitle: certificateLabel(node) };
}

function nodeWidth(label: NodeLabel): number {
  const text = Math.max(label.title.length * TITLE_FONT_SIZE, label.subtitle.length * SUBTITLE_FONT_SIZE) * CHAR_WIDTH;
  return Math.max(MIN_WIDTH, Math.ceil(text + 2 * PADDING_X));
}

/** A slot in a layer: a real node, or a virtual point an edge passes through. */
interface Slot { id: string; real: boolean; layer: number; height: number; up: Slot[]; down: Slot[]; pos: number; y: number }

export function layoutGraph(g: LineageGraph): GraphLayout {
  const slots = new Map<string, Slot>();
  for (const n of g.nodes) {
    if (slots.has(n.id)) throw new Error(`lineage graph: duplicate node id ${n.id}`);
    slots.set(n.id, { id: n.id, real: true, layer: 0, height: NODE_HEIGHT, up: [], down: [], pos: 0, y: 0 });
  }
  const slot = (id: string): Slot => {
    const s = slots.get(id);
    if (!s) throw new Error(`lineage graph: an edge refers to the unknown node ${id}`);
    return s;
  };
  const edges = g.edges.map((e) => ({ edge: e, from: slot(e.from), to: slot(e.to) }));
  for (const { from, to } of edges) { from.down.push(to); to.up.push(from); }

  assignLayers([...slots.values()]);

  // Edges spanning several layers pass through one virtual slot per layer in between.
  const chains = edges.map(({ edge, from, to }) => {
    const chain = [from];
    for (let l = from.layer + 1; l < to.layer; l++) {
      const v: Slot = { id: `${edge.from}->${edge.to}#${l}`, real: false, layer: l, height: 0, up: [], down: [], pos: 0, y: 0 };
      chain.push(v);
    }
    chain.push(to);
    return { edge, chain };
  });
  const layers: Slot[][] = [];
  const place = (s: Slot): void => { (layers[s.layer] ??= []).push(s); };
  for (const s of slots.values()) place(s);
  for (const { chain } of chains) {
    if (chain.length <= 2) continue;
    // Replace the direct link by the chain's links.
    const [first, last] = [chain[0]!, chain[chain.length - 1]!];
    first.down.splice(first.down.indexOf(last), 1);
    last.up.splice(last.up.indexOf(first), 1);
    for (let i = 1; i < chain.length; i++) {
      chain[i - 1]!.down.push(chain[i]!);
      chain[i]!.up.push(chain[i - 1]!);
      if (i < chain.length - 1) place(chain[i]!);
    }
  }
  for (let l = 0; l < layers.length; l++) layers[l] ??= [];
  orderLayers(layers);
  positionLayers(layers);

  // x: layers are columns as wide as their widest node; nodes are centred in their column.
  const widths = new Map(g.nodes.map((n) => [n.id, nodeWidth(nodeLabel(n))]));
  const columnX: number[] = [];
  const columnWidth: number[] = [];
  let x = MARGIN;
  for (const layer of layers) {
    columnX.push(x);
    const w = Math.max(0, ...layer.filter((s) => s.real).map((s) => widths.get(s.id)!));
    columnWidth.push(w);
    x += w + LAYER_GAP;
  }
  const minY = Math.min(...layers.flat().map((s) => s.y));
  const shift = MARGIN - (Number.isFinite(minY) ? minY : 0);
  let height = 0;
  const nodes = new Map<string, LayoutNode>();
  for (const s of slots.values()) {
    const width = widths.get(s.id)!;
    const node = { id: s.id, layer: s.layer, width, height: s.height, x: columnX[s.layer]! + (columnWidth[s.layer]! - width) / 2, y: s.y + shift };
    nodes.set(s.id, node);
    height = Math.max(height, node.y + node.height);
  }
  const layoutEdges = chains.map(({ edge, chain }) => {
    const a = nodes.get(edge.from)!;
    const b = nodes.get(edge.to)!;
    const points: Point[] = [{ x: a.x + a.width, y: a.y + a.height / 2 }];
    // A virtual slot is a horizontal run across its column.
    for (const v of chain.slice(1, -1)) points.push({ x: columnX[v.layer]!, y: v.y + shift }, { x: columnX[v.layer]! + columnWidth[v.layer]!, y: v.y + shift });
    points.push({ x: b.x, y: b.y + b.height / 2 });
    for (const p of points) height = Math.max(height, p.y);
    return { from: edge.from, to: edge.to, kind: edge.kind, points };
  });
  return { width: Math.max(x - LAYER_GAP + MARGIN, 2 * MARGIN), height: height + MARGIN, nodes, edges: layoutEdges };
}

/**
 * Longest-path layering from the sources, then each source moves right to just before its first
 * reader, so a data set read late does not stretch edges across the whole graph.
 */
function assignLayers(all: Slot[]): void {
  const state = new Map<Slot, 'visiting' | 'done'>();
  const visit = (s: Slot): number => {
    const st = state.get(s);
    if (st === 'done') return s.layer;
    if (st === 'visiting') return -1; // a cycle cannot happen in lineage; ignore the back edge
    state.set(s, 'visiting');
    s.layer = Math.max(0, ...s.up.map((p) => visit(p) + 1));
    state.set(s, 'done');
    return s.layer;
  };
  all.forEach(visit);
  for (const s of all) {
    if (s.up.length === 0 && s.down.length > 0) s.layer = Math.max(0, Math.min(...s.down.map((d) => d.layer)) - 1);
  }
}

/** Barycenter sweeps down and up the layers; keeps the order with the fewest crossings. */
function orderLayers(layers: Slot[][]): void {
  const renumber = (layer: Slot[]): void => layer.forEach((s, i) => { s.pos = i; });
  layers.forEach(renumber);
  const snapshot = (): Slot[][] => layers.map((l) => [...l]);
  let best = snapshot();
  let bestCrossings = crossings(layers);
  for (let iter = 0; iter < 8 && bestCrossings > 0; iter++) {
    const down = iter % 2 === 0;
    const range = down ? layers.keys() : [...layers.keys()].reverse();
    for (const l of range) {
      const layer = layers[l]!;
      const key = new Map(layer.map((s) => {
        const nbrs = down ? s.up : s.down;
        return [s, nbrs.length ? nbrs.reduce((sum, n) => sum + n.pos, 0) / nbrs.length : s.pos] as const;
      }));
      layer.sort((a, b) => key.get(a)! - key.get(b)! || a.pos - b.pos);
      renumber(layer);
    }
    const c = crossings(layers);
    if (c < bestCrossings) { bestCrossings = c; best = snapshot(); }
  }
  best.forEach((layer, l) => { layers[l] = layer; renumber(layer); });
}

function crossings(layers: Slot[][]): number {
  let count = 0;
  for (const layer of layers) {
    const links = layer.flatMap((s) => s.down.map((d) => [s.pos, d.pos] as const));
    for (let i = 0; i < links.length; i++) {
      for (let j = i + 1; j < links.length; j++) {
        if ((links[i]![0] - links[j]![0]) * (links[i]![1] - links[j]![1]) < 0) count++;
      }
    }
  }
  return count;
}

function gap(a: Slot, b: Slot): number {
  return a.real && b.real ? NODE_GAP : VIRTUAL_GAP;
}

/**
 * Vertical positions: start stacked, then repeatedly pull each slot towards the mean centre of its
 * neighbours while keeping the layer's order and spacing (isotonic regression, pool adjacent
 * violators), so lines run mostly straight and nothing overlaps.
 */
function positionLayers(layers: Slot[][]): void {
  for (const layer of layers) {
    let y = 0;
    layer.forEach((s, i) => { if (i > 0) y += gap(layer[i - 1]!, s); s.y = y; y += s.height; });
  }
  const centre = (s: Slot): number => s.y + s.height / 2;
  for (let iter = 0; iter < 12; iter++) {
    const down = iter % 2 === 0;
    const order = down ? [...layers.keys()] : [...layers.keys()].reverse();
    for (const l of order) {
      const layer = layers[l]!;
      const desired = layer.map((s) => {
        const nbrs = iter < 10 ? (down ? s.up : s.down) : [...s.up, ...s.down];
        const target = nbrs.length ? nbrs.reduce((sum, n) => sum + centre(n), 0) / nbrs.length : centre(s);
        return target - s.height / 2;
      });
      placeInOrder(layer, desired);
    }
  }
}

/** Sets each slot's y as close as possible (least squares) to `desired`, keeping order and gaps. */
function placeInOrder(layer: Slot[], desired: number[]): void {
  // With offset[i] the minimal distance from slot 0 to slot i, y[i] - offset[i] must not decrease.
  const offset: number[] = [];
  layer.forEach((s, i) => { offset.push(i === 0 ? 0 : offset[i - 1]! + layer[i - 1]!.height + gap(layer[i - 1]!, s)); });
  const blocks: Array<{ sum: number; count: number }> = [];
  for (let i = 0; i < layer.length; i++) {
    blocks.push({ sum: desired[i]! - offset[i]!, count: 1 });
    while (blocks.length > 1) {
      const b = blocks[blocks.length - 1]!;
      const a = blocks[blocks.length - 2]!;
      if (a.sum / a.count <= b.sum / b.count) break;
      blocks.pop();
      a.sum += b.sum;
      a.count += b.count;
    }
  }
  let i = 0;
  for (const b of blocks) {
    for (let k = 0; k < b.count; k++, i++) layer[i]!.y = b.sum / b.count + offset[i]!;
  }
}
