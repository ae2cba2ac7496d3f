-- Understudy for Neovim: starts `understudy serve` for configured filetypes and
-- shows its inline completions, natively on 0.12+ and as ghost text on 0.10/0.11.

local ghost = require('understudy.ghost')
local partial = require('understudy.partial')

local M = {}

local api = vim.api
local NAME = 'understudy'

local TRIGGER_INVOKED = 1
local TRIGGER_AUTOMATIC = 2

--- Defaults for setup(); every key can be overridden.
M.defaults = {
  cmd = { 'understudy', 'serve' },
  -- Path to a GGUF model; nil lets the server use its embedded default.
  model = nil,
  filetypes = {
    'c', 'cpp', 'cs', 'go', 'java', 'javascript', 'javascriptreact', 'kotlin', 'lua', 'objc',
    'php', 'python', 'ruby', 'rust', 'sh', 'swift', 'typescript', 'typescriptreact', 'zig',
  },
  root_markers = { '.git', 'Package.swift' },
  -- Server options, sent as initializationOptions and as `understudy` settings:
  -- threads, maxTokens, timeBudgetMs, temperature, enabled, candidates.
  settings = {},
  -- 'auto' (native on 0.12+, ghost text before), 'native', 'ghost' or false (code actions only).
  inline = 'auto',
  debounce_ms = 75,
  -- 'auto' uses vim.lsp.config/enable when available (0.11+); 'start' always uses
  -- vim.lsp.start from a FileType autocommand, as on 0.10.
  attach = 'auto',
  -- Ghost-text highlight (also used for native 0.12 completion while `ComplHint` keeps Neovim's
  -- default). UnderstudyGhost is grey italic in 16- and 256-colour terminals and in true colour.
  hl_group = 'UnderstudyGhost',
  -- Insert-mode keys; set one to false to leave that key alone. The word and line keys are
  -- copilot.vim's.
  keymaps = {
    accept = '<Tab>',
    accept_word = '<M-Right>',
    accept_line = '<M-C-Right>',
    dismiss = '<C-]>',
    next = '<M-]>',
    prev = '<M-[>',
    -- Ask now, for several candidates (triggerKind Invoked); copilot.vim's key.
    suggest = '<M-\\>',
    -- Visual mode: edit the selection as a sentence says (asked with vim.ui.input).
    instruct = '<M-i>',
  },
}

-- Plugin state: the merged options, whether completions are switched on, and whether the
-- missing-binary warning was shown.
local state = { opts = nil, enabled = true, progress = nil, augroup = nil, warned_missing = false }

local function use_lsp_enable()
  return vim.lsp.config ~= nil and state.opts.attach ~= 'start'
end

local function native_available()
  return vim.lsp.inline_completion ~= nil and vim.lsp.inline_completion.enable ~= nil
end

--- 'native', 'ghost' or nil (no inline completion) for the current options.
local function inline_mode()
  return M.inline_mode(state.opts)
end

--- 'native', 'ghost' or nil (suggestions off) for `opts` on this Neovim.
---@param opts table options as setup() merges them
function M.inline_mode(opts)
  local want = opts.inline
  if want == false then
    return nil
  elseif want == 'ghost' then
    return 'ghost'
  elseif want == 'native' or native_available() then
    return native_available() and 'native' or 'ghost'
  end
  return 'ghost'
end

local function server_settings()
  local s = vim.deepcopy(state.opts.settings)
  s.enabled = state.enabled
  if state.opts.model then
    s.model = state.opts.model
  end
  return s
end

--- The options setup() merged, or nil before setup(); server_settings() is what the server gets.
function M.options()
  return state.opts
end

--- The settings sent to the server (initializationOptions and the `understudy` section).
function M.server_settings()
  return state.opts and server_settings() or nil
end

--- Our running clients (any buffer).
--- Edit with instruction on the last Visual selection (or `opts.line1`..`opts.line2`); asks for
--- the sentence with vim.ui.input unless `opts.instruction` is given.
function M.instruct(opts)
  return require('understudy.instruct').instruct(opts)
end

function M.clients()
  return require('understudy.client').find(NAME)
end

local function native_visible(bufnr)
  local ns = api.nvim_get_namespaces()['nvim.lsp.inline_completion']
  return ns ~= nil and #api.nvim_buf_get_extmarks(bufnr, ns, 0, -1, { limit = 1 }) > 0
