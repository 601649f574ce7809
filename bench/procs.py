"""The process tree of a benchmarked server, read from /proc (Linux): a server started by
envtest runs under a leash process, so its CPU is that of the started pid's descendants."""

from __future__ import annotations

import os
from pathlib import Path


def proc_stats() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, utime+stime ticks) of every process."""
    stats: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return stats


def tree(root: int, stats: dict[int, tuple[int, int]]) -> set[int]:
    """`root` and its descendants, a few levels down (leash -> taskset'd server)."""
    pids = {root}
    for _ in range(8):
        pids |= {pid for pid, (ppid, _) in stats.items() if ppid in pids}
    return pids


def cpu_seconds(root: int) -> float:
    """utime + stime of `root` and its descendants."""
    stats = proc_stats()
    return sum(stats[p][1] for p in tree(root, stats) if p in stats) / os.sysconf("SC_CLK_TCK")


def memory_bytes(root: int, field: str = "VmHWM") -> int:
    """The sum of `field` of /proc/<pid>/status (VmHWM: the peak resident set, VmRSS: the
    resident set now) over `root`'s descendants, `root` left out: it is the leash, a few MB
    of Python."""
    total = 0
    for pid in tree(root, proc_stats()) - {root}:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(f"{field}:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total
