-- Ghost text for Neovim 0.10/0.11, which have no native inline completion.
--
-- While typing (debounced) it sends textDocument/inlineCompletion, shows the first
-- item as virtual text at the cursor, and applies the item's range edit on accept.
-- A newer request cancels the one in flight; moving the cursor or leaving insert
-- mode hides the suggestion. Typing the characters the suggestion shows keeps it
-- visible without asking the server again; so does accepting its next word or line.

local partial = require('understudy.partial')
local lsp_client = require('understudy.client')
local position = require('understudy.position')

local M = {}

local api = vim.api
local ns = api.nvim_create_namespace('understudy.ghost')

local TRIGGER_AUTOMATIC = 2
local REQUEST_CANCELLED = -32800

--- Per-buffer state, created by attach() and dropped by detach().
---@type table<integer, table>
local buffers = {}

local function cursor_of(bufnr)
  local win = api.nvim_get_current_win()
  if api.nvim_win_get_buf(win) ~= bufnr then
    return nil
  end
  local pos = api.nvim_win_get_cursor(win)
  return pos[1] - 1, pos[2]
end

local function line_at(bufnr, row)
  return api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
end

--- Plain text of an item's insertText; snippets show with their placeholders' defaults.
local function item_text(item)
  local insert = item.insertText
  if type(insert) == 'string' then
    return insert, false
  end
  if type(insert) == 'table' and type(insert.value) == 'string' then
    local text = insert.value
      :gsub('%${%d+:([^}]*)}', '%1')
      :gsub('%${%d+}', '')
      :gsub('%$%d+', '')
      :gsub('\\([%$}\\])', '%1')
    return text, true
  end
  return nil
end

--- Converts an LSP item into byte coordinates of this buffer, or nil if unusable.
local function normalize(bufnr, client, item, row, col)
  local text, is_snippet = item_text(item)
  if not text then
    return nil
  end
  local s = { row = row, col = col, text = text, snippet = is_snippet and item.insertText.value or nil }
  s.command = item.command
  if item.range then
    local enc = client.offset_encoding or 'utf-16'
    local r = item.range
    s.row = r.start.line
    s.col = position.to_byte(line_at(bufnr, r.start.line), r.start.character, enc)
    s.end_row = r['end'].line
    local end_line = line_at(bufnr, r['end'].line)
    local end_col = position.to_byte(end_line, r['end'].character, enc)
    -- Typing moves the end of the range on the cursor's line; remembering what
    -- follows it lets accept() find the end again after the user typed along.
    s.tail = #end_line - end_col
    s.end_col = end_col
  else
    s.end_row, s.end_col = row, col
    s.tail = #line_at(bufnr, row) - col
  end
  return s
end

