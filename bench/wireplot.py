"""The wire benchmark's plot: two dependency-free SVG bar charts (requests/s, CPU per 10k).

One group of bars per operation (GET, LIST of 100, CREATE), one bar per target; each panel
scales to its own largest value, and every bar carries its number.
"""

from __future__ import annotations

from typing import Any

COLORS = ["#bab0ac", "#9c755f", "#edc948", "#4e79a7", "#59a14f", "#e15759", "#f28e2b", "#76b7b2"]
WIDTH, PANEL, PAD = 820, 260, 46


def _panel(table: list[dict[str, Any]], key: str, title: str, top_y: int, fmt: str) -> list[str]:
    ops = list(dict.fromkeys(t["op"] for t in table))
    rows = list(dict.fromkeys(t["row"] for t in table))
    top = max((t[key] for t in table), default=1) or 1
    group_w = (WIDTH - 2 * PAD - 130) / max(len(ops), 1)
    bar_w = group_w / (len(rows) + 1)
    base = top_y + PANEL - 24
    parts = [f'<text x="{PAD}" y="{top_y + 14}" font-weight="bold">{title}</text>',
             f'<line x1="{PAD}" y1="{base}" x2="{WIDTH - PAD - 130}" y2="{base}" '
             'stroke="#999"/>']
    for g, op in enumerate(ops):
        x0 = PAD + g * group_w
        parts.append(f'<text x="{x0 + group_w / 2 - 20:.0f}" y="{base + 16}">{op.upper()}</text>')
        for s, row in enumerate(rows):
            cell = next((t for t in table if t["op"] == op and t["row"] == row), None)
            if cell is None:
                continue
            h = (PANEL - 60) * cell[key] / top
            x, y = x0 + s * bar_w, base - h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 3:.1f}" '
                         f'height="{h:.1f}" fill="{COLORS[s % len(COLORS)]}"/>')
            parts.append(f'<text x="{x:.1f}" y="{y - 3:.1f}" font-size="9">'
                         f'{format(cell[key], fmt)}</text>')
    return parts


def svg(table: list[dict[str, Any]]) -> str:
    rows = list(dict.fromkeys(t["row"] for t in table))
    height = 2 * PANEL + 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
             'font-family="sans-serif" font-size="11">',
             '<rect width="100%" height="100%" fill="white"/>',
             *_panel(table, "rps", "requests/s (server on one core; higher is better)", 4, ",.0f"),
             *_panel(table, "cpu_per_10k", "server CPU seconds per 10,000 requests "
                     "(lower is better)", PANEL + 10, ".2f")]
    for s, row in enumerate(rows):
        y = 40 + 16 * s
        parts.append(f'<rect x="{WIDTH - 160}" y="{y}" width="10" height="10" '
                     f'fill="{COLORS[s % len(COLORS)]}"/><text x="{WIDTH - 145}" y="{y + 9}">'
                     f'{row}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
