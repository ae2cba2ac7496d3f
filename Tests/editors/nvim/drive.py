#!/usr/bin/env python3
"""Drives a headless Neovim with the Understudy plugin, through pynvim.

Keys go in with nvim_input, so they are processed as if typed and the plugin's insert-mode
autocommands and mappings fire exactly as in real use; state is read back with exec_lua.
Every scenario runs in a fresh Neovim and waits on conditions (bounded by timeouts), never on
fixed sleeps, except where it checks that something does NOT happen.

Scenarios against fake_server.py (inline mode x position encoding x attach path): attach,
initialize options, didOpen, incremental didChange, inline completion, typing along, accept,
accept word / accept line (one- and multi-line), next/previous candidate, dismiss, Tab
falling through, $/cancelRequest, a code action on a visual selection, :checkhealth,
enable/disable, shutdown.

With $UNDERSTUDY_BINARY and $UNDERSTUDY_MODEL set, one more scenario per inline mode runs the
real `understudy serve --model $UNDERSTUDY_MODEL`: the ghost text the model writes is read
from the screen's extmarks, accepted (whole, and word by word), and checked against the
buffer; "Fill in selection" on a visual selection must change only the selected lines,
exactly as the server's WorkspaceEdit says.

usage: drive.py NVIM_BINARY
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import pynvim

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
PLUGIN = os.path.join(ROOT, "editors", "nvim")
SERVER = os.path.join(HERE, "fake_server.py")

SOURCE = "func add(a: Int, b: Int) -> Int {\n    /* é😀 */ \n}\n"
ACCEPTED = "    /* é😀 */ return a + b"

INIT = """
vim.opt.runtimepath:prepend({plugin!r})
vim.o.swapfile = false
vim.o.updatetime = 100
-- Test hook: every vim.notify, from setup() on.
_G.notifications = {{}}
local notify = vim.notify
vim.notify = function(msg, level, opts)
  table.insert(_G.notifications, {{ msg = msg, level = level }})
  return notify(msg, level, opts)
end
require('understudy').setup({{
  cmd = {cmd},
  model = {model},
  filetypes = {{ 'swift' }},
  settings = {settings},
  inline = {mode!r},
  attach = {attach!r},
  debounce_ms = 30,
}})
-- Test hook: every WorkspaceEdit Neovim applies (code actions), as the server sent it.
_G.applied_edits = {{}}
local apply = vim.lsp.util.apply_workspace_edit
vim.lsp.util.apply_workspace_edit = function(edit, ...)
  table.insert(_G.applied_edits, vim.deepcopy(edit))
  return apply(edit, ...)
end
"""

# Reads the suggestion on screen: the first line's virtual text and the virtual lines below it
# (without the " (1/2)" candidate hints).
SHOWN = """
local name = ...
local ns = vim.api.nvim_get_namespaces()[name]
if not ns then return vim.NIL end
local marks = vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })
if #marks == 0 then return vim.NIL end
local d = marks[1][4]
local lines = { d.virt_text and d.virt_text[1] and d.virt_text[1][1] or '' }
for _, vl in ipairs(d.virt_lines or {}) do
  local parts = {}
  for _, chunk in ipairs(vl) do
    if chunk[2] ~= 'ComplHintMore' then parts[#parts + 1] = chunk[1] end
  end
  lines[#lines + 1] = table.concat(parts)
end
return { row = marks[1][2], col = marks[1][3], text = table.concat(lines, '\\n') }
"""

# The highlight the suggestion on screen is drawn with, resolved through links (ctermfg, italic).
SHOWN_HIGHLIGHT = """
local name = ...
local ns = vim.api.nvim_get_namespaces()[name]
local marks = ns and vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true }) or {}
if #marks == 0 then return vim.NIL end
local group = marks[1][4].virt_text[1][2]
local hl = vim.api.nvim_get_hl(0, { name = group, link = false })
return { group = group, ctermfg = hl.ctermfg or vim.NIL, italic = (hl.cterm or {}).italic == true,
         termguicolors = vim.o.termguicolors }
"""

# True when the client has no request in flight (0.10 keeps them in client.requests too).
IDLE = """
for _, c in ipairs(require('understudy').clients()) do
  for _, r in pairs(c.requests or {}) do
    if r.type == 'pending' then return false end
  end
