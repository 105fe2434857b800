/**
 * The lineage graph as data (lineage.md §10): built by lineage/graph.ts from the lineage store,
 * drawn by the renderers in lineage/graph-render.ts (html, dot, mermaid, json).
 */

/** A whole graph: steps and resource certificates as nodes, reads/writes as edges. */
export interface LineageGraph { title: string; nodes: GraphNode[]; edges: GraphEdge[] }

/**
 * A step run, or one certificate of a resource ref (a resource, or `resource:/subpath`).
 * `origin` says which kind of lineage provided the certificate.
 */
export type GraphNode =
  | { id: string; kind: 'step'; name: string; startTime: string; executionTimeSeconds: number | null; parameters: Record<string, unknown>; commandLine: string[] | null }
  | {
      id: string;
      kind: 'resource';
      resource: string;
      subpath: string | null;
      role: string | null;
      certificate: { type: 'hash'; hash: string } | { type: 'placeholder'; version: number } | null;
      /** `observed_write`: a write the step did not declare (no certificate), recorded in its lineage (issue 12 item 3). */
      origin: 'source_data' | 'code' | 'step_output' | 'imported' | 'observed_write';
      /** An observed write a symlink led out of its resource: where it really went (item 9). */
      outside?: string;
    };

/**
 * `input`: resource → step it fed; `code`: code resource → step; `output`: step → resource it
 * wrote; `observed`: step → a path it wrote outside its declared outputs.
 */
export interface GraphEdge { from: string; to: string; kind: 'input' | 'code' | 'output' | 'observed' }