--- Text still to show at the cursor, or nil when the suggestion no longer fits.
local function remaining(bufnr, s, row, col)
  if row ~= s.row or col < s.col then
    return nil
  end
  local typed = line_at(bufnr, row):sub(s.col + 1, col)
  if s.text:sub(1, #typed) ~= typed or #typed >= #s.text then
    return nil
  end
  return s.text:sub(#typed + 1)
end

local function hide(bufnr)
  if api.nvim_buf_is_valid(bufnr) then
    api.nvim_buf_clear_namespace(bufnr, ns, 0, -1)
  end
end

local function render(bufnr, st, row, col)
  hide(bufnr)
  local s = st.items and st.items[st.index]
  local rest = s and remaining(bufnr, s, row, col)
  if not rest then
    st.items = nil
    return false
  end
  local lines = vim.split(rest, '\n', { plain = true })
  local first = { { lines[1], st.opts.hl_group } }
  if #st.items > 1 then
    table.insert(first, { (' (%d/%d)'):format(st.index, #st.items), st.opts.hl_group })
  end
  local virt_lines = {}
  for i = 2, #lines do
    virt_lines[#virt_lines + 1] = { { lines[i], st.opts.hl_group } }
  end
  api.nvim_buf_set_extmark(bufnr, ns, row, col, {
    virt_text = first,
    virt_text_pos = 'inline',
    virt_lines = #virt_lines > 0 and virt_lines or nil,
    hl_mode = 'combine',
  })
  st.shown_at = { row, col, api.nvim_buf_get_changedtick(bufnr) }
  return true
end

local function cancel_inflight(st)
  local inflight = st.inflight
  st.inflight = nil
  if inflight then
    local client = vim.lsp.get_client_by_id(inflight.client_id)
    if client then
      lsp_client.cancel(client, inflight.id)
    end
  end
end

local function stop_timer(st)
  if st.timer and not st.timer:is_closing() then
    st.timer:stop()
  end
end

--- Hides the suggestion and cancels work in flight for `bufnr`.
function M.dismiss(bufnr)
  local st = buffers[bufnr]
  if not st then
    return
  end
  stop_timer(st)
  cancel_inflight(st)
  st.items, st.shown_at = nil, nil
  hide(bufnr)
end

--- Sends textDocument/inlineCompletion for the cursor position now (`kind`: the triggerKind,
--- Automatic by default). With `advance`, the answer is shown from that many candidates past the
--- first (1: the second, -1: the last), as cycling does. Returns false when nothing was sent.
function M.request(bufnr, kind, advance)
  local st = buffers[bufnr]
  local client = st and vim.lsp.get_client_by_id(st.client_id)
  local row, col = cursor_of(bufnr)
  if not client or not row or not st.enabled or not api.nvim_get_mode().mode:match('^i') then
    return false
  end
  -- This request replaces the one the typing debounce may still have scheduled: under load that timer
  -- could fire after an invoked request and replace its candidates with one.
  stop_timer(st)
  cancel_inflight(st)
  local enc = client.offset_encoding or 'utf-16'
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    position = { line = row, character = position.to_character(line_at(bufnr, row), col, enc) },
    context = { triggerKind = kind or TRIGGER_AUTOMATIC },
  }
  local tick = api.nvim_buf_get_changedtick(bufnr)
  st.last_request = { row, col, tick }
  local id
  local ok, request_id = lsp_client.request(client, 'textDocument/inlineCompletion', params, function(err, result)
    if not st.inflight or st.inflight.id ~= id then
      return -- a newer request replaced this one
    end
    st.inflight = nil
    if err then
      if err.code ~= REQUEST_CANCELLED then
        vim.lsp.log.warn('understudy: inlineCompletion failed', err)
      end
      return
    end
    local now_row, now_col = cursor_of(bufnr)
    if now_row ~= row or now_col ~= col or api.nvim_buf_get_changedtick(bufnr) ~= tick then
      return -- the buffer moved on while the server was thinking
    end
    local items = {}
    for _, item in ipairs(result and (result.items or result) or {}) do
      items[#items + 1] = normalize(bufnr, client, item, row, col)
    end
    if #items == 0 then
      return
    end
    st.items, st.index = items, (advance or 0) % #items + 1
    render(bufnr, st, row, col)
  end, bufnr)
  if ok and request_id then
    id = request_id
    st.inflight = { client_id = client.id, id = id }
  end
end

local function schedule(bufnr)
  local st = buffers[bufnr]
  stop_timer(st)
  st.timer:start(st.opts.debounce_ms, 0, vim.schedule_wrap(function()
    if buffers[bufnr] == st then
      M.request(bufnr, TRIGGER_AUTOMATIC)
    end
  end))
end

local function on_change(bufnr)
  local st = buffers[bufnr]
  local row, col = cursor_of(bufnr)
  if not st or not st.enabled or not row then
    return
  end
  local tick = api.nvim_buf_get_changedtick(bufnr)
  local last = st.last_seen
  if last and last[1] == row and last[2] == col and last[3] == tick then
    return -- CursorMovedI right after TextChangedI for the same keystroke
  end
  st.last_seen = { row, col, tick }
  if st.items and render(bufnr, st, row, col) then
    return -- the user typed along the suggestion
  end
  M.dismiss(bufnr)
  schedule(bufnr)
end

-- The state of `bufnr` when a suggestion is visible there, else nil.
local function shown(bufnr)
  local st = buffers[bufnr]
  if st and st.items then
    return st
  end
end

--- True when a suggestion is visible in `bufnr`.
function M.visible(bufnr)
  return shown(bufnr) ~= nil
end

-- Applies suggestion `s` whole: its range edit (the end follows typing on the cursor's line),
-- a snippet through vim.snippet, then the item's command.
local function apply(bufnr, st, s)
  local row, col = cursor_of(bufnr)
  if not row or not remaining(bufnr, s, row, col) then
    return
  end
  local end_row, end_col = s.end_row, s.end_col
  if end_row == row then
    end_col = math.max(col, #line_at(bufnr, row) - s.tail)
  end
  local lines = vim.split(s.text, '\n', { plain = true })
  if s.snippet then
    api.nvim_buf_set_text(bufnr, s.row, s.col, end_row, end_col, { '' })
    api.nvim_win_set_cursor(0, { s.row + 1, s.col })
    vim.snippet.expand(s.snippet)
  else
    api.nvim_buf_set_text(bufnr, s.row, s.col, end_row, end_col, lines)
    local last_col = (#lines == 1 and s.col or 0) + #lines[#lines]
    api.nvim_win_set_cursor(0, { s.row + #lines, last_col })
  end
  local client = vim.lsp.get_client_by_id(st.client_id)
  if s.command and client then
    lsp_client.request(client, 'workspace/executeCommand', {
      command = s.command.command,
      arguments = s.command.arguments,
    }, function() end, bufnr)
  end
end

--- Applies the visible suggestion; returns false when there is none.
--- Safe to call from an <expr> mapping: the edit itself runs scheduled.
function M.accept(bufnr)
  local st = shown(bufnr)
  if not st then
    return false
  end
  local s = st.items[st.index]
  vim.schedule(function()
    M.dismiss(bufnr)
    apply(bufnr, st, s)
  end)
  return true
end

--- Inserts the next word (`kind` 'word') or line ('line') of the visible suggestion at the
--- cursor and keeps showing the rest; the last piece applies the item whole (its range edit and
--- command). Returns false when nothing is visible. Safe to call from an <expr> mapping.
function M.accept_partial(bufnr, kind)
  local st = shown(bufnr)
  if not st then
    return false
  end
  local s = st.items[st.index]
  vim.schedule(function()
    local row, col = cursor_of(bufnr)
    local rest = row and remaining(bufnr, s, row, col)
    local piece = rest and partial.piece(rest, kind)
    if not rest or s.snippet or s.end_row ~= s.row or piece == '' or piece == rest then
      M.dismiss(bufnr)
      return apply(bufnr, st, s)
    end
    stop_timer(st)
    cancel_inflight(st)
    local new_row, new_col = partial.insert(bufnr, api.nvim_get_current_win(), row, col, piece)
    -- The rest becomes an insertion at the new cursor that still ends where the item's range
    -- ended (the text after the cursor moved along with the insertion).
    st.items = { {
      row = new_row,
      col = new_col,
      text = rest:sub(#piece + 1),
      end_row = new_row,
      end_col = new_col,
      tail = s.tail,
      command = s.command,
    } }
    st.index = 1
    st.last_seen = { new_row, new_col, api.nvim_buf_get_changedtick(bufnr) }
    render(bufnr, st, new_row, new_col)
  end)
  return true
end

--- How many candidates the visible suggestion has (0 when none is visible).
function M.count(bufnr)
  local st = shown(bufnr)
  return st and #st.items or 0
end

--- Shows the next (count > 0) or previous candidate.
function M.cycle(bufnr, count)
  local st = shown(bufnr)
  if not st then
    return false
  end
  st.index = (st.index - 1 + count) % #st.items + 1
  local row, col = cursor_of(bufnr)
  if row then
    render(bufnr, st, row, col)
  end
  return true
end

--- Turns ghost text on or off for `bufnr` without detaching.
function M.set_enabled(bufnr, enabled)
  local st = buffers[bufnr]
  if st then
    if not enabled then
      M.dismiss(bufnr)
    end
    st.enabled = enabled
  end
end

--- Starts ghost text for `bufnr` served by `client`.
---@param opts { debounce_ms: integer, hl_group: string, enabled: boolean }
function M.attach(bufnr, client, opts)
  if buffers[bufnr] then
    buffers[bufnr].client_id = client.id
    return
  end
  local group = api.nvim_create_augroup(('understudy.ghost.%d'):format(bufnr), { clear = true })
  buffers[bufnr] = {
    client_id = client.id,
    opts = opts,
    enabled = opts.enabled,
    timer = vim.uv.new_timer(),
    group = group,
  }
  api.nvim_create_autocmd({ 'TextChangedI', 'CursorMovedI' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      on_change(bufnr)
    end,
  })
  api.nvim_create_autocmd('CursorHoldI', {
    group = group,
    buffer = bufnr,
    callback = function()
      local st = buffers[bufnr]
      local row, col = cursor_of(bufnr)
      local last = st and st.last_request
      local asked = last and last[1] == row and last[2] == col and last[3] == api.nvim_buf_get_changedtick(bufnr)
      -- Only when idle somewhere new: an empty answer for this spot stays empty.
      if st and st.enabled and not st.items and not st.inflight and not asked then
        M.request(bufnr, TRIGGER_AUTOMATIC)
      end
    end,
  })
  api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      M.dismiss(bufnr)
      local st = buffers[bufnr]
      if st then
        st.last_seen = nil
      end
    end,
  })
  api.nvim_create_autocmd({ 'BufUnload', 'BufWipeout' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      M.detach(bufnr)
    end,
  })
end

--- Stops ghost text for `bufnr` and frees its timer.
function M.detach(bufnr)
  local st = buffers[bufnr]
  if not st then
    return
  end
  M.dismiss(bufnr)
  buffers[bufnr] = nil
  pcall(api.nvim_del_augroup_by_id, st.group)
  if not st.timer:is_closing() then
    st.timer:close()
  end
end

--- Buffers that currently have ghost text attached.
function M.buffers()
  return vim.tbl_keys(buffers)
end

return M
