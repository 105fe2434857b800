/** Path tests by components, and words of a shell command line (server/workspace/paths.ts). */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isWithin, shellQuote } from '../../server/workspace/paths.js';

describe('isWithin', () => {
  it('compares components, not strings', () => {
    expect(isWithin('/ws/data', '/ws')).toBe(true);
    expect(isWithin('/ws', '/ws')).toBe(true);
    expect(isWithin('/ws-scratch', '/ws')).toBe(false);
    expect(isWithin('/ws/../other', '/ws')).toBe(false);
  });
});

describe('shellQuote', () => {
  const words = ['plain/path-1.txt', 'K=v:1,2@x+%', '', 'two words', "it's", '$HOME', 'a;b', '*', '~', 'line\nfeed', "'", '-c'];

  it('leaves plain words as they are and quotes the others', () => {
    expect(shellQuote('plain/path-1.txt')).toBe('plain/path-1.txt');
    expect(shellQuote('two words')).toBe("'two words'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('')).toBe("''");
  });

  it('gives back every word unchanged through sh', () => {
    const out = execFileSync('sh', ['-c', `printf '%s\\0' ${words.map(shellQuote).join(' ')}`], { encoding: 'utf8' });
    expect(out.split('\0').slice(0, -1)).toEqual(words);
  });
});
