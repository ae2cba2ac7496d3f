-- The LSP client calls the plugin makes, on every Neovim it supports: client methods became
-- `client:method()` in 0.11 (0.10 only has closures), and vim.lsp.get_clients replaced
-- get_active_clients in 0.10.

local M = {}

local has_011 = vim.fn.has('nvim-0.11') == 1

--- The server's clients (`bufnr`: only those attached to that buffer).
function M.find(name, bufnr)
  local filter = { name = name, bufnr = bufnr }
  if vim.lsp.get_clients then
    return vim.lsp.get_clients(filter)
  end
  return vim.lsp.get_active_clients(filter)
end

function M.request(client, method, params, handler, bufnr)
  if has_011 then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

function M.notify(client, method, params)
  if has_011 then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end

function M.cancel(client, id)
  if has_011 then
    client:cancel_request(id)
  else
    client.cancel_request(id)
  end
end

return M
