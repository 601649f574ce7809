"""`python -m bench`: the request hot path in-process (full handler chain, no TLS, no network).

Lists of N flunders as JSON, Table and PartialObjectMetadataList, and single-object GETs,
through the real app built by `k8s_aggapi.testing` (the rows: `bench/inproc.py`). Prints a
table and writes bench/out/list_latency.svg. Bounded: a fixed number of requests per row.

`python -m bench --baseline REV [--rounds N]` measures this tree beside commit REV in one
run: REV is extracted with `git archive`, each round runs every row in a fresh process per
tree (this tree, then REV), and the table gives CPU time per request (robust on a loaded
machine) and the ratio ours/baseline per row. Writes bench/out/baseline.{json,svg}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

from bench.inproc import SIZES, rows

OUT = Path(__file__).parent / "out"
ROOT = Path(__file__).resolve().parents[1]
INPROC = Path(__file__).resolve().with_name("inproc.py")
Key = tuple[str, int]


def svg(results: list[dict[str, Any]]) -> str:
    """A dependency-free bar chart: one group of bars per list size, in ms."""
    series = sorted({r["request"] for r in results})
    sizes = sorted({r["objects"] for r in results})
    colors = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759"]
    width, height, pad = 760, 320, 50
    top = max(r["ms"] for r in results)
    group_w = (width - 2 * pad) / len(sizes)
    bar_w = group_w / (len(series) + 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             'font-family="sans-serif" font-size="11">',
             f'<text x="{pad}" y="18">median latency per request (ms), in-process</text>']
    for g, size in enumerate(sizes):
        x0 = pad + g * group_w
        parts.append(f'<text x="{x0 + group_w / 3:.0f}" y="{height - 8}">{size} objects</text>')
        for s, name in enumerate(series):
            ms = next(r["ms"] for r in results if r["request"] == name and r["objects"] == size)
            h = (height - 2 * pad) * ms / top
            x, y = x0 + s * bar_w, height - pad - h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" '
                         f'height="{h:.1f}" fill="{colors[s % 4]}"/>')
            parts.append(f'<text x="{x:.1f}" y="{y - 3:.1f}">{ms:.1f}</text>')
    for s, name in enumerate(series):
        parts.append(f'<rect x="{width - 150}" y="{30 + 16 * s}" width="10" height="10" '
                     f'fill="{colors[s % 4]}"/><text x="{width - 135}" y="{39 + 16 * s}">'
                     f'{name}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def ratio_svg(table: list[dict[str, Any]], baseline: str) -> str:
    """Horizontal bars of ours/baseline CPU per request, one per row, with 1.0 and 1.1 marks."""
    width, bar_h, left, pad = 760, 18, 190, 30
    height = pad * 2 + bar_h * len(table) + 20
    top = max(1.2, *(r["ratio"] for r in table))
    scale = (width - left - 60) / top
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             'font-family="sans-serif" font-size="11">',
             f'<text x="10" y="18">CPU time per request, this tree / {baseline} (median of '
             'interleaved rounds; below 1 is faster)</text>']
    for mark in (1.0, 1.1):
        x = left + mark * scale
        parts.append(f'<line x1="{x:.1f}" y1="{pad}" x2="{x:.1f}" y2="{height - pad}" '
                     f'stroke="#888" stroke-dasharray="3,3"/><text x="{x - 8:.1f}" '
                     f'y="{height - pad + 14}">{mark:.1f}</text>')
    for i, row in enumerate(table):
        y = pad + i * bar_h
        fill = "#59a14f" if row["ratio"] <= 1.1 else "#e15759"
        parts.append(f'<text x="10" y="{y + 13}">{row["request"]}, {row["objects"]:,}</text>')
        parts.append(f'<rect x="{left}" y="{y + 2}" width="{row["ratio"] * scale:.1f}" '
                     f'height="{bar_h - 4}" fill="{fill}"/>')
        parts.append(f'<text x="{left + row["ratio"] * scale + 4:.1f}" y="{y + 13}">'
                     f'{row["ratio"]:.2f}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def extract(rev: str, into: Path) -> str:
    """`rev` of this repository as files under `into`; its full commit hash."""
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", f"{rev}^{{commit}}"],
                            check=True, capture_output=True, text=True).stdout.strip()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return commit


def run_tree(root: Path, sizes: tuple[int, ...]) -> dict[Key, dict[str, float]]:
    """Every row measured in a fresh process importing the code under `root`."""
    done = subprocess.run([sys.executable, str(INPROC), str(root), ",".join(map(str, sizes))],
                          cwd=root, check=True, capture_output=True, text=True)
    found = {}
    for line in done.stdout.splitlines():
        row = json.loads(line)
        found[(row["request"], row["objects"])] = row
    return found


def compare(baseline: str, rounds: int, sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    samples: dict[str, dict[Key, list[float]]] = {"ours": {}, "base": {}}
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        commit = extract(baseline, Path(tmp))
        print(f"baseline {commit[:12]} in {tmp}; {rounds} rounds, ours then baseline",
              file=sys.stderr)
        for n in range(rounds):
            for tree, root in (("ours", ROOT), ("base", Path(tmp))):
                for key, row in run_tree(root, sizes).items():
                    samples[tree].setdefault(key, []).append(row["cpu_us"])
            print(f"round {n + 1}/{rounds} done", file=sys.stderr)
    table = []
    for key, base in samples["base"].items():
        ours = samples["ours"][key]
        table.append({
            "request": key[0], "objects": key[1],
            "base_us": statistics.median(base), "base_min_us": min(base),
            "ours_us": statistics.median(ours), "ours_min_us": min(ours),
            "ratio": statistics.median(ours) / statistics.median(base),
            "ratio_min": min(ours) / min(base),
        })
    return table


def print_comparison(table: list[dict[str, Any]], baseline: str) -> None:
    print(f"CPU µs per request, median (min) of the rounds; ratio = ours / {baseline}")
    print(f"| request | objects | {baseline} | ours | ratio of medians (mins) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in table:
        print(f"| {r['request']} | {r['objects']:,} | {r['base_us']:,.1f} "
              f"({r['base_min_us']:,.1f}) | {r['ours_us']:,.1f} ({r['ours_min_us']:,.1f}) "
              f"| {r['ratio']:.2f} ({r['ratio_min']:.2f}) |")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--baseline", metavar="REV", help="commit to measure beside this tree")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (with --baseline)")
    p.add_argument("--sizes", default=",".join(map(str, SIZES)),
                   help="objects stored, comma-separated (default %(default)s)")
    args = p.parse_args(argv)
    sizes = tuple(int(s) for s in args.sizes.split(","))
    OUT.mkdir(exist_ok=True)
    if args.baseline:
        table = compare(args.baseline, args.rounds, sizes)
        print_comparison(table, args.baseline)
        (OUT / "baseline.json").write_text(json.dumps(table, indent=1))
        (OUT / "baseline.svg").write_text(ratio_svg(table, args.baseline))
        print(f"data: {OUT / 'baseline.json'}\nplot: {OUT / 'baseline.svg'}")
        return
    results = asyncio.run(rows(sizes))
    print(f"{'request':<14} {'objects':>8} {'median ms':>10} {'objects/s':>12} {'CPU µs':>9}")
    for r in results:
        ms = r["ms"]
        per_s = r["objects"] / ms * 1000 if r["request"].startswith("list") else 1000 / ms
        print(f"{r['request']:<14} {r['objects']:>8} {ms:>10.2f} {per_s:>12,.0f} "
              f"{r['cpu_us']:>9,.1f}")
    (OUT / "list_latency.svg").write_text(svg(results))
    print(f"plot: {OUT / 'list_latency.svg'}")


if __name__ == "__main__":
    main()
