"""The metrics benchmark's plot: ours beside metrics-server v0.8.0, one group per fleet size.

Four dependency-free SVG bar panels (CPU millicores per node, peak RSS MiB per node, scrape
cycle wall time, list of all PodMetrics), drawn with the wire benchmark's panel.
"""

from __future__ import annotations

from typing import Any

from bench.wireplot import COLORS, PANEL, WIDTH, _panel

PANELS = (
    ("millicores_per_node", "CPU millicores per node (lower is better)", ".4f"),
    ("rss_mib_per_node", "peak RSS MiB per node (lower is better)", ".3f"),
    ("cycle_wall_s", "scrape cycle wall time, s (lower is better)", ".2f"),
    ("list_ms", "list all PodMetrics as JSON through kube-apiserver, ms (lower is better)", ".0f"),
)
SERIES = (("ours", "ours"), ("upstream", "metrics-server v0.8.0"))


def svg(table: list[dict[str, Any]]) -> str:
    height = len(PANELS) * (PANEL + 10) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
             'font-family="sans-serif" font-size="11">',
             '<rect width="100%" height="100%" fill="white"/>']
    for p, (key, title, fmt) in enumerate(PANELS):
        cells = [{"op": f"{row['nodes']:,} nodes", "row": label,
                  key: row[f"{which}_{key}"] or 0.0}
                 for row in table for which, label in SERIES]
        parts += _panel(cells, key, title, 4 + p * (PANEL + 10), fmt)
    for s, (_, label) in enumerate(SERIES):
        y = 40 + 16 * s
        parts.append(f'<rect x="{WIDTH - 160}" y="{y}" width="10" height="10" '
                     f'fill="{COLORS[s % len(COLORS)]}"/><text x="{WIDTH - 145}" y="{y + 9}">'
                     f'{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
