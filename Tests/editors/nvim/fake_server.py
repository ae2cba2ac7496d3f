#!/usr/bin/env python3
"""A tiny LSP server on stdio for the editor tests (Neovim plugin, VS Code extension, Emacs instruct).

It keeps each document's text up to date from didOpen/didChange (incremental, in the
negotiated position encoding) and answers textDocument/inlineCompletion with fixed
completions: when the word before the cursor is a prefix of one of CANDIDATES' keys, items
that replace that word with the candidates. Like the real server's typing cache, a request
whose text before the cursor extends an earlier answer's by characters a candidate starts
with (the user typed them, or accepted a word or line of it) and whose text after the cursor
is the same gets the rest of the candidates, inserted at the cursor. It offers one code
action whose edit comes from codeAction/resolve, reporting $/progress and
window/logMessage on the way.
Every message it receives is appended as a JSON line to $FAKE_LOG; on each change it
writes the document's text to $FAKE_LOG.doc so the tests can check that incremental
sync kept both sides identical.

Like the real server, an Automatic request (triggerKind 2) gets only the first candidate of
"many_one()", an Invoked one (1) all three, and Invoked requests skip the typing cache.
FAKE_ENCODING picks the position encoding it negotiates (utf-16 by default); FAKE_INIT_DELAY
(seconds) delays the initialize answer, so that keys can be typed before the client attaches.
Inline completions for a word starting with "slo" are answered only after SLOW_SECONDS,
unless a $/cancelRequest for them arrives first (then the answer is error -32800).
"""

import json
import os
import sys
import threading
import time

COMPLETION = "return a + b"
GUARD = "guard b > 0 else {\n    return a\n}"
# The word before the cursor must be a prefix of a key; the items replace it with the values.
CANDIDATES = {
    COMPLETION: [COMPLETION],
    GUARD: [GUARD],  # several lines, for accept-line
    "cycle_one()": ["cycle_one()", "cycle_two()"],  # two candidates, for next/previous
    "many_one()": ["many_one()", "many_two()", "many_three()"],  # one unless invoked
}
AUTOMATIC_ONLY_FIRST = {"many_one()"}
INVOKED = 1
LOG = os.environ.get("FAKE_LOG", "/dev/null")
ENCODING = os.environ.get("FAKE_ENCODING", "utf-16")

SLOW_SECONDS = 0.5

documents = {}
cache = []  # (uri, text before the answered word, text after the cursor, candidates)
slow = {}  # request id -> threading.Timer of an answer not sent yet
lock = threading.Lock()  # guards stdout and `slow` across timer threads


def units(ch):
    """Size of one code point in the negotiated encoding."""
    if ENCODING == "utf-8":
        return len(ch.encode("utf-8"))
    if ENCODING == "utf-32":
        return 1
    return 2 if ord(ch) > 0xFFFF else 1


def offset(text, pos):
    """Index into `text` (a str) of an LSP position, clamped like the spec says."""
    lines = text.split("\n")
    line = min(pos["line"], len(lines))
    index = sum(len(l) + 1 for l in lines[:line])
    if line == len(lines):
        return len(text)
    count = 0
    for ch in lines[line]:
        if count >= pos["character"]:
            break
        count += units(ch)
        index += 1
    return index


def character(line_text, index):
    return sum(units(ch) for ch in line_text[:index])


def write(message):
    body = json.dumps(message).encode("utf-8")
    with lock:
        sys.stdout.buffer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        sys.stdout.buffer.flush()


def answer_later(mid, result):
    def fire():
        with lock:
            if slow.pop(mid, None) is None:
                return
        write({"jsonrpc": "2.0", "id": mid, "result": result})
    with lock:
        slow[mid] = threading.Timer(SLOW_SECONDS, fire)
        slow[mid].start()


def cancel(mid):
    with lock:
        timer = slow.pop(mid, None)
    if timer:
        timer.cancel()
        write({"jsonrpc": "2.0", "id": mid, "error": {"code": -32800, "message": "cancelled"}})


def read():
    headers = {}
    while True:
        line = sys.stdin.buffer.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            break
        name, _, value = line.decode("ascii").partition(":")
        headers[name.strip().lower()] = value.strip()
    return json.loads(sys.stdin.buffer.read(int(headers["content-length"])))


def log(message):
    with open(LOG, "a") as f:
        f.write(json.dumps(message) + "\n")


def save_doc(uri):
    with open(LOG + ".doc", "w") as f:
        f.write(documents[uri])


