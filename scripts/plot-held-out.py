#!/usr/bin/env python3
"""One SVG with the held-out loss curves of several training runs (the loss.csv files that
`understudy train` and `understudy distill` write), for the model card.

    python3 scripts/plot-held-out.py OUT.svg LABEL=RUN/loss.csv [LABEL=RUN/loss.csv ...]

Only the held-out column is drawn: it is cross-entropy in nats per token for every run, whereas the
training column of a distillation run also holds the KL term.
"""
import csv
import sys

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
W, H, LEFT, RIGHT, TOP, BOTTOM = 720, 420, 60, 20, 40, 50


def held_out(path):
    with open(path) as f:
        return [(int(r["step"]), float(r["eval_loss"])) for r in csv.DictReader(f) if r.get("eval_loss")]


def main():
    out, runs = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
    series = [(label, held_out(path)) for label, path in runs]
    points = [p for _, s in series for p in s]
    max_step = max(s for s, _ in points)
    low, high = min(v for _, v in points), max(v for _, v in points)
    low, high = int(low * 2) / 2, int(high * 2 + 1) / 2

    def x(step):
        return LEFT + (W - LEFT - RIGHT) * step / max_step

    def y(value):
        return TOP + (H - TOP - BOTTOM) * (high - value) / (high - low)

    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="14">held-out loss (nats/token, dev Swift + Python) by training step</text>']
    v = low
    while v <= high + 1e-9:
        svg.append(f'<line x1="{LEFT}" y1="{y(v):.1f}" x2="{W - RIGHT}" y2="{y(v):.1f}" stroke="#eee"/>')
        svg.append(f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.1f}</text>')
        v += 0.5
    tick = 1000 if max_step > 2000 else 500
    for step in range(0, max_step + 1, tick):
        svg.append(f'<text x="{x(step):.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">{step}</text>')
    svg.append(f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}" stroke="black"/>')
    svg.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{H - BOTTOM}" stroke="black"/>')
    svg.append(f'<text x="{W / 2}" y="{H - 12}" text-anchor="middle">step (2,048 tokens each)</text>')
    for i, (label, s) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        path = " ".join(f"{x(st):.1f},{y(val):.1f}" for st, val in s)
        svg.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for st, val in s:
            svg.append(f'<circle cx="{x(st):.1f}" cy="{y(val):.1f}" r="2.5" fill="{color}"/>')
        last = s[-1]
        svg.append(f'<text x="{W - RIGHT - 10}" y="{TOP + 18 + 16 * i}" text-anchor="end" fill="{color}">{label}: {last[1]:.3f} at {last[0]}</text>')
    svg.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
