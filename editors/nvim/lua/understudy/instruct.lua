-- "Edit with instruction": asks for a sentence ("add error handling") and sends the selection to
-- the server's `understudy.instruct` command; the server answers with `workspace/applyEdit`, which
-- Neovim applies (one undo step). Offered only when the server's model has a chat template.

local lsp_client = require('understudy.client')
local position = require('understudy.position')

local M = {}

local api = vim.api
local NAME = 'understudy'
local COMMAND = 'understudy.instruct'

local function attached_client(bufnr)
  return lsp_client.find(NAME, bufnr)[1]
end

--- Whether the server offers the command; else nil and why.
---@return boolean, string|nil
function M.available(client)
  local caps = client.server_capabilities or {}
  for _, name in ipairs((caps.executeCommandProvider or {}).commands or {}) do
    if name == COMMAND then
      return true
    end
  end
  local why = ((caps.experimental or {}).instruct or {}).reason
  return false, why or 'the server does not offer ' .. COMMAND
end

--- The LSP range of rows/columns (0-based rows, 0-based byte columns, end exclusive).
local function lsp_range(bufnr, srow, scol, erow, ecol, encoding)
  local function pos(row, col)
    local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1]
    if line == nil then
      return { line = row, character = 0 }
    end
    return { line = row, character = position.to_character(line, col, encoding) }
  end
  return { start = pos(srow, scol), ['end'] = pos(erow, ecol) }
end

--- The text to edit as 0-based rows and byte columns, end exclusive: the lines `line1`..`line2`
--- when given (a command range: whole lines, up to the start of the next one), else the last
--- Visual selection (exact for a charwise one), else the cursor's line.
function M.selection(bufnr, line1, line2)
  if line1 then
    return line1 - 1, 0, line2, 0
  end
  local s = api.nvim_buf_get_mark(bufnr, '<')
  local e = api.nvim_buf_get_mark(bufnr, '>')
  if s[1] == 0 or e[1] == 0 then
    local row = api.nvim_win_get_cursor(0)[1]
    return row - 1, 0, row, 0
  end
  if vim.fn.visualmode() ~= 'v' then
    return s[1] - 1, 0, e[1], 0
  end
  local last_line = api.nvim_buf_get_lines(bufnr, e[1] - 1, e[1], false)[1] or ''
  -- '> is the last selected byte (or past the end in `$` mode): include the whole character.
  local ecol = math.min(#last_line, e[2] + 1)
  while ecol < #last_line and last_line:byte(ecol + 1) >= 0x80 and last_line:byte(ecol + 1) < 0xC0 do
    ecol = ecol + 1
  end
  return s[1] - 1, s[2], e[1] - 1, ecol
end

--- Sends `instruction` for rows/columns of `bufnr`; `done(err)` is called when the server answered.
function M.run(bufnr, instruction, srow, scol, erow, ecol, done)
  done = done or function() end
  local client = attached_client(bufnr)
  if not client then
    vim.notify('Understudy: no server is attached to this buffer', vim.log.levels.WARN)
    return done('no client')
  end
  local ok, why = M.available(client)
  if not ok then
    vim.notify('Understudy: edit with instruction is not available: ' .. why, vim.log.levels.WARN)
    return done(why)
  end
  local encoding = client.offset_encoding or 'utf-16'
  -- A last line selected whole ends at the start of the line after it (the end of the document).
  local range = lsp_range(bufnr, srow, scol, erow, ecol, encoding)
  local params = {
    command = COMMAND,
    arguments = {
      {
        uri = vim.uri_from_bufnr(bufnr),
        range = range,
        version = vim.lsp.util.buf_versions[bufnr],
        instruction = instruction,
      },
    },
  }
  lsp_client.request(client, 'workspace/executeCommand', params, function(err)
    if err then
      vim.notify('Understudy: ' .. (err.message or vim.inspect(err)), vim.log.levels.WARN)
    end
    done(err)
  end, bufnr)
end

--- Asks for the instruction with vim.ui.input (unless given) and runs it on the selection
--- (the lines `line1`..`line2` of a command range, or the last Visual selection).
function M.instruct(opts)
  opts = opts or {}
  local bufnr = api.nvim_get_current_buf()
  local srow, scol, erow, ecol = M.selection(bufnr, opts.line1, opts.line2)
  local function go(text)
    if text == nil or vim.trim(text) == '' then
      return
    end
    M.run(bufnr, text, srow, scol, erow, ecol, opts.done)
  end
  if opts.instruction and opts.instruction ~= '' then
    return go(opts.instruction)
  end
  vim.ui.input({ prompt = 'Instruction: ' }, go)
end

return M
