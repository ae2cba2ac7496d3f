#!/usr/bin/env python3
"""Drives a headless Neovim with the Understudy plugin against fake_server.py.

Keys go in through `nvim --server SOCK --remote-send`, so they are processed as if
typed and the plugin's insert-mode autocommands fire exactly as in real use. Each
scenario (inline mode x position encoding) runs in a fresh Neovim. Exits non-zero
on the first failed check.

usage: drive.py NVIM_BINARY
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time

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
require('understudy').setup({{
  cmd = {{ {python!r}, {server!r} }},
  model = '/tmp/fake-model.gguf',
  filetypes = {{ 'swift' }},
  settings = {{ threads = 2, maxTokens = 64 }},
  inline = {mode!r},
  attach = {attach!r},
  debounce_ms = 30,
}})
"""


class Failure(Exception):
    pass


class Session:
    def __init__(self, nvim, mode, encoding, attach, workdir):
        self.nvim, self.mode, self.encoding = nvim, mode, encoding
        self.sock = os.path.join(workdir, "nvim.sock")
        self.log = os.path.join(workdir, "server.log")
        self.file = os.path.join(workdir, "add.swift")
        init = os.path.join(workdir, "init.lua")
        with open(self.file, "w", encoding="utf-8") as f:
            f.write(SOURCE)
        with open(init, "w") as f:
            f.write(INIT.format(plugin=PLUGIN, python=sys.executable, server=SERVER, mode=mode, attach=attach))
        env = dict(os.environ, FAKE_LOG=self.log, FAKE_ENCODING=encoding,
                   XDG_STATE_HOME=workdir, XDG_DATA_HOME=workdir, XDG_CONFIG_HOME=workdir)
        self.proc = subprocess.Popen(
            [nvim, "--headless", "--listen", self.sock, "-u", init, "-i", "NONE", self.file],
            env=env, cwd=workdir, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.wait(lambda: os.path.exists(self.sock), "nvim to listen")

    def remote(self, flag, arg):
        out = subprocess.run([self.nvim, "--server", self.sock, flag, arg],
                             capture_output=True, text=True, timeout=10)
        return out.stdout

    def send(self, keys):
        self.remote("--remote-send", keys)

    def lua(self, expr):
        """Evaluates a Lua expression in the editor; the result comes back as a string."""
        return self.remote("--remote-expr", "luaeval(\"tostring(%s)\")" % expr.replace('"', '\\"'))

    def wait(self, predicate, what, timeout=6.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise Failure("timed out waiting for " + what)

    def messages(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(line) for line in f if line.strip()]

    def methods(self):
        return [m.get("method") for m in self.messages()]

    def line(self, n):
        return self.lua("vim.api.nvim_buf_get_lines(0, %d, %d, false)[1]" % (n - 1, n))

    def visible(self):
        return self.lua("require('understudy').visible()") == "true"

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send("<Esc>:qa!<CR>")
                self.proc.wait(timeout=5)
            except Exception:
                self.proc.kill()
        return self.proc.stderr.read().decode(errors="replace")


def check(cond, message):
    if not cond:
        raise Failure(message)


def run(s):
    # The plugin attaches and the server sees the session start.
    s.wait(lambda: s.lua("#require('understudy').clients()") == "1", "the client to start")
    s.wait(lambda: "textDocument/didOpen" in s.methods(), "didOpen")
    init = next(m for m in s.messages() if m.get("method") == "initialize")
    options = init["params"].get("initializationOptions") or {}
    check(options.get("model") == "/tmp/fake-model.gguf", "initializationOptions.model: %r" % options)
    check(options.get("threads") == 2 and options.get("maxTokens") == 64, "settings in initializationOptions: %r" % options)
    check("initialized" in s.methods(), "no initialized notification")
    opened = next(m for m in s.messages() if m.get("method") == "textDocument/didOpen")
    check(opened["params"]["textDocument"]["languageId"] == "swift", "didOpen languageId")
    check(s.lua("vim.lsp.get_clients({name='understudy'})[1].offset_encoding") == s.encoding,
          "negotiated encoding is not " + s.encoding)

    # Typing a prefix brings up the suggestion after an inlineCompletion request.
    s.send("2GAret")
    s.wait(s.visible, "the suggestion to become visible")
    check("textDocument/inlineCompletion" in s.methods(), "no inlineCompletion request")
    req = [m for m in s.messages() if m.get("method") == "textDocument/inlineCompletion"][-1]
    check(req["params"]["context"]["triggerKind"] in (1, 2), "triggerKind")
    check(s.line(2) == "    /* é😀 */ ret", "typing changed more than it should: %r" % s.line(2))

    # Typing a character the suggestion shows keeps it; ghost text does so without asking again.
    asked = s.methods().count("textDocument/inlineCompletion")
    s.send("u")
    s.wait(lambda: s.line(2).endswith(" retu"), "typing along")
    time.sleep(0.3)
    check(s.visible(), "typing along hid the suggestion")
    if s.mode == "ghost":
        check(s.methods().count("textDocument/inlineCompletion") == asked, "typing along asked the server again")

    # Tab accepts: the item's range edit replaces "retu" with the whole completion.
    s.send("<Tab>")
    s.wait(lambda: s.line(2) == ACCEPTED, "accept to insert the text (line is %r)" % s.line(2))
    check(s.lua("vim.api.nvim_get_mode().mode") == "i", "accept left insert mode")
    col = s.lua("vim.api.nvim_win_get_cursor(0)[2]")
    check(col == str(len(ACCEPTED.encode("utf-8"))), "cursor after accept at byte %s" % col)

    # Incremental sync kept the server's copy equal to the buffer.
    changes = [m for m in s.messages() if m.get("method") == "textDocument/didChange"]
    check(changes and all("range" in c for m in changes for c in m["params"]["contentChanges"]),
          "didChange was not incremental")
    expected = SOURCE.replace("    /* é😀 */ \n", ACCEPTED + "\n")
    s.wait(lambda: open(s.log + ".doc", encoding="utf-8").read() == expected, "the server's document to match")

    # The dismiss key hides a suggestion and is swallowed; Tab then types a tab.
    s.send("<CR>ret")
    s.wait(s.visible, "the second suggestion")
    s.send("<C-]>")
    s.wait(lambda: not s.visible(), "dismiss")
    s.send("<Tab>")
    # (Swift's ftplugin sets expandtab, so the fallen-through Tab may insert spaces.)
    s.wait(lambda: re.fullmatch(r"\s*ret[ \t]+", s.line(3)), "Tab to fall through (line is %r)" % s.line(3))

    # A newer request cancels the one in flight (the fake answers "slo…" words late).
    # Native 0.12 completion cancels only on InsertLeave, so this is the fallback's job.
    if s.mode == "ghost":
        s.send("<CR>slo")
        s.wait(lambda: any(m.get("method") == "textDocument/inlineCompletion"
                           and m["params"]["position"] == {"line": 3, "character": 7} for m in s.messages()),
               "the slow request")
        slow_id = [m for m in s.messages() if m.get("method") == "textDocument/inlineCompletion"][-1]["id"]
        s.send("w")
        s.wait(lambda: {"id": slow_id} in [m["params"] for m in s.messages() if m.get("method") == "$/cancelRequest"],
               "$/cancelRequest for request %s" % slow_id)
        s.send("<C-u>")

    # Status, and disable/enable round trip through didChangeConfiguration.
    status = s.lua("table.concat(require('understudy').status_lines(), '|')")
    check("fake-understudy" in status and "encoding " + s.encoding in status, "status: %r" % status)
    s.send("<Esc>:UnderstudyDisable<CR>")
    s.wait(lambda: any(m.get("method") == "workspace/didChangeConfiguration"
                       and m["params"]["settings"]["understudy"]["enabled"] is False
                       for m in s.messages()), "didChangeConfiguration with enabled false")
    asked = s.methods().count("textDocument/inlineCompletion")
    s.send("oret")
    time.sleep(0.6)
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
    s.proc.wait(timeout=5)
    s.wait(lambda: "shutdown" in s.methods(), "shutdown", timeout=3)


def main():
    nvim = sys.argv[1]
    # (inline mode, position encoding the server picks, how the plugin attaches)
    scenarios = [
        ("native", "utf-16", "auto"),
        ("ghost", "utf-16", "auto"),
        ("ghost", "utf-8", "auto"),
        ("ghost", "utf-32", "auto"),
        ("ghost", "utf-16", "start"),  # the 0.10 path: vim.lsp.start from FileType
    ]
    failed = 0
    for mode, encoding, attach in scenarios:
        with tempfile.TemporaryDirectory(prefix="understudy-nvim-") as workdir:
            s = Session(nvim, mode, encoding, attach, workdir)
            started = time.time()
            try:
                run(s)
                print("ok   %-6s %-6s %-5s (%.1f s)" % (mode, encoding, attach, time.time() - started))
            except (Failure, subprocess.TimeoutExpired, StopIteration) as e:
                failed += 1
                print("FAIL %-6s %-6s %-5s: %s" % (mode, encoding, attach, e))
                for m in s.messages():
                    print("     server got:", json.dumps(m)[:200])
            finally:
                stderr = s.close()
                if re.search(r"E\d+:|Error|traceback", stderr):
                    print("     nvim stderr:", stderr.strip()[:2000])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
