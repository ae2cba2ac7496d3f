-- Accepting part of a suggestion: the next word or the next line, as copilot.vim does.
--
-- Neovim 0.12's vim.lsp.inline_completion can only accept a whole item, so for the native path
-- the plugin takes the item through `get({ on_accept = ... })` and inserts the piece itself.

local M = {}

local api = vim.api

-- Keyword characters for "word": letters, digits, `_` and every non-ASCII byte (like the
-- default 'iskeyword'), so a cut never falls inside a UTF-8 sequence.
local WORD = '^[^%w_\128-\255\n]*[%w_\128-\255]*'
local LINE = '^[^\n]*'

--- The leading piece of `text` that one accept-word (`kind` 'word') or accept-line ('line') takes:
--- any newlines, then for a word the non-keyword characters and the keyword characters after them
--- (" a", " + b", "(x"), for a line the rest of that line without its newline.
---@param text string
---@param kind 'word'|'line'
---@return string
function M.piece(text, kind)
  local newlines = text:match('^\n*')
  local rest = text:sub(#newlines + 1)
  return newlines .. rest:match(kind == 'word' and WORD or LINE)
end

--- Inserts `text` at (row, col) of `bufnr` and puts the cursor of `win` after it.
---@return integer row, integer col where the cursor went (0-based)
function M.insert(bufnr, win, row, col, text)
  local lines = vim.split(text, '\n', { plain = true })
  api.nvim_buf_set_text(bufnr, row, col, row, col, lines)
  local end_row = row + #lines - 1
  local end_col = (#lines == 1 and col or 0) + #lines[#lines]
  api.nvim_win_set_cursor(win, { end_row + 1, end_col })
  return end_row, end_col
end

-- Length of the longest common prefix of two strings, in bytes.
local function common_prefix(a, b)
  local i = 0
  while i < #a and i < #b and a:byte(i + 1) == b:byte(i + 1) do
    i = i + 1
  end
  return i
end

--- What Neovim 0.12's default accept does with an item (kept in step with
--- runtime/lua/vim/lsp/inline_completion.lua: range edit or paste, snippet, then the command).
---@param bufnr integer
---@param item table vim.lsp.inline_completion.Item
function M.native_accept_all(bufnr, item)
  local insert = item.insert_text
  local win = vim.fn.bufwinid(bufnr)
  if type(insert) == 'string' then
    local range = item.range
    if range and win ~= -1 then
      local finish = range.end_ or range['end']
      local lines = vim.split(insert, '\n', { plain = true })
      api.nvim_buf_set_text(bufnr, range.start.row, range.start.col, finish.row, finish.col, lines)
      api.nvim_win_set_cursor(win, {
        range.start.row + #lines,
        (#lines == 1 and range.start.col or 0) + #lines[#lines],
      })
    else
      api.nvim_paste(insert, false, 0)
    end
  elseif type(insert) == 'table' and insert.value then
    vim.snippet.expand(insert.value)
  end
  if item.command then
    local client = vim.lsp.get_client_by_id(item.client_id)
    if client then
      client:exec_cmd(item.command, { bufnr = bufnr })
    end
  end
end

--- Accepts the next word or line of a native (0.12) item: the part shown after the cursor is
--- worked out the way the native renderer does it (skip what the buffer already has), and the
--- piece goes in at the cursor. The rest comes back with the next request, which the server
--- answers from its typing cache. Snippets, ranges that start on another line, and a piece that
--- is the whole rest fall back to the full accept.
---@param bufnr integer
---@param item table vim.lsp.inline_completion.Item
---@param kind 'word'|'line'
function M.native_accept(bufnr, item, kind)
  local insert = item.insert_text
  local win = vim.fn.bufwinid(bufnr)
  if type(insert) ~= 'string' or win == -1 then
    return M.native_accept_all(bufnr, item)
  end
  local cursor = api.nvim_win_get_cursor(win)
  local row, col = cursor[1] - 1, cursor[2]
  local start_row, start_col = row, col
  if item.range then
    start_row, start_col = item.range.start.row, item.range.start.col
  end
  if start_row ~= row or start_col > col then
    return M.native_accept_all(bufnr, item)
  end
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, true)[1]
  local first_line = insert:match('^[^\n]*')
  local skip = math.max(common_prefix(line:sub(start_col + 1), first_line), col - start_col)
  local shown = insert:sub(skip + 1)
  local piece = M.piece(shown, kind)
  if piece == '' or piece == shown then
    return M.native_accept_all(bufnr, item)
  end
  M.insert(bufnr, win, row, start_col + skip, piece)
end

return M
