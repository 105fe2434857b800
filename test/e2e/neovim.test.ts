/**
 * A real editor: Neovim (headless, Debian's package) with the config users get,
 * clients/neovim/dws.lua, starts `dws server --stdio` through its built-in LSP client on a step
 * file; the test reads back, from Neovim itself, the diagnostic for an unknown resource, the
 * hover on a ref string and what :DwsRun tells the user. The config works on Neovim 0.7
 * (Debian bookworm: no vim.lsp.start, no vim.fs) and newer.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, DWS, newWorkspace, REPO, requireOnPath, TEST_ENV, tempDir } from '../helpers.js';

const STEP = `import { defineStep } from 'dataworkspaces';

export default defineStep({
  name: 'prepare',
  inputs: { raw: 'source-data', extra: 'no-such-data' },
  outputs: { prepared: 'intermediate-data:/prepared' },
  async run() {},
});
`;

afterAll(cleanup);

const s = (v: string) => JSON.stringify(v); // a JSON string is a valid Lua string literal here

/** Loads the config before the step file opens (so its FileType autocmd attaches the server), with the built dws as the server command. */
const SETUP = `lua dofile(${s(join(REPO, 'clients', 'neovim', 'dws.lua'))}).setup({ cmd = { ${s(process.execPath)}, ${s(DWS)}, 'server', '--stdio' } })`;

/** Lua for Neovim: wait (polling) for the server's diagnostic, ask for a hover, :DwsRun and catch its message, write all as JSON, quit. */
function script(out: string, hoverAt: { line: number; character: number }): string {
  return `
local buf = vim.api.nvim_get_current_buf()
local found = vim.wait(30000, function()
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    if d.message:find('Unknown resource', 1, true) then return true end
  end
  return false
end, 50)
local diagnostics = {}
for _, d in ipairs(vim.diagnostic.get(buf)) do
  table.insert(diagnostics, { lnum = d.lnum, col = d.col, end_col = d.end_col, severity = d.severity, message = d.message })
end
local hover = vim.lsp.buf_request_sync(buf, 'textDocument/hover', {
  textDocument = { uri = vim.uri_from_bufnr(buf) },
  position = { line = ${hoverAt.line}, character = ${hoverAt.character} },
}, 30000)
local text = vim.NIL
for _, r in pairs(hover or {}) do
  if r.result then text = r.result.contents.value end
end
local messages = {}
vim.notify = function(msg, level) table.insert(messages, { msg = msg, level = level }) end
vim.cmd('DwsRun')
vim.wait(60000, function() return #messages > 0 end, 50)
local clients = {}
for _, c in pairs(vim.lsp.buf_get_clients(buf)) do table.insert(clients, c.name) end
vim.fn.writefile({ vim.fn.json_encode({ found = found, diagnostics = diagnostics, hover = text, run = messages, clients = clients }) }, ${s(out)})
vim.lsp.stop_client(vim.lsp.get_active_clients())
vim.cmd('qa!')
`;
}

describe('Neovim drives dws server --stdio', () => {
  it('shows the unknown-resource diagnostic, a hover from the server and :DwsRun refused', async () => {
    const ws = await newWorkspace(['--create-resources', 'source-data,intermediate-data,code']);
    const step = join(ws, 'code', 'prepare.step.ts');
    writeFileSync(step, STEP);
    const dir = tempDir('dws-nvim-');
    const out = join(dir, 'out.json');
    const lua = join(dir, 'init.lua');
    writeFileSync(lua, script(out, { line: 4, character: STEP.split('\n')[4]!.indexOf('source-data') + 2 }));
    const nvim = spawn(requireOnPath(['nvim'], "Debian's neovim package: apt-get install neovim"), ['--headless', '--clean', '--cmd', SETUP, step, '-c', `luafile ${lua}`], { cwd: ws, env: { ...TEST_ENV, HOME: dir, XDG_STATE_HOME: dir, XDG_DATA_HOME: dir } });
    let stderr = '';
    nvim.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // A guard so a hung editor fails the test instead of hanging it (not a timed assertion).
    const guard = setTimeout(() => nvim.kill(), 60_000);
    const code = await new Promise<number | null>((resolve) => nvim.on('exit', resolve));
    clearTimeout(guard);
    expect(code, stderr).toBe(0);
    const result = JSON.parse(readFileSync(out, 'utf8')) as {
      found: boolean;
      diagnostics: Array<{ lnum: number; col: number; end_col: number; severity: number; message: string }>;
      hover: string;
      run: Array<{ msg: string; level: number }>;
      clients: string[];
    };
    expect(result.clients).toEqual(['dws']);
    expect(result.found).toBe(true);
    const unknown = result.diagnostics.find((d) => d.message.startsWith("Unknown resource 'no-such-data'"))!;
    expect(unknown).toMatchObject({ lnum: 4, col: STEP.split('\n')[4]!.indexOf('no-such-data'), severity: 1 });
    expect(unknown.message).toContain('this workspace has source-data, intermediate-data, code');
    expect(result.hover).toContain('**source-data**: git-subdirectory resource, role source-data');
    expect(result.hover).toMatch(/current hash: [0-9a-f]{8}/);
    // :DwsRun on the step file: the server refuses the unknown resource, and the user is told so as an error.
    expect(result.run).toHaveLength(1);
    expect(result.run[0]!.level).toBe(4); // vim.log.levels.ERROR
    expect(result.run[0]!.msg).toMatch(/^dws: .*no-such-data/);
  });
});
