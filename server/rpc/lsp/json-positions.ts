/**
 * Where a value sits in JSON text: a scan of the text that keeps offsets (pyjson.ts parses
 * values but forgets positions). Used on text that already parsed (parsePyJson), to underline
 * the value a metadata check names by its path (`[2, 'role']`). Accepts Python's NaN/Infinity.
 */

export interface JsonNode {
  start: number;
  end: number;
  /** Object members by key (first occurrence), array items by index. */
  children?: Map<string | number, JsonNode>;
}

export function scanJson(text: string): JsonNode | null {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): JsonNode => {
    ws();
    const start = i;
    const c = text[i];
    if (c === '{') {
      i++;
      const children = new Map<string | number, JsonNode>();
      for (ws(); text[i] !== '}' && i < text.length; ws()) {
        const key = str();
        ws();
        i++; // ':'
        const v = value();
        if (!children.has(key)) children.set(key, v);
        ws();
        if (text[i] === ',') i++;
      }
      i++;
      return { start, end: i, children };
    }
    if (c === '[') {
      i++;
      const children = new Map<string | number, JsonNode>();
      for (ws(); text[i] !== ']' && i < text.length; ws()) {
        children.set(children.size, value());
        ws();
        if (text[i] === ',') i++;
      }
      i++;
      return { start, end: i, children };
    }
    if (c === '"') {
      str();
      return { start, end: i };
    }
    const m = /^(-?Infinity|NaN|true|false|null|-?[0-9][0-9.eE+-]*)/.exec(text.slice(i, i + 400));
    i += m ? m[0].length : 1;
    return { start, end: i };
  };
  try {
    return value();
  } catch {
    return null;
  }
}

/**
 * Range of the value at `path`; when the path goes through a missing member, the range of its
 * parent's nearest existing value (a missing key is underlined at the object that lacks it).
 */
export function locate(text: string, path: Array<string | number>): { start: number; end: number } {
  let node: JsonNode | null | undefined = scanJson(text);
  if (!node) return { start: 0, end: 0 };
  for (const p of path) {
    const next: JsonNode | undefined = node.children?.get(p);
    if (!next) break;
    node = next;
  }
  return { start: node.start, end: node.end };
}
