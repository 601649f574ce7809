"""The leash: runs one command so that it, and all it starts, dies with the process that spawned it.

`python -I -S leash.py LIFELINE_FD -- COMMAND...` (see `lifetime.spawn`; stdlib only, Linux).
The leash is a child subreaper; the command runs in its own process group with
PR_SET_PDEATHSIG=SIGKILL tied to the (single-threaded) leash. The leash forwards SIGTERM,
SIGINT, SIGHUP and SIGQUIT to that group; SIGUSR1, the command's exit or EOF on the lifeline
(the spawner's write end closes only when the spawner exits, from any thread, even on SIGKILL)
make it kill the group and every descendant left, then exit as the command did.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import sys

TYPE_CHECKING = False  # mypy reads it as True; `typing` alone costs a child tens of ms
if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
KILL_TREE = signal.SIGUSR1
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)


def prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl({option}): {os.strerror(errno)}")


def parents() -> dict[int, int]:
    """pid -> parent pid of every process in /proc (zombies included)."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue  # exited meanwhile
            fields = stat.rpartition(b")")[2].split()  # the name may hold spaces and ')'
            found[int(entry)] = int(fields[1])
    return found


def _signal(pid: int, sig: int, *, group: bool = False) -> None:
    try:  # noqa: SIM105 - contextlib would cost every child's start time
        (os.killpg if group else os.kill)(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # gone already


def children() -> list[int]:
    """Our children; /proc/PID/task/TID/children where the kernel has it (one thread here)."""
    me = os.getpid()
    try:
        with open(f"/proc/{me}/task/{me}/children", "rb") as f:
            return [int(pid) for pid in f.read().split()]
    except OSError:
        return [pid for pid, parent in parents().items() if parent == me]


class _KillTree(Exception):
    pass


def _kill_now(signum: int, frame: FrameType | None) -> None:
    raise _KillTree


def kill_tree(group: int) -> None:
    """SIGKILL `group` and every descendant of ours, reaping each until no child is left.

    Orphans are reparented to us (a subreaper) before their parent can be reaped, so the
    loop sees every descendant; it ends when waitpid finds no child."""
    for sig in (*FORWARDED, KILL_TREE):
        signal.signal(sig, signal.SIG_IGN)
    _signal(group, signal.SIGKILL, group=True)
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):  # children left: kill them, wait for one
                for pid in children():
                    _signal(pid, signal.SIGKILL)
                os.waitpid(-1, 0)
        except ChildProcessError:
            return  # no child, so no descendant: an orphan would have been given to us


def _exec_child(command: Sequence[str], leash: int) -> None:
    """In the forked child: own group, die with the leash (even if it is gone already), exec."""
    try:
        for sig in (*FORWARDED, KILL_TREE):
            signal.signal(sig, signal.SIG_DFL)
        os.setpgid(0, 0)
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != leash:  # the leash died before prctl ran
            os.kill(os.getpid(), signal.SIGKILL)
        os.execvp(command[0], list(command))
    except BaseException as e:  # report anything, then leave without cleanup
        os.write(2, f"leash: cannot run {command[0]!r}: {e}\n".encode())
    os._exit(127)


def _wait(child: int, lifeline: int) -> int:
    """Block until the command exits (its wait status) or the lifeline reports EOF (raise)."""
    try:
        pidfd: int | None = os.pidfd_open(child)
    except OSError:  # kernels before 5.3: poll
        pidfd = None
    watched = [lifeline] if pidfd is None else [lifeline, pidfd]
    while True:
        ready, _, _ = select.select(watched, [], [], 0.2 if pidfd is None else None)
        if lifeline in ready:
            raise _KillTree  # nobody ever writes: readable means the spawner is gone
        done, status = os.waitpid(child, os.WNOHANG)
        if done:
            return status


def main(argv: Sequence[str]) -> None:
    if len(argv) < 3 or argv[1] != "--":
        sys.exit("usage: leash.py LIFELINE_FD -- COMMAND...")
    lifeline, command, me = int(argv[0]), argv[2:], os.getpid()
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    child: int | None = None
    pending: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        if child is None:
            pending.append(signum)
        else:
            _signal(child, signum, group=True)

    for sig in FORWARDED:
        signal.signal(sig, forward)
    signal.signal(KILL_TREE, _kill_now)
    status: int = signal.SIGKILL.value  # a wait status: killed by SIGKILL
    try:
        child = os.fork()
        if child == 0:
            _exec_child(command, me)
        try:  # noqa: SIM105 - as in _signal
            os.setpgid(child, child)  # also here, so the group exists before any forward
        except OSError:
            pass  # the child did it (and may have exec'd) first
        for signum in pending:
            forward(signum, None)
        status = _wait(child, lifeline)
    except _KillTree:
        pass
    if child:
        kill_tree(child)
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        if signum != signal.SIGKILL:
            signal.signal(signum, signal.SIG_DFL)
        os.kill(me, signum)  # exit as the command did
        os._exit(128 + signum)
    os._exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main(sys.argv[1:])
