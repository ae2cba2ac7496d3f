-- :checkhealth understudy
--
-- Neovim version and the inline mode that will be used, whether the server binary is found and
-- executable, which model it will use (the configured file or the server's embedded default,
-- checked with `understudy info`), and whether the server answers: it starts the configured
-- command and sends initialize, initialized, shutdown and exit.

local M = {}

local health = vim.health
local TIMEOUT_MS = 20000

local function version_string()
  local v = vim.version()
  local s = ('%d.%d.%d'):format(v.major, v.minor, v.patch)
  if v.prerelease then
    s = s .. '-' .. (type(v.prerelease) == 'string' and v.prerelease or 'dev')
  end
  return s
end

local function frame(message)
  local body = vim.json.encode(message)
  return ('Content-Length: %d\r\n\r\n%s'):format(#body, body)
end

--- The JSON-RPC messages in `data` (a server's whole stdout).
local function parse_messages(data)
  local messages, pos = {}, 1
  while true do
    local header_end = data:find('\r\n\r\n', pos, true)
    if not header_end then
      break
    end
    local length = tonumber(data:sub(pos, header_end):match('[Cc]ontent%-[Ll]ength:%s*(%d+)'))
    if not length then
      break
    end
    local body = data:sub(header_end + 4, header_end + 3 + length)
    local ok, message = pcall(vim.json.decode, body)
    if ok and type(message) == 'table' then
      messages[#messages + 1] = message
    end
    pos = header_end + 4 + length
  end
  return messages
end

local function last_lines(text, n)
  local lines = vim.split(vim.trim(text or ''), '\n', { plain = true })
  return table.concat(vim.list_slice(lines, math.max(1, #lines - n + 1)), '\n')
end

local function check_neovim(understudy, opts)
  health.start('understudy: Neovim')
  if vim.fn.has('nvim-0.10') == 0 then
    health.error('Neovim ' .. version_string() .. ': Understudy needs 0.10 or later')
  else
    health.ok('Neovim ' .. version_string())
  end
  if not understudy.options() then
    health.warn('setup() has not run; checking the default options', {
      "call require('understudy').setup({...}) in your config (or run :UnderstudyEnable)",
    })
  end
  local native = vim.lsp.inline_completion ~= nil and vim.lsp.inline_completion.enable ~= nil
  local mode = understudy.inline_mode(opts)
  if mode == 'native' then
    health.ok('inline completion: native (vim.lsp.inline_completion); word/line accept by the plugin')
  elseif mode == 'ghost' then
    if opts.inline == 'native' and not native then
      health.warn("inline = 'native' needs Neovim 0.12+; using the plugin's ghost text")
    else
      health.ok("inline completion: the plugin's ghost text"
        .. (native and " (inline = 'ghost')" or ' (no vim.lsp.inline_completion before 0.12)'))
    end
  else
    health.info('inline completion: off (inline = false); code actions still work')
  end
  health.info(('attach: %s'):format((vim.lsp.config ~= nil and opts.attach ~= 'start')
    and 'vim.lsp.config() + vim.lsp.enable()' or 'vim.lsp.start() from a FileType autocommand'))
  local keys = {}
  for _, name in ipairs({ 'accept', 'accept_word', 'accept_line', 'dismiss', 'next', 'prev' }) do
    local lhs = (opts.keymaps or {})[name]
    keys[#keys + 1] = ('%s %s'):format(name, lhs or 'off')
  end
  health.info('insert-mode keys: ' .. table.concat(keys, ', '))
end

--- Runs `cmd` (a list) for at most TIMEOUT_MS; the vim.SystemCompleted result, or nil and an error.
--- Output stays raw with `stdin` (LSP headers end in CRLF, which text mode would rewrite).
local function run(cmd, stdin)
  local ok, proc = pcall(vim.system, cmd, { text = stdin == nil, stdin = stdin or false })
  if not ok then
    return nil, tostring(proc)
  end
  local result = proc:wait(TIMEOUT_MS)
  if result.code == 124 or result.signal == 9 or result.signal == 15 then
    return nil, ('no answer within %d s'):format(TIMEOUT_MS / 1000)
  end
  return result
end

local function check_model(opts, exe, is_understudy)
  local model = opts.model and vim.fn.expand(opts.model) or nil
  if model then
    if vim.fn.filereadable(model) == 1 then
      health.ok('model: ' .. model)
    else
      health.error('model: ' .. model .. ' is not a readable file', { 'fix `model` in setup(), or remove it to use the embedded default' })
      return
    end
  else
    health.info("model: none configured; the server uses its embedded default model")
  end
  if not is_understudy then
    health.info('`cmd` does not run `understudy serve`; skipped `understudy info`')
    return
  end
  local result, err = run({ exe, 'info', model })
  if not result then
    health.error('`understudy info` failed: ' .. err)
  elseif result.code ~= 0 then
    health.error('`understudy info' .. (model and ' ' .. model or '') .. '` failed: ' .. last_lines(result.stderr, 3),
      model and { 'is it a llama GGUF with a byte-level BPE vocabulary and FIM tokens?' }
        or { 'this build has no embedded model: set `model` to a GGUF file' })
  else
    local summary = {}
    for _, key in ipairs({ 'model', 'parameters', 'weights' }) do
      local value = result.stdout:match('\n?' .. key .. '%s+([^\n]+)')
      if value then
        summary[#summary + 1] = key .. ' ' .. value
      end
    end
    health.ok('`understudy info`: ' .. table.concat(summary, ', '))
  end
end

local function check_handshake(opts, settings)
  local input = table.concat({
    frame({ jsonrpc = '2.0', id = 1, method = 'initialize', params = {
      processId = vim.fn.getpid(),
      rootUri = vim.NIL,
      clientInfo = { name = 'understudy-checkhealth' },
      capabilities = vim.empty_dict(),
      initializationOptions = settings,
    } }),
    frame({ jsonrpc = '2.0', method = 'initialized', params = vim.empty_dict() }),
    frame({ jsonrpc = '2.0', id = 2, method = 'shutdown' }),
    frame({ jsonrpc = '2.0', method = 'exit' }),
  })
  local result, err = run(opts.cmd, input)
  if not result then
    health.error(('`%s` (initialize, shutdown): %s'):format(table.concat(opts.cmd, ' '), err))
    return
  end
  local initialized, shut_down, warnings = nil, false, {}
  for _, message in ipairs(parse_messages(result.stdout or '')) do
    if message.id == 1 then
      initialized = message
    elseif message.id == 2 and message.error == nil then
      shut_down = true
    elseif message.method == 'window/logMessage' and type(message.params) == 'table'
      and (message.params.type == 1 or message.params.type == 2) then
      warnings[#warnings + 1] = message.params.message
    end
  end
  if not initialized or initialized.error or type(initialized.result) ~= 'table' then
    health.error(('the server did not answer initialize (exit code %s)'):format(result.code), {
      'run it by hand: ' .. table.concat(opts.cmd, ' ') .. ' --help',
      'its stderr: ' .. last_lines(result.stderr, 5),
    })
    return
  end
  local info = initialized.result.serverInfo or {}
  local caps = initialized.result.capabilities or {}
  local features = {}
  if caps.inlineCompletionProvider then
    features[#features + 1] = 'inline completion'
  end
  if caps.codeActionProvider then
    features[#features + 1] = 'code actions'
  end
  health.ok(('the server answers: %s %s, positions in %s, offers %s'):format(
    info.name or '?', info.version or '', caps.positionEncoding or 'utf-16',
    #features > 0 and table.concat(features, ' and ') or 'nothing we use'))
  if not caps.inlineCompletionProvider then
    health.warn('the server does not offer inline completion')
  end
  for _, warning in ipairs(warnings) do
    health.warn('the server says: ' .. warning)
  end
  if not shut_down or result.code ~= 0 then
    health.warn(('shutdown/exit did not go cleanly (shutdown answered: %s, exit code %s)'):format(
      tostring(shut_down), tostring(result.code)))
  end
end

function M.check()
  local understudy = require('understudy')
  local opts = understudy.options() or vim.deepcopy(understudy.defaults)
  check_neovim(understudy, opts)

  health.start('understudy: server')
  local cmd = opts.cmd or {}
  local exe = cmd[1] and vim.fn.exepath(cmd[1]) or ''
  if exe == '' then
    health.error(('`%s` is not an executable on PATH'):format(cmd[1] or '(empty cmd)'), {
      'build it: swift build -c release (the binary is .build/release/understudy)',
      "set `cmd = { '/absolute/path/to/understudy', 'serve' }` in setup()",
    })
    return
  end
  health.ok(('binary: %s (executable)'):format(exe))
  local is_understudy = cmd[2] == 'serve' and vim.fs.basename(exe):match('understudy') ~= nil
  check_model(opts, exe, is_understudy)
  local settings = understudy.server_settings()
  if not settings then
    settings = vim.deepcopy(opts.settings or {})
    settings.model = opts.model
  end
  check_handshake(opts, next(settings) and settings or vim.empty_dict())

  local clients = understudy.clients()
  if #clients > 0 then
    for _, client in ipairs(clients) do
      local bufs = vim.tbl_keys(client.attached_buffers or {})
      health.info(('running: client %d, %d attached buffer(s), encoding %s'):format(
        client.id, #bufs, client.offset_encoding or '?'))
    end
  else
    health.info('no Understudy client running now (it starts for: ' .. table.concat(opts.filetypes or {}, ', ') .. ')')
  end
end

return M