end
return true
"""

CODE_ACTION = ("<Cmd>lua vim.lsp.buf.code_action({ apply = true, filter = function(a) "
               "return a.title == '%s' end })<CR>")


class Failure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Failure(message)


WORD = "A-Za-z0-9_\u0080-\U0010FFFF"  # keyword characters as lua/understudy/partial.lua counts them


def piece(text, kind):
    """What one accept-word / accept-line takes (mirrors lua/understudy/partial.lua)."""
    newlines = re.match(r"\n*", text).group(0)
    rest = text[len(newlines):]
    if kind == "word":
        return newlines + re.match("[^%s\n]*[%s]*" % (WORD, WORD), rest).group(0)
    return newlines + re.match(r"[^\n]*", rest).group(0)


def units(ch, encoding):
    if encoding == "utf-8":
        return len(ch.encode("utf-8"))
    if encoding == "utf-32":
        return 1
    return 2 if ord(ch) > 0xFFFF else 1


def to_index(line, character, encoding):
    """Index into `line` (a str) of an LSP `character` counted in `encoding`."""
    count = 0
    for i, ch in enumerate(line):
        if count >= character:
            return i
        count += units(ch, encoding)
    return len(line)


class Session:
    def __init__(self, nvim, workdir, filename, source, cmd, model, settings, mode, attach, env=None):
        self.nvim, self.mode = nvim, mode
        self.sock = os.path.join(workdir, "nvim.sock")
        self.log = os.path.join(workdir, "server.log")
        self.file = os.path.join(workdir, filename)
        self.stderr_path = os.path.join(workdir, "nvim.stderr")
        with open(self.file, "w", encoding="utf-8") as f:
            f.write(source)
        init = os.path.join(workdir, "init.lua")
        with open(init, "w") as f:
            f.write(INIT.format(plugin=PLUGIN, cmd="{ %s }" % ", ".join(repr(c) for c in cmd),
                                model="nil" if model is None else repr(model), settings=settings,
                                mode=mode, attach=attach))
        env = dict(os.environ, XDG_STATE_HOME=workdir, XDG_DATA_HOME=workdir, XDG_CONFIG_HOME=workdir,
                   FAKE_LOG=self.log, **(env or {}))
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [nvim, "--headless", "--listen", self.sock, "-u", init, "-i", "NONE", self.file],
            env=env, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.stderr)
        self.nv = None
        self.wait(self._attach, "nvim to listen")

    def _attach(self):
        if not os.path.exists(self.sock):
            return False
        try:
            self.nv = pynvim.attach("socket", path=self.sock)
            return True
        except OSError:
            return False

    def send(self, keys):
        self.nv.input(keys)

    def lua(self, code, *args):
        return self.nv.exec_lua(code, *args)

    def ev(self, expr):
        return self.nv.exec_lua("return " + expr)

    def wait(self, predicate, what, timeout=10.0):
        """Polls `predicate` until it returns something true (returned) or `timeout` passes."""
        deadline = time.time() + timeout
        alive = self.proc.poll() is None
        while True:
            value = predicate()
            if value:
                return value
            describe = what() if callable(what) else what
            if time.time() > deadline:
                raise Failure("timed out after %.0f s waiting for %s" % (timeout, describe))
            if alive and self.proc.poll() is not None:
                raise Failure("nvim exited (code %s) while waiting for %s" % (self.proc.returncode, describe))
            time.sleep(0.03)

    def messages(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(line) for line in f if line.strip()]

    def methods(self):
        return [m.get("method") for m in self.messages()]

    def lines(self):
        return self.nv.current.buffer[:]

    def line(self, n):
        return self.ev("vim.api.nvim_buf_get_lines(0, %d, %d, false)[1]" % (n - 1, n))

    def cursor(self):
        return self.ev("vim.api.nvim_win_get_cursor(0)")

    def mode_now(self):
        return self.ev("vim.api.nvim_get_mode().mode")

    def visible(self):
        return self.ev("require('understudy').visible()")

    def inline_mode(self):
        return self.ev("require('understudy').inline_mode(require('understudy').options())")

    def namespace(self):
        return "nvim.lsp.inline_completion" if self.inline_mode() == "native" else "understudy.ghost"

    def shown(self):
        """The suggestion on screen as {row, col, text}, or None."""
        return self.lua(SHOWN, self.namespace())

    def shown_highlight(self):
        return self.lua(SHOWN_HIGHLIGHT, self.namespace())

    def requests(self, method="textDocument/inlineCompletion"):
        return [m for m in self.messages() if m.get("method") == method]

    def settled_suggestion(self, what, timeout=10.0):
        """Waits until a suggestion is visible, no request is in flight and the text stays the same."""
        last = [None]

        def settled():
            shown = self.shown() if self.visible() else None
            idle = self.lua(IDLE)
            stable = shown is not None and idle and shown == last[0]
            last[0] = shown if idle else None
            return shown if stable else None
        return self.wait(settled, what, timeout)

    def checkhealth(self):
        """Runs :checkhealth understudy and returns its report's lines (and closes it again)."""
        self.nv.command("checkhealth understudy")
        # Its last line says which clients run; the handshake's line comes before it.
        report = self.wait(lambda: (lambda b: b if any("client running" in l or "running: client" in l
                                                        for l in b) else None)(self.lines()), ":checkhealth output")
        self.nv.command("bwipeout!")
        check(self.ev("vim.api.nvim_buf_get_name(0)") == self.file, "checkhealth did not close")
        return report

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send("<Esc>:qa!<CR>")
                self.proc.wait(timeout=5)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        try:
            if self.nv:
                self.nv.close()
        except Exception:
            pass
        self.stderr.close()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")


# --- against the fake server ---------------------------------------------------------------

