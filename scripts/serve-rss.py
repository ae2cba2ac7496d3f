#!/usr/bin/env python3
"""Resident memory of `understudy serve` across a burst of large messages (issue 15, item 9).

usage: scripts/serve-rss.py BINARY [COUNT]

Starts `BINARY serve --no-default-model`, opens a document, then sends COUNT (default 300)
didChange notifications of about 1 MB each, made of 12,000 small edits (an insertion and its
deletion, so the document stays small): their JSON trees are many small allocations, the
shape that leaves glibc's heap at its high-water mark. Prints the server's VmRSS every 50
messages (right after a probe request is answered) and once the input has been quiet for a
second. Measured with the debug build: 81 MB stayed before the server returned freed memory
(malloc_trim), 25 MB after.
"""

import json
import subprocess
import sys
import threading
import time

binary = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 300
server = subprocess.Popen([binary, "serve", "--no-default-model", "--threads", "1"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
answered = set()


def read_answers():
    buffer = b""
    while True:
        chunk = server.stdout.read1(65536)
        if not chunk:
            return
        buffer += chunk
        while b"\r\n\r\n" in buffer:
            header, rest = buffer.split(b"\r\n\r\n", 1)
            length = int(header.split(b":")[1])
            if len(rest) < length:
                break
            message, buffer = json.loads(rest[:length]), rest[length:]
            if "id" in message and "method" not in message:
                answered.add(message["id"])


def send(message):
    body = json.dumps(message).encode()
    server.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    server.stdin.flush()


def probe(request_id):
    """Sends a request and waits for its answer: everything before it has been handled."""
    send({"jsonrpc": "2.0", "id": request_id, "method": "x/probe"})
    while request_id not in answered:
        time.sleep(0.005)


def resident_mb():
    with open("/proc/%d/status" % server.pid) as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024


threading.Thread(target=read_answers, daemon=True).start()
uri = "file:///big.swift"
send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}})
send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
send({"jsonrpc": "2.0", "method": "textDocument/didOpen",
      "params": {"textDocument": {"uri": uri, "languageId": "swift", "version": 1, "text": "x"}}})
probe(2)
print("start: %d MB" % resident_mb())
at = {"line": 0, "character": 0}
edits = [{"range": {"start": at, "end": at}, "text": "a"},
         {"range": {"start": at, "end": {"line": 0, "character": 1}}, "text": ""}] * 6000
for index in range(count):
    send({"jsonrpc": "2.0", "method": "textDocument/didChange",
          "params": {"textDocument": {"uri": uri, "version": index + 2}, "contentChanges": edits}})
    if index % 50 == 49:
        probe(1000 + index)
        print("after %d messages: %d MB" % (index + 1, resident_mb()), flush=True)
probe(3)
time.sleep(1)
print("input quiet for 1 s: %d MB" % resident_mb())
server.stdin.close()
server.wait()