end

--- True when a suggestion is visible in the current buffer.
function M.visible()
  local bufnr = api.nvim_get_current_buf()
  if inline_mode() == 'native' then
    return native_visible(bufnr)
  end
  return ghost.visible(bufnr)
end

--- Accepts the visible suggestion; returns false when there is none.
function M.accept()
  local bufnr = api.nvim_get_current_buf()
  if inline_mode() == 'native' then
    return vim.lsp.inline_completion.get({ bufnr = bufnr })
  end
  return ghost.accept(bufnr)
end

--- Accepts the next word (`kind` 'word') or line ('line') of the visible suggestion; false when
--- there is none. Native 0.12 completion cannot accept part of an item, so the plugin inserts the
--- piece itself there (see understudy.partial).
---@param kind 'word'|'line'
function M.accept_partial(kind)
  local bufnr = api.nvim_get_current_buf()
  if inline_mode() == 'native' then
    return vim.lsp.inline_completion.get({
      bufnr = bufnr,
      on_accept = function(item)
        partial.native_accept(bufnr, item, kind)
      end,
    })
  end
  return ghost.accept_partial(bufnr, kind)
end

--- Accepts the next word of the visible suggestion; false when there is none.
function M.accept_word()
  return M.accept_partial('word')
end

--- Accepts the next line of the visible suggestion; false when there is none.
function M.accept_line()
  return M.accept_partial('line')
end

--- Hides the visible suggestion; returns false when there is none.
function M.dismiss()
  local bufnr = api.nvim_get_current_buf()
  if not M.visible() then
    return false
  end
  if inline_mode() == 'native' then
    -- 0.12 has no public "dismiss"; re-enabling drops the shown item and pending requests.
    vim.lsp.inline_completion.enable(false, { bufnr = bufnr })
    vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
  else
    ghost.dismiss(bufnr)
  end
  return true
end

-- The native 0.12 completer of `bufnr`, when it has the methods the plugin needs. It is not public
-- API (vim.lsp.inline_completion can neither ask with triggerKind Invoked nor say how many items
-- it holds), so every use is guarded and falls back to what the public API can do.
local function native_completor(bufnr)
  local ok, capability = pcall(require, 'vim.lsp._capability')
  local class = ok and type(capability.all) == 'table' and capability.all.inline_completion
  local completor = class and class.active and class.active[bufnr]
  if completor and type(completor.request) == 'function' and type(completor.count_items) == 'function' then
    return completor
  end
end

-- Where (row, col, changedtick) the last invoked request of each buffer was made: cycling asks
-- the server for more candidates once per place, not on every key press.
local invoked_at = {}

local function here(bufnr)
  local cursor = api.nvim_win_get_cursor(0)
  return table.concat({ cursor[1], cursor[2], api.nvim_buf_get_changedtick(bufnr) }, ':')
end

-- Native 0.12: sends an invoked request through the completer; `then_select` (a count) moves to
-- another candidate once the answer is on screen.
local function native_invoke(bufnr, then_select)
  local completor = native_completor(bufnr)
  if not completor then
    return false
  end
  invoked_at[bufnr] = here(bufnr)
  if then_select then
    -- The completer shows the first item of the answer; move once it has (LspRequest
    -- 'complete' runs just before the response handler, so schedule past it).
    api.nvim_create_autocmd('LspRequest', {
      buffer = bufnr,
      callback = function(args)
        local request = args.data.request or {}
        if request.method ~= 'textDocument/inlineCompletion' or request.type == 'pending' then
          return false
        end
        if request.type ~= 'complete' then
          return true -- cancelled: nothing to move to
        end
        vim.schedule(function()
          if native_completor(bufnr) == completor and completor:count_items() > 1 then
            vim.lsp.inline_completion.select({ bufnr = bufnr, count = then_select })
          end
        end)
        return true -- removes this one-shot autocommand
      end,
    })
  end
  completor:request(TRIGGER_INVOKED)
  return true
end

--- Asks the server now, with triggerKind Invoked (it answers with several candidates, see the
--- `candidates` setting). Returns false when there is no server for this buffer.
function M.suggest()
  local bufnr = api.nvim_get_current_buf()
  if inline_mode() == 'native' then
    return native_invoke(bufnr, nil)
  end
  invoked_at[bufnr] = here(bufnr)
  return ghost.request(bufnr, TRIGGER_INVOKED) ~= false
