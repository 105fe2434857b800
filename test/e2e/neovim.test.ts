/**
 * A real editor: Neovim (headless, Debian's package) starts `dws server --stdio` through its
 * built-in LSP client on a step file; the test reads back, from Neovim itself, the diagnostic
 * for an unknown resource and the hover on a ref string. Neovim 0.7 (Debian bookworm) has no
 * vim.lsp.start, so the script uses vim.lsp.start_client + vim.lsp.buf_attach_client.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, DWS, newWorkspace, requireOnPath, TEST_ENV, tempDir } from '../helpers.js';

const STEP = `import { defineStep } from 'dataworkspaces';

export default defineStep({
  name: 'prepare',
  inputs: { raw: 'source-data', extra: 'no-such-data' },
  outputs: { prepared: 'intermediate-data:/prepared' },
  async run() {},
});
`;

afterAll(cleanup);

/** Lua for Neovim: attach the dws server, wait (polling) for its diagnostic, ask for a hover, write both as JSON, quit. */
function script(ws: string, out: string, hoverAt: { line: number; character: number }): string {
  const s = (v: string) => JSON.stringify(v); // a JSON string is a valid Lua string literal here
  return `
local buf = vim.api.nvim_get_current_buf()
local client = vim.lsp.start_client({ name = 'dws', cmd = { ${s(process.execPath)}, ${s(DWS)}, 'server', '--stdio' }, root_dir = ${s(ws)} })
vim.lsp.buf_attach_client(buf, client)
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
vim.fn.writefile({ vim.fn.json_encode({ found = found, diagnostics = diagnostics, hover = text }) }, ${s(out)})
vim.lsp.stop_client(client)
vim.cmd('qa!')
`;
}

describe('Neovim drives dws server --stdio', () => {
  it('shows the unknown-resource diagnostic and a hover from the server', async () => {
    const ws = await newWorkspace(['--create-resources', 'source-data,intermediate-data,code']);
    const step = join(ws, 'code', 'prepare.step.ts');
    writeFileSync(step, STEP);
    const dir = tempDir('dws-nvim-');
    const out = join(dir, 'out.json');
    const lua = join(dir, 'init.lua');
    writeFileSync(lua, script(ws, out, { line: 4, character: STEP.split('\n')[4]!.indexOf('source-data') + 2 }));
    const nvim = spawn(requireOnPath(['nvim'], "Debian's neovim package: apt-get install neovim"), ['--headless', '--clean', step, '-c', `luafile ${lua}`], { cwd: ws, env: { ...TEST_ENV, HOME: dir, XDG_STATE_HOME: dir, XDG_DATA_HOME: dir } });
    let stderr = '';
    nvim.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // A guard so a hung editor fails the test instead of hanging it (not a timed assertion).
    const guard = setTimeout(() => nvim.kill(), 60_000);
    const code = await new Promise<number | null>((resolve) => nvim.on('exit', resolve));
    clearTimeout(guard);
    expect(code, stderr).toBe(0);
    const result = JSON.parse(readFileSync(out, 'utf8')) as { found: boolean; diagnostics: Array<{ lnum: number; col: number; end_col: number; severity: number; message: string }>; hover: string };
    expect(result.found).toBe(true);
    const unknown = result.diagnostics.find((d) => d.message.startsWith("Unknown resource 'no-such-data'"))!;
    expect(unknown).toMatchObject({ lnum: 4, col: STEP.split('\n')[4]!.indexOf('no-such-data'), severity: 1 });
    expect(unknown.message).toContain('this workspace has source-data, intermediate-data, code');
    expect(result.hover).toContain('**source-data**: git-subdirectory resource, role source-data');
    expect(result.hover).toMatch(/current hash: [0-9a-f]{8}/);
  });
});
