#!/usr/bin/env python3
"""Draws the model card's examples: random positions of held-out files, completed as an editor would.

    scripts/card-examples.py DEV_DIR --lang swift|python [--count 8] [--seed 2026]
                             [--binary .build/release/understudy] [--model [NAME=]M.gguf ...]

Positions: a file drawn at random, a non-blank line that is not a comment, the cursor at a random column
between the line's first non-blank character and its end. The rest of the line is removed from a copy
of the file (the user is typing it), then `understudy complete --file COPY --line L --column C
--threads 1` answers, once per --model (none: the embedded default). Prints a Markdown table: the file
and line, the end of what is typed, each model's completion (first line), what the file has.
Not picked by hand: whatever the seed draws is shown, good and bad.
"""
import argparse
import os
import random
import subprocess
import tempfile

COMMENT = {"swift": ("//", "/*", "*"), "python": ("#",)}
SUFFIX = {"swift": ".swift", "python": ".py"}


def cell(text, limit=60):
    text = text.replace("\n", "\\n")
    if len(text) > limit:
        text = "…" + text[-limit:]
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`" if text else "(nothing)"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dev")
    parser.add_argument("--lang", required=True, choices=sorted(COMMENT))
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--binary", default=".build/release/understudy")
    parser.add_argument("--model", action="append", default=[])
    args = parser.parse_args()
    files = sorted(os.path.join(d, f) for d, _, names in os.walk(args.dev) for f in names
                   if f.endswith(SUFFIX[args.lang]))
    rng = random.Random(args.seed)
    named = [m.split("=", 1) if "=" in m else [os.path.basename(m), m] for m in args.model] or [["default model", None]]
    models = [path for _, path in named]
    header = ["file:line", "typed (end of it)"] + [name for name, _ in named] + ["the file has"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    shown = 0
    while shown < args.count:
        path = rng.choice(files)
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().split("\n")
        candidates = [i for i, line in enumerate(lines)
                      if line.strip() and not line.strip().startswith(COMMENT[args.lang])]
        if not candidates:
            continue
        index = rng.choice(candidates)
        line = lines[index]
        start = len(line) - len(line.lstrip())
        column = rng.randint(start, len(line) - 1)
        typed, rest = line[:column], line[column:]
        edited = lines[:index] + [typed] + lines[index + 1:]
        answers = []
        with tempfile.TemporaryDirectory() as directory:
            copy = os.path.join(directory, os.path.basename(path))
            with open(copy, "w", encoding="utf-8") as f:
                f.write("\n".join(edited))
            for model in models:
                command = [args.binary, "complete", "--file", copy, "--line", str(index + 1),
                           "--column", str(column + 1), "--threads", "1"] + (["--model", model] if model else [])
                result = subprocess.run(command, capture_output=True, text=True)
                answers.append(result.stdout.rstrip("\n").split("\n")[0] if result.returncode == 0
                               else "error: " + result.stderr.strip().split("\n")[-1])
        where = f"{os.path.basename(path)}:{index + 1}"
        print("| " + " | ".join([where, cell(typed.strip(), 40)] + [cell(a) for a in answers] + [cell(rest)]) + " |")
        shown += 1


if __name__ == "__main__":
    main()
