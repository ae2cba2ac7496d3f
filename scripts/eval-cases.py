#!/usr/bin/env python3
"""Where a model wins and loses against the frequent-continuation baseline.

Reads the JSON lines of `understudy eval --cases F.jsonl` and splits the positions by what the file
offers the baseline: the cursor at the start of the line's text (nothing typed: the baseline answers
the file's most common line), other lines that start with the typed text (the baseline copies the most
common rest), or none (the baseline answers nothing). Prints EM/ES of the model and of the baseline
per group, with the metrics of `understudy eval` (trailing white space trimmed; ES per character).

    scripts/eval-cases.py CASES.jsonl [MORE.jsonl ...]
"""
import json
import sys


def trim(text):
    return text.rstrip()


def levenshtein(a, b):
    if not a:
        return len(b)
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j - 1] + (x != y), previous[j] + 1, current[j - 1] + 1))
        previous = current
    return previous[-1]


def similarity(completion, target):
    a, b = trim(completion), trim(target)
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1 - levenshtein(a, b) / longest


def group(case):
    if not case["typed"].strip():
        return "nothing typed (baseline: the file's most common line)"
    if case["frequentContinuation"]:
        return "typed text starts other lines (baseline copies their most common rest)"
    return "typed text starts no other line (baseline: nothing)"


def main(paths):
    for path in paths:
        with open(path, encoding="utf-8") as f:
            cases = [json.loads(line) for line in f if line.strip()]
        groups = {}
        for case in cases:
            groups.setdefault(group(case), []).append(case)
        groups["all"] = cases
        print(f"{path}: {len(cases)} positions")
        print(f"  {'group':<74} {'share':>6} {'model EM':>9} {'base EM':>8} {'model ES':>9} {'base ES':>8}")
        for name, items in groups.items():
            n = len(items)
            em = sum(trim(c["completion"]) == trim(c["target"]) for c in items) / n
            bem = sum(trim(c["frequentContinuation"]) == trim(c["target"]) for c in items) / n
            es = sum(similarity(c["completion"], c["target"]) for c in items) / n
            bes = sum(similarity(c["frequentContinuation"], c["target"]) for c in items) / n
            print(f"  {name:<74} {n / len(cases):6.1%} {em:9.1%} {bem:8.1%} {es:9.1%} {bes:8.1%}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