def fake_session(nvim, workdir, mode, encoding, attach):
    return Session(nvim, workdir, "add.swift", SOURCE, [sys.executable, SERVER], "/tmp/fake-model.gguf",
                   "{ threads = 2, maxTokens = 64 }", mode, attach, env={"FAKE_ENCODING": encoding})


def run_fake(s, encoding, expect_mode, with_health):
    # The plugin attaches and the server sees the session start.
    s.wait(lambda: s.ev("#require('understudy').clients()") == 1, "the client to start")
    s.wait(lambda: "textDocument/didOpen" in s.methods(), "didOpen")
    init = next(m for m in s.messages() if m.get("method") == "initialize")
    options = init["params"].get("initializationOptions") or {}
    check(options.get("model") == "/tmp/fake-model.gguf", "initializationOptions.model: %r" % options)
    check(options.get("threads") == 2 and options.get("maxTokens") == 64, "settings in initializationOptions: %r" % options)
    check("initialized" in s.methods(), "no initialized notification")
    opened = next(m for m in s.messages() if m.get("method") == "textDocument/didOpen")
    check(opened["params"]["textDocument"]["languageId"] == "swift", "didOpen languageId")
    check(s.ev("vim.lsp.get_clients({name='understudy'})[1].offset_encoding") == encoding,
          "negotiated encoding is not " + encoding)
    check(s.inline_mode() == expect_mode, "inline mode %r, expected %r" % (s.inline_mode(), expect_mode))

    if with_health:
        # :checkhealth runs its own short session with the server; keep it out of this one's log.
        s.lua("vim.env.FAKE_LOG = ...", s.log + ".health")
        report = "\n".join(s.checkhealth())
        s.lua("vim.env.FAKE_LOG = ...", s.log)
        for expected in ["OK Neovim 0.1",
                         "OK binary: " + sys.executable,
                         "ERROR model: /tmp/fake-model.gguf is not a readable file",
                         "OK the server answers: fake-understudy 0, positions in %s, offers inline completion "
                         "and code actions" % encoding,
                         "native (vim.lsp.inline_completion)" if expect_mode == "native" else "ghost text"]:
            check(expected in report.replace("✅ ", "").replace("❌ ", ""), "checkhealth lacks %r:\n%s" % (expected, report))
        health_log = [json.loads(l) for l in open(s.log + ".health")]
        check([m.get("method") for m in health_log] == ["initialize", "initialized", "shutdown", "exit"],
              "checkhealth session: %r" % [m.get("method") for m in health_log])

    # Typing a prefix brings up the suggestion after an inlineCompletion request.
    s.send("2GAret")
    s.wait(s.visible, "the suggestion to become visible")
    check("textDocument/inlineCompletion" in s.methods(), "no inlineCompletion request")

    # Without 'termguicolors' (tmux's default) the ghost text must still look unlike code: grey
    # (colour 8, bright black, exists in 16- and 256-colour terminals) and italic.
    hl = s.shown_highlight()
    check(not hl["termguicolors"] and hl["ctermfg"] == 8 and hl["italic"],
          "ghost text highlight without termguicolors: %r" % hl)
    # A colorscheme's or the user's own UnderstudyGhost wins, also after :colorscheme reloads.
    s.lua("vim.api.nvim_set_hl(0, 'UnderstudyGhost', { ctermfg = 3 }); vim.cmd('doautocmd ColorScheme')")
    check(s.shown_highlight()["ctermfg"] == 3, "UnderstudyGhost is not overridable: %r" % s.shown_highlight())
    req = [m for m in s.messages() if m.get("method") == "textDocument/inlineCompletion"][-1]
    check(req["params"]["context"]["triggerKind"] in (1, 2), "triggerKind")
    check(s.line(2) == "    /* é😀 */ ret", "typing changed more than it should: %r" % s.line(2))

    # Typing a character the suggestion shows keeps it; ghost text does so without asking again.
    asked = s.methods().count("textDocument/inlineCompletion")
    s.send("u")
    s.wait(lambda: s.line(2).endswith(" retu"), "typing along")
    time.sleep(0.3)  # (nothing to wait for: the check is that nothing goes away)
    check(s.visible(), "typing along hid the suggestion")
    if s.mode == "ghost":
        check(s.methods().count("textDocument/inlineCompletion") == asked, "typing along asked the server again")

    # Tab accepts: the item's range edit replaces "retu" with the whole completion.
    s.send("<Tab>")
    s.wait(lambda: s.line(2) == ACCEPTED, lambda: "accept to insert the text (line is %r)" % s.line(2))
    check(s.mode_now() == "i", "accept left insert mode")
    check(s.cursor()[1] == len(ACCEPTED.encode("utf-8")), "cursor after accept at byte %s" % s.cursor()[1])

    # Incremental sync kept the server's copy equal to the buffer.
    changes = [m for m in s.messages() if m.get("method") == "textDocument/didChange"]
    check(changes and all("range" in c for m in changes for c in m["params"]["contentChanges"]),
          "didChange was not incremental")
    expected = SOURCE.replace("    /* é😀 */ \n", ACCEPTED + "\n")
    s.wait(lambda: open(s.log + ".doc", encoding="utf-8").read() == expected, "the server's document to match")

    # Accept word, then accept line: "ret" -> "return" -> "return a + b".
    s.send("<CR>ret")
    s.wait(lambda: s.visible() and s.line(3).endswith("ret"), "a suggestion on line 3")
    indent = s.line(3)[:-3]
    s.send("<M-Right>")
    s.wait(lambda: s.line(3) == indent + "return", lambda: "accept word (line is %r)" % s.line(3))
    check(s.cursor() == [3, len(indent) + 6], "cursor after accept word: %r" % s.cursor())
    s.wait(lambda: (s.shown() or {}).get("text") == " a + b", lambda: "the rest after accept word (%r)" % s.shown())
    s.send("<M-C-Right>")
    s.wait(lambda: s.line(3) == indent + "return a + b", lambda: "accept line (line is %r)" % s.line(3))
    check(s.cursor() == [3, len(indent) + 12], "cursor after accept line: %r" % s.cursor())

    # A suggestion of three lines, taken a line, a word, a line, then the rest.
    s.send("<CR>gua")
    s.wait(lambda: s.visible() and s.line(4).endswith("gua"), "the guard suggestion")
    indent = s.line(4)[:-3]
    s.send("<M-C-Right>")
    s.wait(lambda: s.line(4) == indent + "guard b > 0 else {", lambda: "accept line (line is %r)" % s.line(4))
    s.wait(lambda: (s.shown() or {}).get("text") == "\n    return a\n}",
           lambda: "the rest after accept line (%r)" % s.shown())
    s.send("<M-Right>")
    s.wait(lambda: s.line(5) == "    return", lambda: "accept word onto a new line (%r)" % s.lines()[3:])
    check(s.cursor() == [5, 10], "cursor after accept word: %r" % s.cursor())
    s.wait(lambda: (s.shown() or {}).get("text") == " a\n}", lambda: "the rest after accept word (%r)" % s.shown())
    s.send("<M-C-Right>")
    s.wait(lambda: s.line(5) == "    return a", lambda: "accept line (%r)" % s.lines()[3:])
    s.wait(lambda: (s.shown() or {}).get("text") == "\n}", lambda: "the last line (%r)" % s.shown())
    s.send("<Tab>")
    s.wait(lambda: s.lines()[3:7] == [indent + "guard b > 0 else {", "    return a", "}", "}"],
           lambda: "accept the rest (%r)" % s.lines())
    check(s.cursor() == [6, 1], "cursor after accepting the rest: %r" % s.cursor())

    # Two candidates: next, previous, next, accept takes the one shown.
    s.send("<CR>cyc")
    s.wait(lambda: (s.shown() or {}).get("text", "").startswith("le_one()"), lambda: "candidate 1 (%r)" % s.shown())
    s.send("<M-]>")
    s.wait(lambda: (s.shown() or {}).get("text", "").startswith("le_two()"), lambda: "candidate 2 (%r)" % s.shown())
    s.send("<M-[>")
    s.wait(lambda: (s.shown() or {}).get("text", "").startswith("le_one()"), lambda: "back to 1 (%r)" % s.shown())
    s.send("<M-]>")
    s.wait(lambda: (s.shown() or {}).get("text", "").startswith("le_two()"), lambda: "candidate 2 again (%r)" % s.shown())
    s.send("<Tab>")
    s.wait(lambda: s.line(7).endswith("cycle_two()"), lambda: "accept candidate 2 (%r)" % s.line(7))

    # The dismiss key hides a suggestion and is swallowed; Tab then types a tab.
    s.send("<CR>ret")
    s.wait(s.visible, "the second suggestion")
    s.send("<C-]>")
    s.wait(lambda: not s.visible(), "dismiss")
    s.send("<Tab>")
    # (Swift's ftplugin sets expandtab, so the fallen-through Tab may insert spaces.)
    s.wait(lambda: re.fullmatch(r"\s*ret[ \t]+", s.line(8)), lambda: "Tab to fall through (line is %r)" % s.line(8))

    # A newer request cancels the one in flight (the fake answers "slo…" words late).
    # Native 0.12 completion cancels only on InsertLeave, so this is the fallback's job.
    if s.mode == "ghost" or expect_mode == "ghost":
        s.send("<CR>slo")
        s.wait(lambda: s.line(9).endswith("slo"), "typing slo")
        where = {"line": 8, "character": len(s.line(9))}
        s.wait(lambda: any(m.get("method") == "textDocument/inlineCompletion" and m["params"]["position"] == where
                           for m in s.messages()), "the slow request")
        slow_id = [m for m in s.messages() if m.get("method") == "textDocument/inlineCompletion"][-1]["id"]
        s.send("w")
        s.wait(lambda: {"id": slow_id} in [m["params"] for m in s.messages() if m.get("method") == "$/cancelRequest"],
               "$/cancelRequest for request %s" % slow_id)
        s.send("<C-u>")

    # One candidate shown (an automatic request asks for one): the next-candidate key asks again
    # with triggerKind Invoked and shows the second of the three the server then offers.
    current = lambda: s.ev("vim.api.nvim_get_current_line()")
    shown_text = lambda: (s.shown() or {}).get("text", "")
    s.send("<CR>man")
    s.wait(lambda: shown_text().startswith("y_one()"), lambda: "the single candidate (%r)" % s.shown())
    check(all(r["params"]["context"]["triggerKind"] == 2 for r in s.requests()[-1:]), "typing asked as Invoked")
    invoked = lambda: [r for r in s.requests() if r["params"]["context"]["triggerKind"] == 1]
    asked = len(invoked())
    s.send("<M-]>")
    s.wait(lambda: shown_text().startswith("y_two()"), lambda: "the second candidate after asking (%r)" % s.shown())
    check(len(invoked()) == asked + 1, "cycling did not ask with triggerKind Invoked")
    # The suggest key asks with triggerKind Invoked by itself; cycling then needs no new request.
    s.send("<C-]>")
    s.wait(lambda: not s.visible(), "dismiss")
    s.send("<M-Bslash>")
    s.wait(lambda: len(invoked()) == asked + 2 and shown_text().startswith("y_one()"),
           lambda: "the suggest key to ask (%d invoked requests, %r)" % (len(invoked()), s.shown()))
    s.send("<M-]>")
    s.wait(lambda: shown_text().startswith("y_two()"), lambda: "next after suggest (%r)" % s.shown())
    s.send("<M-]>")
    s.wait(lambda: shown_text().startswith("y_three()"), lambda: "third after suggest (%r)" % s.shown())
    check(len(invoked()) == asked + 2, "cycling three candidates asked again")
    s.send("<Tab>")
    s.wait(lambda: current().endswith("many_three()"), lambda: "accept the third (%r)" % current())

    # A code action on a visual selection of lines 1-2 applies the edit from codeAction/resolve.
    s.send("<Esc>")
    s.wait(lambda: s.mode_now() == "n", "normal mode")
    before = s.lines()
    s.send("ggVj")
    s.wait(lambda: s.mode_now() == "V", "visual line mode")
    s.send(CODE_ACTION % "Add documentation comment")
    s.wait(lambda: s.line(1) == "/// Adds.", lambda: "the code action's edit (line 1 is %r)" % s.line(1))
    check(s.lines() == ["/// Adds."] + before, "the code action changed more than its edit: %r" % s.lines())
    asked = [m for m in s.messages() if m.get("method") == "textDocument/codeAction"][-1]["params"]["range"]
    check(asked["start"] == {"line": 0, "character": 0} and asked["end"]["line"] == 1,
          "codeAction range is not the selection: %r" % asked)
    check("codeAction/resolve" in s.methods(), "no codeAction/resolve")
    s.wait(lambda: open(s.log + ".doc", encoding="utf-8").read() == "\n".join(s.lines()) + "\n",
           "the server's document to match after the code action")
    # Visual mode ended with the edit, so `u` undoes it (in Visual mode it would lowercase).
    s.wait(lambda: s.mode_now() == "n", lambda: "Visual mode to end after the action (mode %r)" % s.mode_now())
    s.send("u")
    s.wait(lambda: s.lines() == before, lambda: "u to undo the code action (%r)" % s.lines()[:3])
    s.send("<Esc>")

    # Edit with instruction on a charwise visual selection: the key, the sentence in vim.ui.input,
    # understudy.instruct with the exact range and version, the applyEdit, one undo step.
    s.wait(lambda: s.mode_now() == "n", "normal mode before the instruction")
    before = s.lines()
    s.send("gg0wve")
    s.wait(lambda: s.mode_now() == "v", "visual mode")
    s.send("<M-i>")
    s.wait(lambda: s.mode_now().startswith("c"), lambda: "the instruction prompt (mode %r)" % s.mode_now())
    s.send("add error handling<CR>")
    s.wait(lambda: s.line(1).startswith("func /* add error handling */ add("),
           lambda: "the instruction's edit (line 1 is %r)" % s.line(1))
    sent = [m for m in s.messages() if m.get("method") == "workspace/executeCommand"][-1]["params"]
    args = sent["arguments"][0]
    check(sent["command"] == "understudy.instruct" and args["instruction"] == "add error handling",
          "executeCommand params: %r" % sent)
    check(args["range"] == {"start": {"line": 0, "character": 5}, "end": {"line": 0, "character": 8}},
          "instruct range is not the selection: %r" % args["range"])
    log = s.messages()
    at = max(i for i, m in enumerate(log) if m.get("method") == "workspace/executeCommand")
    synced = [m["params"]["textDocument"]["version"] for m in log[:at]
              if m.get("method") in ("textDocument/didOpen", "textDocument/didChange")][-1]
    check(args["version"] == synced, "instruct version %r, the server's document is at %r" % (args["version"], synced))
    s.wait(lambda: s.mode_now() == "n", lambda: "normal mode after the instruction (mode %r)" % s.mode_now())
    s.send("u")
    s.wait(lambda: s.lines() == before, lambda: "u to undo the instruction's edit (%r)" % s.lines()[:2])
    # The command with a line range and the sentence as arguments; an error answer is shown.
    s.send(":1UnderstudyInstruct explain in a comment<CR>")
    s.wait(lambda: s.line(1).startswith("/* explain in a comment */ func add("), lambda: "the command's edit (%r)" % s.line(1))
    args = [m for m in s.messages() if m.get("method") == "workspace/executeCommand"][-1]["params"]["arguments"][0]
    check(args["range"] == {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}},
          "a line range is whole lines: %r" % args["range"])
    s.send("u")
    s.wait(lambda: s.lines() == before, "undo the command's edit")
    s.send(":1UnderstudyInstruct refuse<CR>")
    s.wait(lambda: any("shapes changed" in n["msg"] for n in s.ev("_G.notifications")), "the refusal shown")
    check(s.lines() == before, "a refused instruction changed the buffer")

    # Status, and disable/enable round trip through didChangeConfiguration.
    status = s.ev("table.concat(require('understudy').status_lines(), '|')")
    check("fake-understudy" in status and "encoding " + encoding in status, "status: %r" % status)
    s.send("<Esc>:UnderstudyDisable<CR>")
    s.wait(lambda: any(m.get("method") == "workspace/didChangeConfiguration"
                       and m["params"]["settings"]["understudy"]["enabled"] is False
                       for m in s.messages()), "didChangeConfiguration with enabled false")
    asked = s.methods().count("textDocument/inlineCompletion")
    s.send("Goret")
    time.sleep(0.6)  # (the check is that nothing is asked)
    check(not s.visible() and s.methods().count("textDocument/inlineCompletion") == asked,
          "completions still requested while disabled")
    s.send("<Esc>:UnderstudyEnable<CR>")
    s.wait(lambda: any(m.get("method") == "workspace/didChangeConfiguration"
                       and m["params"]["settings"]["understudy"]["enabled"] is True
                       for m in s.messages()), "re-enable")
    s.send("A<BS>t")
    s.wait(s.visible, "a suggestion after re-enabling")

    # Quitting shuts the server down (Neovim may exit before its `exit` notification goes out).
    s.send("<Esc>:qa!<CR>")
    s.proc.wait(timeout=10)
    s.wait(lambda: "shutdown" in s.methods(), "shutdown", timeout=5)


