-- Conversions between Neovim byte columns and LSP `character` offsets.
--
-- Neovim 0.10 and 0.11 changed the signatures of vim.str_byteindex/str_utfindex,
-- so the plugin carries its own small UTF-8 walker that behaves the same on every
-- version and for every negotiated position encoding.

local M = {}

--- Length in bytes of the UTF-8 sequence that starts with byte `b`.
local function sequence_length(b)
  if b < 0x80 then
    return 1
  elseif b >= 0xF0 then
    return 4
  elseif b >= 0xE0 then
    return 3
  elseif b >= 0xC0 then
    return 2
  end
  return 1 -- a stray continuation byte counts as one unit, like Neovim does
end

--- How many units of `encoding` one code point of `len` UTF-8 bytes occupies.
local function units_of(len, encoding)
  if encoding == 'utf-8' then
    return len
  elseif encoding == 'utf-32' then
    return 1
  end
  return len == 4 and 2 or 1 -- UTF-16: astral code points are surrogate pairs
end

--- Byte column (0-based) in `line` for LSP `character` counted in `encoding`.
--- Offsets past the end of the line clamp to its length, as the LSP spec asks.
---@param line string
---@param character integer
---@param encoding string 'utf-8' | 'utf-16' | 'utf-32'
---@return integer
function M.to_byte(line, character, encoding)
  local byte, units = 0, 0
  while byte < #line and units < character do
    local len = sequence_length(line:byte(byte + 1))
    units = units + units_of(len, encoding)
    byte = math.min(byte + len, #line)
  end
  return byte
end

--- LSP `character` in `encoding` for the 0-based byte column `col` of `line`.
---@param line string
---@param col integer
---@param encoding string 'utf-8' | 'utf-16' | 'utf-32'
---@return integer
function M.to_character(line, col, encoding)
  local byte, units = 0, 0
  col = math.min(col, #line)
  while byte < col do
    local len = sequence_length(line:byte(byte + 1))
    units = units + units_of(len, encoding)
    byte = byte + len
  end
  return units
end

return M
