/**
 * The style sheet and the script inlined in the lineage graph page (lineage/graph-render.ts).
 * The SVG arrives drawn; the script only adds pan and zoom, the hover card, the details panel and
 * highlighting of a node's upstream and downstream. Plain ES2017 in a string: the page must work
 * from disk with no build step and no network.
 */

export const PAGE_STYLE = String.raw`
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; }
body { display: flex; flex-direction: column; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #0f172a; background: #f8fafc; }
header { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 8px 24px; padding: 10px 18px; background: #fff; border-bottom: 1px solid #e2e8f0; }
.heading { display: flex; align-items: baseline; gap: 12px; }
h1 { margin: 0; font-size: 18px; font-weight: 600; }
.summary { color: #64748b; font-size: 13px; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 12px; color: #334155; }
.legend .item { display: inline-flex; align-items: center; gap: 6px; }
main { position: relative; flex: 1; min-height: 0; overflow: hidden; background-color: #f8fafc;
  background-image: radial-gradient(#e2e8f0 1px, transparent 1px); background-size: 18px 18px; }
#graph { display: block; width: 100%; height: 100%; cursor: grab; touch-action: none; user-select: none; }
#graph.dragging { cursor: grabbing; }
.node { cursor: pointer; }
.node rect { stroke-width: 1.5; }
.node text { font-family: "DejaVu Sans Mono", ui-monospace, Menlo, Consolas, monospace; text-anchor: middle; fill: #0f172a; }
.node text.subtitle { fill: #475569; }
.node:hover rect, .node:focus rect { stroke-width: 3; }
.node:focus { outline: none; }
.node.selected rect { stroke: #f59e0b; stroke-width: 3.5; }
.res-box.imported { stroke-dasharray: 5 3; }
.edge { fill: none; stroke-width: 1.6; }
.edge.input { stroke: #64748b; }
.edge.code { stroke: #8b5cf6; stroke-width: 1.2; stroke-dasharray: 5 4; opacity: 0.55; }
.edge.output { stroke: #1e293b; stroke-width: 1.9; }
.edge.observed { stroke: #dc2626; stroke-width: 1.6; stroke-dasharray: 2 3; }
.arrow.input { fill: #64748b; } .arrow.code { fill: #8b5cf6; } .arrow.output { fill: #1e293b; } .arrow.observed { fill: #dc2626; }
.dim, .edge.code.dim { opacity: 0.15; }
.edge.lit { stroke-width: 2.6; opacity: 1; }
.controls { position: absolute; left: 12px; bottom: 12px; display: flex; gap: 4px; }
.controls button { min-width: 32px; height: 30px; border: 1px solid #cbd5e1; border-radius: 6px; background: #fff; color: #0f172a; font: inherit; cursor: pointer; }
.controls button:hover { background: #f1f5f9; }
.hint { position: absolute; right: 12px; bottom: 4px; margin: 0; font-size: 12px; color: #94a3b8; pointer-events: none; }
.empty { position: absolute; inset: 40% 0 auto; text-align: center; color: #64748b; }
#details { position: absolute; top: 0; right: 0; bottom: 0; width: 360px; max-width: 90%; overflow: auto; padding: 14px 16px; background: #fff; border-left: 1px solid #e2e8f0; box-shadow: -4px 0 16px rgba(15, 23, 42, 0.08); }
#details h2 { margin: 0 28px 2px 0; font-size: 16px; overflow-wrap: anywhere; }
#details h3 { margin: 14px 0 4px; font-size: 12px; text-transform: uppercase; letter-spacing: 0.05em; color: #64748b; }
#details .close { position: absolute; top: 10px; right: 10px; border: 0; background: none; font-size: 20px; line-height: 1; cursor: pointer; color: #64748b; }
#details ul { margin: 0; padding-left: 18px; }
#details li button { border: 0; padding: 0; background: none; color: #2563eb; font: 12px "DejaVu Sans Mono", ui-monospace, monospace; cursor: pointer; text-align: left; overflow-wrap: anywhere; }
.kind { font-size: 12px; color: #64748b; }
table.info { border-collapse: collapse; width: 100%; font-size: 12px; }
table.info th { width: 1%; text-align: left; vertical-align: top; padding: 2px 10px 2px 0; color: #475569; font-weight: 600; white-space: nowrap; }
table.info td { padding: 2px 0; font-family: "DejaVu Sans Mono", ui-monospace, monospace; overflow-wrap: anywhere; }
#tooltip { position: fixed; z-index: 10; max-width: 460px; padding: 8px 10px; background: #0f172a; color: #f8fafc; border-radius: 6px; font-size: 12px; pointer-events: none; box-shadow: 0 4px 14px rgba(15, 23, 42, 0.3); }
#tooltip strong { display: block; margin-bottom: 4px; font-size: 13px; overflow-wrap: anywhere; }
#tooltip table.info th { color: #cbd5e1; }
#tooltip table.info td { color: #f8fafc; }
#tooltip table.info th.section { padding-top: 4px; color: #94a3b8; font-size: 11px; font-weight: 600; text-transform: uppercase; letter-spacing: 0.05em; }
`;

