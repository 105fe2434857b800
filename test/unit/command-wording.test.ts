/** ctx.command: what to run, as the CLI says it (its command line) and as JSON-RPC/API callers get it (the method and params). */
import { describe, expect, it } from 'vitest';
import { terminalContext } from '../../clients/cli/terminal.js';
import { createContext } from '../../server/context.js';
import { messageIn, wordedFor } from '../../server/store/advice.js';
import { TruncatedPackError } from '../../server/store/pack.js';

const cli = terminalContext({ batch: true, verbose: false, json: false });
const rpc = createContext();

describe('ctx.command', () => {
  it('gives the CLI its command line: options first, then arguments; values quoted for the shell except placeholders', () => {
    expect(cli.command('dws/fsck', { remote: true })).toBe('dws fsck --remote');
    expect(cli.command('dws/report/history')).toBe('dws report history');
    expect(cli.command('dws/restore', { force: true, tagOrHash: 'SNAPSHOT' })).toBe('dws restore --force SNAPSHOT');
    expect(cli.command('dws/restore', { tagOrHash: '<hash>' })).toBe('dws restore <hash>');
    expect(cli.command('dws/config', { resource: 'my data', name: 'local_path', value: 'NEW_PATH' })).toBe("dws config --resource 'my data' local_path NEW_PATH");
    expect(cli.command('dws/gc', { forgetWorkspaces: ['/a', "/b c"] })).toBe("dws gc --forget-workspace /a --forget-workspace '/b c'");
    expect(cli.command('dws/store/checkout', { tree: 'f'.repeat(40), directory: 'DIR' })).toBe(`dws store checkout ${'f'.repeat(40)} DIR`);
  });

  it('gives JSON-RPC and API callers the method and its params', () => {
    expect(rpc.command('dws/fsck', { remote: true })).toBe('dws/fsck with {"remote": true}');
    expect(rpc.command('dws/report/history')).toBe('dws/report/history');
    expect(rpc.command('dws/config', { name: 'store.remote', value: 'REMOTE' })).toBe('dws/config with {"name": "store.remote", "value": "REMOTE"}');
    expect(rpc.command('dws/gc', { forgetWorkspaces: ['/a'] })).toBe('dws/gc with {"forgetWorkspaces": ["/a"]}');
  });
});

describe("the content store's errors, which have no context", () => {
  it('name what to run in the default wording, and in a context\'s once they meet one', () => {
    const said = () => new TruncatedPackError('p1', '/s/packs');
    expect(said().message).toBe("Pack p1 in /s/packs is truncated; run 'dws/fsck'");
    expect(messageIn(cli, said())).toBe("Pack p1 in /s/packs is truncated; run 'dws fsck'");
    expect(wordedFor(cli, said()).message).toBe("Pack p1 in /s/packs is truncated; run 'dws fsck'");
    expect(wordedFor(rpc, said()).message).toBe("Pack p1 in /s/packs is truncated; run 'dws/fsck'");
    expect(messageIn(cli, new Error('plain'))).toBe('plain');
  });
});
