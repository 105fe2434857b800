/**
 * Finds the steps of a step file in its text, without a TypeScript compiler: a small tokenizer
 * (strings, comments, identifiers, punctuation) and a walk over each `defineStep({ ... })`
 * object literal for `name`, `inputs` and `outputs` (issue 6's step shape). Ref strings keep the
 * offsets of their content, so diagnostics, hovers and completions point at the exact text.
 */
export { parseRef } from '../../../lineage/model.js';

interface Token {
  kind: 'string' | 'ident' | 'punct';
  /** Identifier or punctuation text; for strings, the content without quotes (escapes kept). */
  text: string;
  /** Offsets of the content (strings: inside the quotes). */
  start: number;
  end: number;
  /** Strings only: false when the line ended before the closing quote (someone is typing). */
  closed?: boolean;
}

export interface RefString {
  /** The key in `inputs` / `outputs`, e.g. `raw`. */
  key: string;
  value: string;
  start: number;
  end: number;
  kind: 'input' | 'output';
}

export interface StepDecl {
  name: string | null;
  /** Offsets of `defineStep` (where code lenses go). */
  start: number;
  end: number;
  /** Offsets of the name string's content, when given as a literal. */
  nameRange: { start: number; end: number } | null;
  refs: RefString[];
}

export { PIPELINE_FILE, STEP_FILE } from '../../../protocol/step-file.js';

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) i++;
    else if (text.startsWith('//', i)) i = text.indexOf('\n', i) === -1 ? text.length : text.indexOf('\n', i);
    else if (text.startsWith('/*', i)) i = text.indexOf('*/', i + 2) === -1 ? text.length : text.indexOf('*/', i + 2) + 2;
    else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c && (c === '`' || text[j] !== '\n')) j += text[j] === '\\' ? 2 : 1;
      const closed = text[j] === c;
      tokens.push({ kind: 'string', text: text.slice(i + 1, Math.min(j, text.length)), start: i + 1, end: Math.min(j, text.length), closed });
      i = closed ? j + 1 : j;
    } else if (/[A-Za-z_$]/.test(c)) {
      const m = /^[A-Za-z0-9_$]+/.exec(text.slice(i, i + 200))!;
      tokens.push({ kind: 'ident', text: m[0], start: i, end: i + m[0].length });
      i += m[0].length;
    } else {
      tokens.push({ kind: 'punct', text: c, start: i, end: i + 1 });
      i++;
    }
  }
  return tokens;
}

const OPEN: Record<string, string> = { '{': '}', '(': ')', '[': ']' };

/** Index just after the value starting at `i` (up to the next `,` or closing bracket at this depth). */
function skipValue(tokens: Token[], i: number): number {
  let depth = 0;
  for (; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind !== 'punct') continue;
    if (t.text in OPEN) depth++;
    else if (t.text === '}' || t.text === ')' || t.text === ']') {
      if (depth === 0) return i;
      depth--;
    } else if (t.text === ',' && depth === 0) return i;
  }
  return i;
}

/** The `key: value` entries of the object literal whose `{` is at `i`: key → index of the value's first token. Returns the index after `}` too. */
function objectEntries(tokens: Token[], i: number): { entries: Array<{ key: string; at: number }>; end: number } {
  const entries: Array<{ key: string; at: number }> = [];
  i++; // past '{'
  while (i < tokens.length && tokens[i]!.text !== '}') {
    const k = tokens[i]!;
    if ((k.kind === 'ident' || k.kind === 'string') && tokens[i + 1]?.text === ':') {
      entries.push({ key: k.text, at: i + 2 });
      i = skipValue(tokens, i + 2);
    } else {
      i = skipValue(tokens, i + 1); // a method like `async run() {}`, a spread...
    }
    if (tokens[i]?.text === ',') i++;
  }
  return { entries, end: i + 1 };
}

export function scanSteps(text: string): StepDecl[] {
  const tokens = tokenize(text);
  const steps: StepDecl[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind !== 'ident' || t.text !== 'defineStep' || tokens[i + 1]?.text !== '(' || tokens[i + 2]?.text !== '{') continue;
    const step: StepDecl = { name: null, start: t.start, end: t.end, nameRange: null, refs: [] };
    for (const { key, at } of objectEntries(tokens, i + 2).entries) {
      const v = tokens[at];
      if (key === 'name' && v?.kind === 'string') {
        step.name = v.text;
        step.nameRange = { start: v.start, end: v.end };
      }
      if ((key === 'inputs' || key === 'outputs') && v?.text === '{') {
        for (const e of objectEntries(tokens, at).entries) {
          const r = tokens[e.at];
          if (r?.kind === 'string') step.refs.push({ key: e.key, value: r.text, start: r.start, end: r.end, kind: key === 'inputs' ? 'input' : 'output' });
        }
      }
    }
    steps.push(step);
  }
  return steps;
}

/**
 * True when a ref's subpath climbs out of its resource (`data:/../..`): the runner refuses such
 * refs (lineage/step.ts), so the editor features must not show or list anything there either.
 */
export function leavesResource(subpath: string | null): boolean {
  return subpath !== null && (subpath.split('/').includes('..') || subpath.startsWith('/'));
}

/** The ref string of `steps` whose content holds `offset` (its ends included). */
export function refAt(steps: StepDecl[], offset: number): RefString | undefined {
  return steps.flatMap((s) => s.refs).find((r) => r.start <= offset && offset <= r.end);
}