def run_missing_binary(s):
    """`cmd` names a binary that is not installed: one clear warning, not silence."""
    ours = lambda: [n for n in s.ev("_G.notifications") if "understudy" in n["msg"]]
    s.wait(ours, "a notification about the missing binary")
    note = ours()[0]
    check("understudy-not-installed" in note["msg"] and "PATH" in note["msg"] and note["level"] == 3,
          "the notification: %r" % note)
    s.nv.command("edit %s" % os.path.join(os.path.dirname(s.file), "other.swift"))
    s.wait(lambda: s.ev("vim.bo.filetype") == "swift", "a second Swift buffer")
    time.sleep(0.3)  # (the check is that nothing more is said)
    check(len(ours()) == 1, "warned more than once: %r" % ours())
    status = s.ev("table.concat(require('understudy').status_lines(), '|')")
    check("not on PATH" in status, "status: %r" % status)


def run_attach_in_insert(s):
    """Keys typed before the server attached: a suggestion comes once it does, without another key."""
    # (No CursorHoldI while waiting: that would ask by itself and hide what attaching does.)
    s.nv.command("set updatetime=60000")
    s.send("2GAret")
    s.wait(lambda: s.line(2).endswith("ret"), "typing before the server attached")
    check(s.ev("#require('understudy').clients()") == 0 or "textDocument/didOpen" not in s.methods(),
          "the server attached before the keys were typed (raise FAKE_INIT_DELAY)")
    s.wait(lambda: "textDocument/didOpen" in s.methods(), "the late attach", timeout=15)
    s.wait(s.visible, "a suggestion after attaching in insert mode")
    check((s.shown() or {}).get("text") == "urn a + b", "suggestion %r" % s.shown())


