/**
 * Checks the relative links of README.md and docs/: each must name a file of the repository,
 * and its `#anchor`, if any, a heading (or an `<a id>`) of that file. Links in code blocks and
 * links to other sites are not checked.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { anchor } from './generate.js';

/** README.md and every markdown file under docs/ (relative to the repository). */
export function docFiles(repo: string): string[] {
  const docs = readdirSync(join(repo, 'docs'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.md'))
    .map((e) => relative(repo, join(e.parentPath, e.name)))
    .sort();
  return ['README.md', ...docs];
}

/** Text outside fenced blocks and inline code: where links are links. */
function prose(markdown: string): { line: number; raw: string; text: string }[] {
  const out: { line: number; raw: string; text: string }[] = [];
  let fence: string | null = null;
  markdown.split('\n').forEach((l, i) => {
    const f = /^\s*(`{3,}|~{3,})/.exec(l);
    if (f) {
      if (fence === null) fence = f[1]!;
      else if (l.trim().startsWith(fence)) fence = null;
      return;
    }
    if (fence === null) out.push({ line: i + 1, raw: l, text: l.replace(/`[^`]*`/g, '') });
  });
  return out;
}

/** The anchors a markdown file offers: its headings (GitHub's way, numbered when repeated) and `<a id>`s. */
export function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const { raw, text } of prose(markdown)) {
    const h = /^#{1,6} (.*)$/.exec(raw);
    if (h) {
      const base = anchor(h[1]!);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of text.matchAll(/<a id="([^"]+)"/g)) anchors.add(m[1]!);
  }
  return anchors;
}

/** Every broken relative link, as `file:line: message`. */
export function brokenLinks(repo: string): string[] {
  const problems: string[] = [];
  const anchorCache = new Map<string, Set<string>>();
  const anchorsFor = (file: string) => {
    let a = anchorCache.get(file);
    if (!a) anchorCache.set(file, (a = anchorsOf(readFileSync(join(repo, file), 'utf8'))));
    return a;
  };
  for (const file of docFiles(repo)) {
    for (const { line, text } of prose(readFileSync(join(repo, file), 'utf8'))) {
      for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = m[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
        const [path, hash] = target.split('#', 2) as [string, string | undefined];
        const resolved = path === '' ? file : relative(repo, join(repo, dirname(file), decodeURIComponent(path)));
        if (!existsSync(join(repo, resolved))) {
          problems.push(`${file}:${line}: link to ${target}: ${resolved} does not exist`);
          continue;
        }
        if (hash === undefined || statSync(join(repo, resolved)).isDirectory()) continue;
        if (!resolved.endsWith('.md')) continue;
        if (!anchorsFor(resolved).has(hash)) problems.push(`${file}:${line}: link to ${target}: ${resolved} has no heading or <a id> '${hash}'`);
      }
    }
  }
  return problems;
}