export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('graph-data').textContent);
  var svg = document.getElementById('graph');
  var scene = document.getElementById('scene');
  var tooltip = document.getElementById('tooltip');
  var details = document.getElementById('details');
  var nodes = new Map(), up = new Map(), down = new Map(), elements = new Map();
  data.nodes.forEach(function (n) { nodes.set(n.id, n); up.set(n.id, []); down.set(n.id, []); });
  data.edges.forEach(function (e) { down.get(e.from).push(e); up.get(e.to).push(e); });
  Array.prototype.forEach.call(document.querySelectorAll('.node'), function (el) { elements.set(el.getAttribute('data-id'), el); });
  var edgeElements = Array.prototype.slice.call(document.querySelectorAll('.edge[data-from]'));

  // --- pan and zoom: one transform on the scene group ---
  var view = { x: 0, y: 0, k: 1 };
  function apply() { scene.setAttribute('transform', 'translate(' + view.x + ',' + view.y + ') scale(' + view.k + ')'); }
  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }
  // Fit the graph, but never shrink text below minK (a big graph then starts at its sources).
  function fit(minK) {
    var r = svg.getBoundingClientRect();
    var k = clamp(Math.min(r.width / data.width, r.height / data.height), minK, 1.5);
    view.k = k;
    view.x = Math.max((r.width - data.width * k) / 2, 0);
    view.y = Math.max((r.height - data.height * k) / 2, 0);
    apply();
  }
  function zoomAt(px, py, factor) {
    var k = clamp(view.k * factor, 0.05, 4);
    view.x = px - (px - view.x) * k / view.k;
    view.y = py - (py - view.y) * k / view.k;
    view.k = k;
    apply();
  }
  // Pans just enough to bring a node into the part of the view the details panel leaves free.
  function reveal(id) {
    var area = svg.getBoundingClientRect(), box = elements.get(id).getBoundingClientRect();
    var right = details.hidden ? area.right : details.getBoundingClientRect().left;
    if (box.left < area.left || box.right > right) view.x += (area.left + right) / 2 - (box.left + box.right) / 2;
    if (box.top < area.top || box.bottom > area.bottom) view.y += (area.top + area.bottom) / 2 - (box.top + box.bottom) / 2;
    apply();
  }
  svg.addEventListener('wheel', function (e) {
    e.preventDefault();
    var r = svg.getBoundingClientRect();
    zoomAt(e.clientX - r.left, e.clientY - r.top, Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015)));
  }, { passive: false });
  var drag = null;
  svg.addEventListener('pointerdown', function (e) {
    if (e.button !== 0) return;
    var node = e.target.closest ? e.target.closest('.node') : null;
    drag = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y, moved: false, node: node };
    svg.setPointerCapture(e.pointerId);
  });
  svg.addEventListener('pointermove', function (e) {
    if (!drag) return;
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    drag.moved = true;
    svg.classList.add('dragging');
    hideTooltip();
    view.x = drag.vx + dx;
    view.y = drag.vy + dy;
    apply();
  });
  function endDrag() {
    var d = drag;
    drag = null;
    svg.classList.remove('dragging');
    if (d && !d.moved) select(d.node ? d.node.getAttribute('data-id') : null);
  }
  svg.addEventListener('pointerup', endDrag);
  svg.addEventListener('pointercancel', function () { drag = null; svg.classList.remove('dragging'); });
  function zoomCentre(factor) { var r = svg.getBoundingClientRect(); zoomAt(r.width / 2, r.height / 2, factor); }
  document.getElementById('zoom-in').addEventListener('click', function () { zoomCentre(1.25); });
  document.getElementById('zoom-out').addEventListener('click', function () { zoomCentre(0.8); });
  document.getElementById('fit').addEventListener('click', function () { fit(0.05); });

  // --- node information: the same rows in the hover card and the details panel ---
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  // Rows are [label, value]; a row of one string is a section heading.
  function table(rows) {
    var t = el('table', null, 'info');
    rows.forEach(function (row) {
      var tr = document.createElement('tr');
      if (row.length === 1) {
        var th = el('th', row[0], 'section');
        th.colSpan = 2;
        tr.appendChild(th);
      } else {
        tr.appendChild(el('th', row[0]));
        tr.appendChild(el('td', row[1]));
      }
      t.appendChild(tr);
    });
    return t;
  }
  function infoTables(n, parent) {
    if (n.params) {
      parent.appendChild(el('h3', 'Parameters'));
      parent.appendChild(n.params.length ? table(n.params) : el('p', 'none', 'kind'));
    }
    parent.appendChild(el('h3', n.kind === 'step' ? 'Run' : 'Resource'));
    parent.appendChild(table(n.rows));
  }
  function showTooltip(n, e) {
    tooltip.textContent = '';
    tooltip.appendChild(el('strong', n.title));
    var rows = n.params && n.params.length ? [['Parameters']].concat(n.params, [['Run']]) : [];
    tooltip.appendChild(table(rows.concat(n.rows)));
    tooltip.hidden = false;
    moveTooltip(e);
  }
  function moveTooltip(e) {
    var w = tooltip.offsetWidth, h = tooltip.offsetHeight;
    var x = e.clientX + 14, y = e.clientY + 14;
    if (x + w > window.innerWidth - 4) x = e.clientX - w - 14;
    if (y + h > window.innerHeight - 4) y = Math.max(4, e.clientY - h - 14);
    tooltip.style.left = Math.max(4, x) + 'px';
    tooltip.style.top = y + 'px';
  }
  function hideTooltip() { tooltip.hidden = true; }
  elements.forEach(function (elem, id) {
    elem.addEventListener('mouseenter', function (e) { if (!drag) showTooltip(nodes.get(id), e); });
    elem.addEventListener('mousemove', function (e) { if (!tooltip.hidden) moveTooltip(e); });
    elem.addEventListener('mouseleave', hideTooltip);
    elem.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); select(id); } });
  });

  // --- selection: details panel and the node's whole lineage highlighted ---
  function reach(id, edgesOf, end, seen) {
    edgesOf.get(id).forEach(function (e) {
      if (seen.has(e[end])) return;
      seen.add(e[end]);
      reach(e[end], edgesOf, end, seen);
    });
    return seen;
  }
  function linkList(title, ids, parent) {
    if (!ids.length) return;
    parent.appendChild(el('h3', title));
    var ul = document.createElement('ul');
    ids.forEach(function (id) {
      var li = document.createElement('li');
      var b = el('button', nodes.get(id).title);
      b.type = 'button';
      b.addEventListener('click', function () { select(id); });
      li.appendChild(b);
      ul.appendChild(li);
    });
    parent.appendChild(ul);
  }
  function select(id) {
    hideTooltip();
    elements.forEach(function (e) { e.classList.remove('selected', 'dim'); });
    edgeElements.forEach(function (e) { e.classList.remove('dim', 'lit'); });
    if (id === null) { details.hidden = true; return; }
    var n = nodes.get(id);
    var lineage = reach(id, up, 'from', new Set([id]));
    reach(id, down, 'to', lineage);
    elements.forEach(function (e, nid) { if (!lineage.has(nid)) e.classList.add('dim'); });
    elements.get(id).classList.add('selected');
    edgeElements.forEach(function (e) {
      var lit = lineage.has(e.getAttribute('data-from')) && lineage.has(e.getAttribute('data-to'));
      e.classList.add(lit ? 'lit' : 'dim');
    });
    details.textContent = '';
    var close = el('button', '\u00d7', 'close');
    close.type = 'button';
    close.title = 'Close';
    close.addEventListener('click', function () { select(null); });
    details.appendChild(close);
    details.appendChild(el('h2', n.title));
    details.appendChild(el('div', n.kind === 'step' ? 'step' : 'resource \u00b7 ' + n.subtitle, 'kind'));
    infoTables(n, details);
    function ends(list, kind, end) { return list.filter(function (e) { return !kind || e.kind === kind; }).map(function (e) { return e[end]; }); }
    if (n.kind === 'step') {
      linkList('Inputs', ends(up.get(id), 'input', 'from'), details);
      linkList('Code', ends(up.get(id), 'code', 'from'), details);
      linkList('Outputs', ends(down.get(id), 'output', 'to'), details);
      linkList('Written, not declared', ends(down.get(id), 'observed', 'to'), details);
    } else {
      linkList('Written by', ends(up.get(id), null, 'from'), details);
      linkList('Read by', ends(down.get(id), null, 'to'), details);
    }
    details.hidden = false;
    reveal(id);
  }
  document.addEventListener('keydown', function (e) { if (e.key === 'Escape') select(null); });

  fit(0.7);
  window.addEventListener('resize', function () { fit(0.7); });
})();
`;