# --- against the real server ---------------------------------------------------------------

REAL_SOURCE = os.path.join(ROOT, "Sources", "LanguageServer", "Completion", "TypingCache.swift")


def real_session(nvim, workdir, mode, binary, model):
    with open(REAL_SOURCE, encoding="utf-8") as f:
        source = f.read()
    # A generous time budget: the suite runs a debug build on a busy machine, where a first prompt of a
    # few hundred tokens can take longer than the default 400 ms and the completion would come back cut.
    return Session(nvim, workdir, "TypingCache.swift", source, [binary, "serve", "--threads", "1"], model,
                   "{ maxTokens = 24, timeBudgetMs = 10000 }", mode, "auto"), source


def apply_edit(lines, edit, encoding):
    """`lines` with one LSP TextEdit (positions in `encoding`) applied."""
    start, end = edit["range"]["start"], edit["range"]["end"]
    text = "\n".join(lines)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def index(pos):
        return offsets[pos["line"]] + to_index(lines[pos["line"]], pos["character"], encoding)
    new = text[:index(start)] + edit["newText"] + text[index(end):]
    return new.split("\n")


def run_real(s, source, expect_mode):
    s.wait(lambda: s.ev("#require('understudy').clients()") == 1, "the client to start", timeout=20)
    s.wait(lambda: s.ev("next(require('understudy').clients()[1].attached_buffers) ~= nil"), "attach")
    check(s.inline_mode() == expect_mode, "inline mode %r, expected %r" % (s.inline_mode(), expect_mode))
    report = s.checkhealth()
    text = "\n".join(report)
    check("ERROR" not in text and "WARNING" not in text, "checkhealth against the real server:\n" + text)
    check("the server answers: understudy" in text and "`understudy info`: model" in text,
          "checkhealth against the real server:\n" + text)
    original = source.rstrip("\n").split("\n")
    check(s.lines() == original, "the buffer is not the file")

    # Type the start of a line the model saw in training; accept the ghost text whole.
    row = next(i for i, l in enumerate(original) if l.strip().startswith("public func lookup")) + 1
    s.send("%dGopublic func " % row)
    # (the prefix keeps whatever indentation Swift's indent script gives the new line)
    s.wait(lambda: s.line(row + 1).endswith("public func "), lambda: "typing (%r)" % s.line(row + 1))
    prefix = s.line(row + 1)
    shown = s.settled_suggestion("the model's suggestion", timeout=30)
    check(shown["row"] == row and shown["text"], "suggestion %r at the wrong place" % shown)
    lines = shown["text"].split("\n")
    print("     model after %r: %r" % (prefix, shown["text"]))
    s.send("<Tab>")
    want = original[:row] + [prefix + lines[0]] + lines[1:] + original[row:]
    s.wait(lambda: s.lines() == want, lambda: "accept to insert %r (buffer %r)" % (shown["text"], s.lines()[row - 1:row + 3]))

    # The same again word by word: accept one word, then the rest (from the server's typing cache).
    at = row + len(lines) + 1
    s.send("<Esc>o<C-u>" + prefix)
    s.wait(lambda: s.line(at) == prefix, lambda: "typing the second prefix (%r)" % s.line(at))
    shown = s.settled_suggestion("the second suggestion", timeout=30)
    word = piece(shown["text"], "word")
    print("     model after %r: %r, accepting %r first" % (prefix, shown["text"], word))
    check(word and word != shown["text"], "the suggestion %r has a single word" % shown["text"])
    s.send("<M-Right>")
    s.wait(lambda: s.line(at) == prefix + word.split("\n")[0], lambda: "accept word (line is %r)" % s.line(at))
    rest = s.settled_suggestion("the rest after accept word", timeout=30)
    check(rest["text"] == shown["text"][len(word):], "after accept word the suggestion is %r, not the rest %r"
          % (rest["text"], shown["text"][len(word):]))
    s.send("<Tab>")
    s.wait(lambda: "\n".join(s.lines()[at - 1:]).startswith(prefix + shown["text"]),
           lambda: "accepting the rest (%r)" % s.lines()[at - 1:at + 2])

    # "Fill in selection" on a word inside a line: only the selection changes, as the edit says.
    # (A charwise selection inside code: the model writes something there far more reliably than a
    # whole block, and the edit's range must stay inside the selection.)
    s.send("<Esc>")
    s.wait(lambda: s.mode_now() == "n", "normal mode")
    before = s.lines()
    top = next(i for i, l in enumerate(before) if "guard !candidates.isEmpty" in l) + 1
    first = before[top - 1].index("isEmpty")
    s.send("%dG0%dlve" % (top, first))
    s.wait(lambda: s.mode_now() == "v", "visual mode")
    s.send(CODE_ACTION % "Fill in selection")
    edits = s.wait(lambda: s.ev("_G.applied_edits[1]"), "the Fill in selection edit", timeout=60)
    uri = s.ev("vim.uri_from_bufnr(0)")
    changes = edits.get("changes") or {}
    check(list(changes) == [uri] and len(changes[uri]) == 1, "WorkspaceEdit: %r" % edits)
    edit = changes[uri][0]
    rng = edit["range"]
    encoding = s.ev("require('understudy').clients()[1].offset_encoding")
    line = before[top - 1]
    start_unit = sum(units(c, encoding) for c in line[:first])
    end_unit = sum(units(c, encoding) for c in line[:first + len("isEmpty")])
    check(rng["start"]["line"] == top - 1 and rng["end"]["line"] == top - 1
          and start_unit <= rng["start"]["character"] <= rng["end"]["character"] <= end_unit,
          "the edit %r reaches outside the selection (line %d, units %d-%d)" % (rng, top, start_unit, end_unit))
    check(edit["newText"].strip(), "the model filled in %r" % edit["newText"])
    print("     Fill in selection of %r on line %d: %s-%s (%s) -> %r" % (
        "isEmpty", top, rng["start"], rng["end"], encoding, edit["newText"]))
    want = apply_edit(before, edit, encoding)
    s.wait(lambda: s.lines() == want, lambda: "the buffer to be the edit applied (%r)" % s.lines()[top - 2:top + 1])
    after = s.lines()
    check(after[:top - 1] == before[:top - 1], "lines before the selection changed")
    tail = len(before) - top
    check(after[len(after) - tail:] == before[top:], "lines after the selection changed")
    s.wait(lambda: s.mode_now() == "n", lambda: "Visual mode to end after the action (mode %r)" % s.mode_now())
    s.send("u")
    s.wait(lambda: s.lines() == before, lambda: "u to undo Fill in selection (%r)" % s.lines()[top - 2:top + 1])

    # Neovim logs every line of a server's stderr as [ERROR]; the server's routine lines must come
    # as window/logMessage instead, so a session without failures leaves none there.
    log_path = s.ev("vim.lsp.log.get_filename and vim.lsp.log.get_filename() or vim.lsp.get_log_path()")
    logged = open(log_path, encoding="utf-8", errors="replace").read().splitlines() if os.path.exists(log_path) else []
    from_stderr = [l for l in logged if '"stderr"' in l]
    check(not from_stderr, "the server's stderr in lsp.log as errors: %r" % from_stderr[:3])
    s.send("<Esc>:qa!<CR>")
    s.proc.wait(timeout=10)