end

--- Shows the next (count > 0) or previous candidate; returns false when none is visible. While
--- only one is shown (automatic requests ask for one), it asks the server for more first.
function M.cycle(count)
  if not M.visible() then
    return false
  end
  local bufnr = api.nvim_get_current_buf()
  local asked_here = invoked_at[bufnr] == here(bufnr)
  if inline_mode() == 'native' then
    local completor = native_completor(bufnr)
    if completor and completor:count_items() <= 1 and not asked_here then
      return native_invoke(bufnr, count)
    end
    vim.lsp.inline_completion.select({ count = count })
    return true
  end
  if ghost.count(bufnr) <= 1 and not asked_here then
    invoked_at[bufnr] = here(bufnr)
    return ghost.request(bufnr, TRIGGER_INVOKED, count) ~= false
  end
  return ghost.cycle(bufnr, count)
end

local function map_keys(bufnr)
  local keys = state.opts.keymaps or {}
  local function expr_map(lhs, action, desc)
    if not lhs then
      return
    end
    -- Falls through to the key's normal meaning when nothing is visible.
    vim.keymap.set('i', lhs, function()
      if action() then
        return ''
      end
      return lhs
    end, { buffer = bufnr, expr = true, silent = true, desc = desc })
  end
  expr_map(keys.accept, M.accept, 'Understudy: accept suggestion')
  expr_map(keys.accept_word, M.accept_word, 'Understudy: accept the next word of the suggestion')
  expr_map(keys.accept_line, M.accept_line, 'Understudy: accept the next line of the suggestion')
  expr_map(keys.dismiss, M.dismiss, 'Understudy: dismiss suggestion')
  expr_map(keys.next, function() return M.cycle(1) end, 'Understudy: next suggestion')
  expr_map(keys.prev, function() return M.cycle(-1) end, 'Understudy: previous suggestion')
  if keys.suggest then
    vim.keymap.set('i', keys.suggest, function()
      M.suggest()
    end, { buffer = bufnr, silent = true, desc = 'Understudy: ask for suggestions now' })
  end
end

local function on_attach(bufnr, client)
  local instruct_key = (state.opts.keymaps or {}).instruct
  if instruct_key then
    -- <C-u> drops the '<,'> range so the command reads the exact (charwise) selection from the marks.
    vim.keymap.set('x', instruct_key, ':<C-u>UnderstudyInstruct<CR>',
      { buffer = bufnr, silent = true, desc = 'Understudy: edit the selection with an instruction' })
  end
  local mode = inline_mode()
  if mode == 'native' then
    vim.lsp.inline_completion.enable(state.enabled, { bufnr = bufnr })
  elseif mode == 'ghost' then
    ghost.attach(bufnr, client, {
      debounce_ms = state.opts.debounce_ms,
      hl_group = state.opts.hl_group,
      enabled = state.enabled,
    })
  end
  if mode then
    map_keys(bufnr)
  end
  -- Keys typed before the server attached asked nothing (no client yet), and nothing asks again
  -- until the next keystroke: ask once now when the user is typing in this buffer.
  if mode and state.enabled and api.nvim_get_current_buf() == bufnr and api.nvim_get_mode().mode:match('^i') then
    if mode == 'native' then
      local completor = native_completor(bufnr)
      if completor then
        completor:request(TRIGGER_AUTOMATIC)
      end
    else
      ghost.request(bufnr, TRIGGER_AUTOMATIC)
    end
  end
end

-- Code actions are applied while the selection that asked for them is still active; Neovim stays
-- in Visual mode after the edit, and `u` would then lowercase the selection instead of undoing.
-- When a codeAction/resolve (or the command of an action) of ours changed the buffer, leave it.
local function leave_visual_after_actions(args)
  local client = vim.lsp.get_client_by_id(args.data.client_id)
  local request = args.data.request or {}
  if not client or client.name ~= NAME then
    return
  end
  if request.method ~= 'codeAction/resolve' and request.method ~= 'workspace/executeCommand' then
    return
  end
  local bufnr = request.bufnr or args.buf
  state.action_ticks = state.action_ticks or {}
  local key = client.id .. ':' .. args.data.request_id
  if request.type == 'pending' then
    state.action_ticks[key] = api.nvim_buf_is_valid(bufnr) and api.nvim_buf_get_changedtick(bufnr) or nil
  elseif request.type == 'complete' or request.type == 'cancel' then
    local tick = state.action_ticks[key]
    state.action_ticks[key] = nil
    -- 'complete' runs just before the response handler that applies the edit: look after it.
    vim.schedule(function()
      local changed = tick and api.nvim_buf_is_valid(bufnr) and api.nvim_buf_get_changedtick(bufnr) ~= tick
      if changed and api.nvim_get_current_buf() == bufnr and api.nvim_get_mode().mode:match('^[vV\22]') then
        api.nvim_feedkeys(api.nvim_replace_termcodes('<Esc>', true, false, true), 'nx', false)
      end
    end)
  end