def inline_completion(params):
    uri = params["textDocument"]["uri"]
    text = documents.get(uri, "")
    pos = params["position"]
    line_text = text.split("\n")[pos["line"]]
    at = offset(text, pos)
    before, after = text[:at], text[at:]
    invoked = (params.get("context") or {}).get("triggerKind") == INVOKED
    for entry_uri, entry_before, entry_after, candidates in ([] if invoked else reversed(cache)):
        if entry_uri == uri and entry_after == after and before.startswith(entry_before):
            typed = before[len(entry_before):]
            rests = [c[len(typed):] for c in candidates if c.startswith(typed) and len(c) > len(typed)]
            if rests:
                here = {"start": pos, "end": pos}
                return {"items": [{"insertText": r, "range": here} for r in rests]}
    cursor = at - offset(text, {"line": pos["line"], "character": 0})
    start = cursor
    while start > 0 and (line_text[start - 1].isalnum() or line_text[start - 1] == "_"):
        start -= 1
    word = line_text[start:cursor]
    if word.startswith("slo"):
        return {"items": [{"insertText": "slower"}]}
    key = next((k for k in CANDIDATES if word and k.startswith(word)), None)
    if key is None:
        return {"items": []}
    rng = {
        "start": {"line": pos["line"], "character": character(line_text, start)},
        "end": {"line": pos["line"], "character": character(line_text, cursor)},
    }
    candidates = CANDIDATES[key][:1] if key in AUTOMATIC_ONLY_FIRST and not invoked else CANDIDATES[key]
    cache.append((uri, before[:len(before) - len(word)], after, candidates))
    return {"items": [{"insertText": c, "range": rng} for c in candidates]}


def main():
    while True:
        msg = read()
        if msg is None:
            return
        log(msg)
        method, params, mid = msg.get("method"), msg.get("params") or {}, msg.get("id")
        if method == "initialize":
            time.sleep(float(os.environ.get("FAKE_INIT_DELAY", "0")))
            write({"jsonrpc": "2.0", "id": mid, "result": {
                "capabilities": {
                    "positionEncoding": ENCODING,
                    "textDocumentSync": {"openClose": True, "change": 2, "save": True},
                    "inlineCompletionProvider": True,
                    "codeActionProvider": {"resolveProvider": True},
                    "executeCommandProvider": {"commands": ["understudy.instruct"]},
                    "experimental": {"instruct": {"available": True, "template": "ChatML"}},
                },
                "serverInfo": {"name": "fake-understudy", "version": "0"},
            }})
        elif method == "textDocument/didOpen":
            doc = params["textDocument"]
            documents[doc["uri"]] = doc["text"]
            save_doc(doc["uri"])
        elif method == "textDocument/didChange":
            uri = params["textDocument"]["uri"]
            for change in params["contentChanges"]:
                if "range" in change:
                    text = documents[uri]
                    a, b = offset(text, change["range"]["start"]), offset(text, change["range"]["end"])
                    documents[uri] = text[:a] + change["text"] + text[b:]
                else:
                    documents[uri] = change["text"]
            save_doc(uri)
        elif method == "textDocument/inlineCompletion":
            result = inline_completion(params)
            if result["items"] and result["items"][0]["insertText"] == "slower":
                answer_later(mid, result)
            else:
                write({"jsonrpc": "2.0", "id": mid, "result": result})
        elif method == "$/cancelRequest":
            cancel(params["id"])
        elif method == "textDocument/codeAction":
            # Titles at once; the edit comes from codeAction/resolve, as the real server does.
            write({"jsonrpc": "2.0", "id": mid, "result": [{
                "title": "Add documentation comment", "kind": "refactor.rewrite",
                "data": {"uri": params["textDocument"]["uri"], "line": params["range"]["start"]["line"]},
            }]})
        elif method == "codeAction/resolve":
            data = params["data"]
            write({"jsonrpc": "2.0", "method": "$/progress",
                   "params": {"token": "doc", "value": {"kind": "begin", "title": "Documenting"}}})
            write({"jsonrpc": "2.0", "method": "window/logMessage",
                   "params": {"type": 3, "message": "resolved %s" % params["title"]}})
            write({"jsonrpc": "2.0", "method": "$/progress", "params": {"token": "doc", "value": {"kind": "end"}}})
            pos = {"line": data["line"], "character": 0}
            edit = {"changes": {data["uri"]: [{"range": {"start": pos, "end": pos}, "newText": "/// Adds.\n"}]}}
            write({"jsonrpc": "2.0", "id": mid, "result": dict(params, edit=edit)})
        elif method == "workspace/executeCommand" and params.get("command") == "understudy.instruct":
            # Edit with instruction: the selection becomes "/* instruction */" + the selected text,
            # sent as workspace/applyEdit before the null answer, as the real server does.
            args = params["arguments"][0]
            text = documents[args["uri"]]
            a, b = offset(text, args["range"]["start"]), offset(text, args["range"]["end"])
            if args["instruction"] == "refuse":
                write({"jsonrpc": "2.0", "id": mid, "error": {"code": -32801, "message": "shapes changed since the selection was made"}})
                continue
            edit = {"changes": {args["uri"]: [{"range": args["range"], "newText": "/* %s */ %s" % (args["instruction"], text[a:b])}]}}
            write({"jsonrpc": "2.0", "id": "apply-1", "method": "workspace/applyEdit",
                   "params": {"label": "Edit with instruction", "edit": edit}})
            write({"jsonrpc": "2.0", "id": mid, "result": None})
        elif method == "shutdown":
            write({"jsonrpc": "2.0", "id": mid, "result": None})
        elif method == "exit":
            return
        elif mid is not None and method is not None:
            write({"jsonrpc": "2.0", "id": mid, "result": None})


if __name__ == "__main__":
    main()
