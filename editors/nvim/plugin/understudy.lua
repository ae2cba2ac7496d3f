-- Commands only; the server starts when the user calls require('understudy').setup().
if vim.g.loaded_understudy then
  return
end
vim.g.loaded_understudy = true

vim.api.nvim_create_user_command('UnderstudyEnable', function()
  require('understudy').enable()
end, { desc = 'Turn Understudy completions on (runs setup() with defaults if needed)' })

vim.api.nvim_create_user_command('UnderstudyDisable', function()
  require('understudy').disable()
end, { desc = 'Turn Understudy completions off; code actions keep working' })

vim.api.nvim_create_user_command('UnderstudyStatus', function()
  require('understudy').status()
end, { desc = 'Show the Understudy server, buffers and settings' })

vim.api.nvim_create_user_command('UnderstudyInstruct', function(cmd)
  require('understudy.instruct').instruct({
    instruction = cmd.args,
    line1 = cmd.range > 0 and cmd.line1 or nil,
    line2 = cmd.range > 0 and cmd.line2 or nil,
  })
end, {
  range = true,
  nargs = '*',
  desc = 'Edit the selection (or the range) as a sentence says: :UnderstudyInstruct add error handling',
})
