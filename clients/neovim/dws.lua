-- Data Workspaces for Neovim: starts `dws server --stdio` as a language client for step files
-- and .dataworkspace/*.json in a workspace (diagnostics, hovers, completion, code lenses), and
-- adds :DwsRun, :DwsSnapshot and :DwsRestore. Works on Neovim 0.7 (Debian bookworm's) and newer:
-- it uses no vim.fs and, where vim.lsp.start is missing (0.7), vim.lsp.start_client.
--
-- Use it (copy the file into ~/.config/nvim/lua/ to `require('dws')` instead):
--   dofile('/path/to/clients/neovim/dws.lua').setup()
--   dofile('/path/to/clients/neovim/dws.lua').setup({ cmd = { 'npx', 'dws', 'server', '--stdio' } })
local M = {}

local defaults = {
  -- The server command; `dws` must be on PATH (or give the full command).
  cmd = { 'dws', 'server', '--stdio' },
  filetypes = { 'typescript', 'javascript', 'json' },
}

local config = vim.deepcopy(defaults)
-- 0.7: one client per workspace root, reused for every buffer in it.
local clients = {}

--- The workspace root of a file: the nearest directory above it holding .dataworkspace/, or nil.
function M.root(file)
  if file == '' then return nil end
  local dir = vim.fn.fnamemodify(file, ':p:h')
  local meta = vim.fn.finddir('.dataworkspace', dir .. ';')
  if meta == '' then return nil end
  return vim.fn.fnamemodify(meta, ':p:h:h')
end

--- Attach the dws server to buffer `buf` if its file is in a workspace; returns the client id.
function M.attach(buf)
  local file = vim.api.nvim_buf_get_name(buf)
  local root = M.root(file)
  if not root then return nil end
  -- The server checks TypeScript/JavaScript step files and the workspace's own JSON files.
  if vim.bo[buf].filetype == 'json' and not file:find('/.dataworkspace/', 1, true) then return nil end
  local opts = { name = 'dws', cmd = config.cmd, root_dir = root }
  if vim.lsp.start then
    return vim.api.nvim_buf_call(buf, function() return vim.lsp.start(opts) end)
  end
  local id = clients[root]
  local client = id and vim.lsp.get_client_by_id(id)
  if not client or client.is_stopped() then
    id = vim.lsp.start_client(opts)
    clients[root] = id
  end
  if id then vim.lsp.buf_attach_client(buf, id) end
  return id
end

--- The dws client attached to the current buffer, or nil (with a message).
local function current_client()
  if vim.lsp.get_clients then -- 0.10+
    local c = vim.lsp.get_clients({ bufnr = 0, name = 'dws' })[1]
    if c then return c end
  else
    for _, c in pairs(vim.lsp.buf_get_clients(0)) do
      if c.name == 'dws' then return c end
    end
  end
  vim.notify('dws: this buffer is not in a Data Workspace (no .dataworkspace/ above it)', vim.log.levels.ERROR)
  return nil
end

--- Run a server command (dws.run, dws.snapshot, dws.restore) in the current buffer's workspace; report its outcome.
--- `uri`: send the buffer's uri (for dws.run: run this file); without it the server uses the client's root.
local function execute(command, args, uri, done)
  local client = current_client()
  if not client then return end
  if uri then args.uri = vim.uri_from_bufnr(0) end
  local params = { command = command, arguments = { args } }
  local handler = function(err, result)
    if err then
      vim.notify('dws: ' .. err.message, vim.log.levels.ERROR)
    else
      done(result)
    end
  end
  -- 0.11 made client methods take self (client:request); 0.7-0.10 have client.request.
  if vim.fn.has('nvim-0.11') == 1 then
    client:request('workspace/executeCommand', params, handler, 0)
  else
    client.request('workspace/executeCommand', params, handler, 0)
  end
end

function M.setup(opts)
  config = vim.tbl_extend('force', vim.deepcopy(defaults), opts or {})
  local group = vim.api.nvim_create_augroup('dws', { clear = true })
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = config.filetypes,
    callback = function(args) M.attach(args.buf) end,
  })

  -- :DwsRun runs the current step file, or the workspace's pipeline from any other file.
  vim.api.nvim_create_user_command('DwsRun', function()
    local file = vim.api.nvim_buf_get_name(0)
    local step = file:match('%.step%.m?[jt]s$') ~= nil
    execute('dws.run', step and {} or { pipeline = true }, step, function(r)
      local counts = {}
      for _, s in ipairs(r.steps) do counts[s.status] = (counts[s.status] or 0) + 1 end
      local parts = {}
      for _, status in ipairs({ 'succeeded', 'restored', 'skipped', 'failed', 'not-run' }) do
        if counts[status] then table.insert(parts, counts[status] .. ' ' .. status) end
      end
      local what = step and vim.fn.fnamemodify(file, ':t') or "the workspace's pipeline"
      if r.ok then
        local snap = r.snapshot ~= vim.NIL and r.snapshot and ('; snapshot ' .. r.snapshot.hash:sub(1, 8)) or ''
        vim.notify('dws: ran ' .. what .. ': ' .. table.concat(parts, ', ') .. snap, vim.log.levels.INFO)
      else
        local failed = {}
        for _, s in ipairs(r.steps) do
          if s.status == 'failed' then table.insert(failed, s.step .. ': ' .. tostring(s.reason)) end
        end
        vim.notify('dws: run of ' .. what .. (r.interrupted and ' interrupted' or ' failed') .. ' (' .. table.concat(parts, ', ') .. ')' .. (#failed > 0 and ('. ' .. table.concat(failed, '; ')) or ''), vim.log.levels.ERROR)
      end
    end)
  end, { desc = "dws: run this step file, or the workspace's pipeline" })

  vim.api.nvim_create_user_command('DwsSnapshot', function(a)
    local args = { message = '' }
    if a.args ~= '' then args.tag = a.args end
    execute('dws.snapshot', args, true, function(r)
      vim.notify('dws: snapshot ' .. r.hash:sub(1, 8) .. (r.tag ~= vim.NIL and r.tag and (' (' .. r.tag .. ')') or '') .. ' taken', vim.log.levels.INFO)
    end)
  end, { nargs = '?', desc = 'dws: take a snapshot [TAG]' })

  vim.api.nvim_create_user_command('DwsRestore', function(a)
    -- Restore replaces the resources' files: ask first.
    if vim.fn.confirm('Restore snapshot ' .. a.args .. '?', '&Restore\n&Cancel', 2, 'Warning') ~= 1 then return end
    execute('dws.restore', { tagOrHash = a.args }, true, function(r)
      vim.notify('dws: restored snapshot ' .. a.args .. ': ' .. table.concat(r.restored, ', '), vim.log.levels.INFO)
    end)
  end, { nargs = 1, desc = 'dws: restore snapshot TAG_OR_HASH' })
  return M
end

return M
