"""Child processes that die with us: `spawn` (a Popen) and `run` (like subprocess.run).

On Linux each command runs under `leash.py`, which kills it and all its descendants when this
process exits by any means, SIGKILL included, whichever thread spawned it. Elsewhere the
command only gets its own process group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from k8s_aggapi.envtest.leash import KILL_TREE, parents

LEASHED = sys.platform == "linux"
_LEASH = str(Path(__file__).with_name("leash.py"))
_lifeline: tuple[int, int, int] | None = None  # (owner pid, read end, write end)


def _lifeline_fd() -> int:
    """The read end of a pipe whose write end this process holds until it exits."""
    global _lifeline
    if _lifeline is None or _lifeline[0] != os.getpid():
        r, w = os.pipe()  # both close-on-exec: no other child holds the write end
        _lifeline = (os.getpid(), r, w)
    return _lifeline[1]


def _forget_lifeline() -> None:
    """In a forked child: close the parent's write end, or its leashes would outlive it."""
    global _lifeline
    if _lifeline is not None:
        for fd in _lifeline[1:]:
            os.close(fd)
        _lifeline = None


os.register_at_fork(after_in_child=_forget_lifeline)


class Leashed(subprocess.Popen[Any]):
    """A Popen whose `pid` is the leash: signals reach the command's whole process group
    (SIGKILL, as `kill()` sends it, kills every descendant); `wait()` returns when all are
    gone, with the command's exit code."""

    def send_signal(self, sig: int) -> None:
        if LEASHED and sig == signal.SIGKILL:
            sig = KILL_TREE
        super().send_signal(sig)


def spawn(argv: Sequence[str | os.PathLike[str]], **popen: Any) -> Leashed:
    """`subprocess.Popen(argv, **popen)`, with the command leashed to this process."""
    if isinstance(argv, str | bytes) or popen.get("shell") or popen.get("executable"):
        raise ValueError("spawn() takes a list of arguments, the program first "
                         "(for a shell: ['sh', '-c', script]); no shell= or executable=")
    if not LEASHED:
        popen.setdefault("start_new_session", True)
        return Leashed(list(argv), **popen)
    fd = _lifeline_fd()
    popen["pass_fds"] = (*popen.get("pass_fds", ()), fd)
    command = [os.fspath(a) for a in argv]
    proc = Leashed([sys.executable, "-I", "-S", _LEASH, str(fd), "--", *command], **popen)
    proc.args = command  # what error messages show
    return proc


def run(
    argv: Sequence[str | os.PathLike[str]], *, input: str | bytes | None = None,
    capture_output: bool = False, timeout: float | None = None, check: bool = False,
    **popen: Any,
) -> subprocess.CompletedProcess[Any]:
    """`subprocess.run` on `spawn`: on a timeout or any error the whole tree is killed."""
    if input is not None:
        popen["stdin"] = subprocess.PIPE
    if capture_output:
        popen["stdout"] = popen["stderr"] = subprocess.PIPE
    with spawn(argv, **popen) as proc:
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    code = proc.returncode
    if check and code:
        raise subprocess.CalledProcessError(code, proc.args, out, err)
    return subprocess.CompletedProcess(proc.args, code, out, err)


def descendants(pid: int) -> set[int]:
    """Every living or zombie descendant of `pid` (children, their children, ...), from /proc."""
    by_parent: dict[int, list[int]] = {}
    for child, parent in parents().items():
        by_parent.setdefault(parent, []).append(child)
    found: set[int] = set()
    todo = [pid]
    while todo:
        kids = [k for k in by_parent.get(todo.pop(), []) if k not in found]
        found.update(kids)
        todo += kids
    return found


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rpartition(b")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in (b"Z", b"X")