end

-- The ghost-text highlight: grey italic that shows without 'termguicolors' (ctermfg 8 is
-- "bright black", grey in both 16- and 256-colour terminals); `default` so that a colorscheme or
-- the user's own `:highlight UnderstudyGhost` wins. Native 0.12 completion draws with
-- `ComplHint`, which Neovim links to NonText (no terminal colour at all): while it keeps that
-- default link, point it here.
local function define_highlights()
  api.nvim_set_hl(0, 'UnderstudyGhost', {
    default = true,
    fg = '#808080',
    ctermfg = 8,
    italic = true,
    cterm = { italic = true },
  })
  local hint = api.nvim_get_hl(0, { name = 'ComplHint', link = true })
  if hint.link == 'NonText' and next(hint, next(hint)) == nil then
    api.nvim_set_hl(0, 'ComplHint', { link = state.opts.hl_group })
  end
end

-- The executable `cmd` runs, when it is a plain command (not a function), and not found.
local function missing_executable()
  local cmd = state.opts.cmd
  if type(cmd) == 'table' and type(cmd[1]) == 'string' and vim.fn.executable(cmd[1]) ~= 1 then
    return cmd[1]
  end
end

-- Without the binary nothing attaches and nothing says why: warn once, on the first file that
-- would have used it.
local function warn_if_missing(bufnr)
  local exe = missing_executable()
  if state.warned_missing or not exe or not vim.tbl_contains(state.opts.filetypes, vim.bo[bufnr].filetype) then
    return
  end
  state.warned_missing = true
  vim.notify(
    ('understudy: `%s` was not found on PATH, so there are no suggestions. Install it (editors/README.md) '
      .. 'or set `cmd` in setup() to its full path; :checkhealth understudy has details.'):format(exe),
    vim.log.levels.WARN
  )
end

local function client_config()
  local o = state.opts
  return {
    name = NAME,
    cmd = o.cmd,
    filetypes = o.filetypes,
    root_markers = o.root_markers,
    init_options = server_settings(),
    settings = { understudy = server_settings() },
  }
end

-- 0.10 has neither vim.lsp.config nor vim.lsp.enable: start per buffer from FileType.
local function start_for_buffer(bufnr)
  if not vim.tbl_contains(state.opts.filetypes, vim.bo[bufnr].filetype) then
    return
  end
  local config = client_config()
  local name = api.nvim_buf_get_name(bufnr)
  config.root_dir = vim.fs.root(bufnr, state.opts.root_markers)
    or (name ~= '' and vim.fs.dirname(name))
    or vim.uv.cwd()
  vim.lsp.start(config, { bufnr = bufnr })
end

local function register_autocmds()
  local group = api.nvim_create_augroup('understudy', { clear = true })
  state.augroup = group
  api.nvim_create_autocmd('ColorScheme', { group = group, callback = define_highlights })
  api.nvim_create_autocmd('LspRequest', { group = group, callback = leave_visual_after_actions })
  api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = state.opts.filetypes,
    callback = function(args)
      warn_if_missing(args.buf)
    end,
  })
  api.nvim_create_autocmd('LspAttach', {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == NAME then
        on_attach(args.buf, client)
      end
    end,
  })
  api.nvim_create_autocmd('LspDetach', {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == NAME then
        ghost.detach(args.buf)
      end
    end,
  })
  -- Remembered for :UnderstudyStatus; Neovim itself shows progress in 'statusline' via vim.lsp.status().
  api.nvim_create_autocmd('LspProgress', {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      local value = args.data.params and args.data.params.value
      if client and client.name == NAME and type(value) == 'table' then
        state.progress = value.kind == 'end' and nil
          or ((value.title or '') .. ' ' .. (value.message or '')):gsub('^%s+', '')
      end
    end,
  })
  if not use_lsp_enable() then
    api.nvim_create_autocmd('FileType', {
      group = group,
      pattern = state.opts.filetypes,
      callback = function(args)
        start_for_buffer(args.buf)
      end,
    })
  end