def main():
    nvim = sys.argv[1]
    version = subprocess.run([nvim, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    native = subprocess.run([nvim, "--headless", "-u", "NONE", "-i", "NONE", "--cmd",
                             "lua io.stdout:write(tostring(vim.lsp.inline_completion ~= nil))", "--cmd", "qa!"],
                            capture_output=True, text=True, timeout=30).stdout.strip() == "true"
    print(version, "(native inline completion)" if native else "(no native inline completion: ghost text)")
    # (inline mode asked for, position encoding the server picks, how the plugin attaches)
    scenarios = [
        ("native", "utf-16", "auto"),  # on 0.10/0.11 this checks the fallback to ghost text
        ("ghost", "utf-16", "auto"),
        ("ghost", "utf-8", "auto"),
        ("ghost", "utf-32", "auto"),
        ("ghost", "utf-16", "start"),  # the 0.10 path: vim.lsp.start from FileType
    ]
    binary, model = os.environ.get("UNDERSTUDY_BINARY"), os.environ.get("UNDERSTUDY_MODEL")
    only = os.environ.get("UNDERSTUDY_NVIM_SCENARIOS")  # e.g. "real" or "fake"
    failed = 0
    runs = []
    if only != "real":
        runs += [("fake", m, e, a) for m, e, a in scenarios]
    if only != "real":
        runs += [("missing", "native", "-", "auto")]
        runs += [("late", m, "utf-16", "auto") for m in (["native", "ghost"] if native else ["ghost"])]
    if binary and model and only != "fake":
        runs += [("real", m, "-", "auto") for m in (["native", "ghost"] if native else ["ghost"])]
    elif only == "real":
        print("FAIL real: set UNDERSTUDY_BINARY and UNDERSTUDY_MODEL")
        sys.exit(1)
    for kind, mode, encoding, attach in runs:
        expect = mode if native or mode == "ghost" else "ghost"
        label = "%-4s %-6s %-6s %-5s" % (kind, mode, encoding, attach)
        workdir = tempfile.mkdtemp(prefix="understudy-nvim-")
        s = None
        started = time.time()
        try:
            if kind == "fake":
                s = fake_session(nvim, workdir, mode, encoding, attach)
                run_fake(s, encoding, expect, with_health=(mode == "native"))
            elif kind == "missing":
                s = Session(nvim, workdir, "add.swift", SOURCE, ["understudy-not-installed", "serve"], None,
                            "{}", mode, attach)
                run_missing_binary(s)
            elif kind == "late":
                s = Session(nvim, workdir, "add.swift", SOURCE, [sys.executable, SERVER], None, "{}", mode, attach,
                            env={"FAKE_ENCODING": encoding, "FAKE_INIT_DELAY": "1.5"})
                run_attach_in_insert(s)
            else:
                s, source = real_session(nvim, workdir, mode, binary, model)
                run_real(s, source, expect)
            print("ok   %s (%.1f s)" % (label, time.time() - started), flush=True)
        except (Failure, subprocess.TimeoutExpired, StopIteration, pynvim.NvimError, OSError, EOFError) as e:
            failed += 1
            print("FAIL %s: %s" % (label, e), flush=True)
            if s:
                for m in s.messages()[-40:]:
                    print("     server got:", json.dumps(m)[:200])
        finally:
            if s:
                stderr = s.close()
                if re.search(r"E\d+:|Error|traceback", stderr):
                    print("     nvim stderr:", stderr.strip()[:2000])
            shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
