#!/usr/bin/env python3
"""Turns the `understudy eval --json` results in DIR (NAME-LANG.json) into the model card's tables.

    python3 scripts/eval-table.py DIR

Rows: the two baselines (from the teacher's run: they do not depend on the model), then every model
in a fixed order. After each table: student/teacher ratios and distilled-vs-control differences.
"""
import json
import os
import sys

ORDER = [
    ("teacher", "teacher"),
    ("control", "student from scratch (F32)"),
    ("control-q8_0", "student from scratch (Q8_0)"),
    ("control-q4_0", "student from scratch (Q4_0)"),
    ("student-f32", "distilled student (F32)"),
    ("student-q8_0", "distilled student (Q8_0)"),
    ("student-q4_0", "distilled student (Q4_0)"),
]


def load(directory, name, lang):
    path = os.path.join(directory, f"{name}-{lang}.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def size(r):
    return f"{r['parameters'] / 1e6:.2f} M / {r['fileBytes'] / 2**20:.1f} MiB"


def table(directory, lang):
    results = {name: load(directory, name, lang) for name, _ in ORDER}
    any_result = next((r for r in results.values() if r), None)
    if any_result is None:
        return f"(no {lang} results in {directory})\n"
    lines = [
        f"**{lang.capitalize()}** — {any_result['files']} files, {any_result['bytes']:,} bytes; "
        f"{any_result['samples']:,} line-completion positions (seed {any_result['seed']})",
        "",
        "| model | params / file | bpb ↓ | EM ↑ | ES ↑ | p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, label in [("noModel", "baseline: no model (empty)"), ("frequentContinuation", "baseline: frequent continuation")]:
        s = any_result[key]
        lines.append(f"| {label} | – | – | {s['exactMatch'] * 100:.1f}% | {s['editSimilarity'] * 100:.1f}% | – | – |")
    for name, label in ORDER:
        r = results[name]
        if r is None:
            lines.append(f"| {label} | (not measured) | | | | | |")
            continue
        c = r["completion"]
        lines.append(
            f"| {label} | {size(r)} | {r['bitsPerByte']:.3f} | {c['exactMatch'] * 100:.1f}% | "
            f"{c['editSimilarity'] * 100:.1f}% | {c['latencyP50Ms']:.1f} | {c['latencyP95Ms']:.1f} |")
    t, s, ctl = results["teacher"], results["student-f32"], results["control"]
    notes = []
    if t and s:
        notes.append(
            f"distilled student / teacher: EM {ratio(s, t, 'exactMatch')}, ES {ratio(s, t, 'editSimilarity')}, "
            f"bpb {s['bitsPerByte'] / t['bitsPerByte']:.3f}× (lower is better)")
    if s and ctl:
        notes.append(
            f"distilled − from scratch: EM {delta(s, ctl, 'exactMatch')}, ES {delta(s, ctl, 'editSimilarity')}, "
            f"bpb {s['bitsPerByte'] - ctl['bitsPerByte']:+.3f}")
    for base, f32_name, label in (("student", "student-f32", "distilled"), ("control", "control", "from scratch")):
        f32 = results[f32_name]
        for q in ("q8_0", "q4_0"):
            quantized = results[f"{base}-{q}"]
            if f32 and quantized:
                notes.append(f"{label} {q.upper()} vs F32 bpb: {(quantized['bitsPerByte'] / f32['bitsPerByte'] - 1) * 100:+.2f}%")
    lines.append("")
    lines.extend(f"- {n}" for n in notes)
    return "\n".join(lines) + "\n"


def ratio(a, b, key):
    x, y = a["completion"][key], b["completion"][key]
    return f"{x / y * 100:.1f}%" if y else "n/a"


def delta(a, b, key):
    return f"{(a['completion'][key] - b['completion'][key]) * 100:+.1f} points"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for lang in ("swift", "python"):
        print(table(sys.argv[1], lang))


if __name__ == "__main__":
    main()