end

--- Configures the server and starts it for buffers of the configured filetypes.
---@param opts? table see M.defaults
function M.setup(opts)
  state.opts = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  if opts and opts.filetypes then
    state.opts.filetypes = opts.filetypes -- lists replace, they do not merge by index
  end
  if state.opts.settings.enabled == false then
    state.enabled = false
  end
  register_autocmds()
  define_highlights()
  for _, bufnr in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_is_loaded(bufnr) then
      warn_if_missing(bufnr)
    end
  end
  if use_lsp_enable() then
    vim.lsp.config(NAME, client_config())
    vim.lsp.enable(NAME)
  else
    for _, bufnr in ipairs(api.nvim_list_bufs()) do
      if api.nvim_buf_is_loaded(bufnr) then
        start_for_buffer(bufnr)
      end
    end
  end
end

local function each_attached_buffer(fn)
  for _, client in ipairs(M.clients()) do
    for bufnr in pairs(client.attached_buffers or {}) do
      fn(bufnr, client)
    end
  end
end

local function set_enabled(enabled)
  state.enabled = enabled
  local settings = { understudy = server_settings() }
  for _, client in ipairs(M.clients()) do
    -- Neovim answers workspace/configuration from client.settings, so keep it current.
    client.settings = vim.tbl_deep_extend('force', client.settings or {}, settings)
    require('understudy.client').notify(client, 'workspace/didChangeConfiguration', { settings = settings })
  end
  local mode = inline_mode()
  each_attached_buffer(function(bufnr)
    if mode == 'native' then
      vim.lsp.inline_completion.enable(enabled, { bufnr = bufnr })
    elseif mode == 'ghost' then
      ghost.set_enabled(bufnr, enabled)
    end
  end)
end

--- Turns completions on (starting the server via setup() if it never ran).
function M.enable()
  if not state.opts then
    M.setup({})
  end
  set_enabled(true)
end

--- Turns completions off; the server keeps running so code actions still work.
function M.disable()
  if not state.opts then
    return
  end
  set_enabled(false)
end

--- Human-readable status lines for :UnderstudyStatus.
function M.status_lines()
  if not state.opts then
    return { 'understudy: setup() has not run' }
  end
  local lines = {
    ('understudy: completions %s, inline mode %s, cmd %s'):format(
      state.enabled and 'enabled' or 'disabled',
      inline_mode() or 'off',
      table.concat(state.opts.cmd, ' ')
    ),
  }
  local clients = M.clients()
  if #clients == 0 then
    lines[#lines + 1] = 'no server running (opens for filetypes: ' .. table.concat(state.opts.filetypes, ', ') .. ')'
    local exe = missing_executable()
    if exe then
      lines[#lines + 1] = ('`%s` is not on PATH: install it or set `cmd` to its full path'):format(exe)
    end
  end
  for _, client in ipairs(clients) do
    local info = client.server_info or {}
    local bufs = vim.tbl_keys(client.attached_buffers or {})
    table.sort(bufs)
    lines[#lines + 1] = ('client %d: %s %s, root %s, encoding %s, attached buffers %s'):format(
      client.id,
      info.name or NAME,
      info.version or '',
      client.root_dir or client.config.root_dir or '(none)',
      client.offset_encoding or '?',
      #bufs > 0 and table.concat(bufs, ',') or 'none'
    )
  end
  if state.progress then
    lines[#lines + 1] = 'progress: ' .. state.progress
  end
  -- 0.12 deprecates get_log_path() in favour of vim.lsp.log.get_filename().
  local log = vim.lsp.log.get_filename and vim.lsp.log.get_filename() or vim.lsp.get_log_path()
  lines[#lines + 1] = 'log: ' .. log
  return lines
end

--- Prints the status (used by :UnderstudyStatus).
function M.status()
  vim.notify(table.concat(M.status_lines(), '\n'), vim.log.levels.INFO)
end

return M
