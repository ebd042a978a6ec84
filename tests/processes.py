"""Child processes of the tests (`distro worker`, `distro run`) that never outlive their test.

A test that fails or times out midway must not leave a scheduler behind: it would keep PostgreSQL's
advisory lock (one per database) and every later scheduler test, in this run or the next one on the
same machine, would wait as its standby. :func:`spawn` starts a child that the kernel kills when the test
process dies (``PR_SET_PDEATHSIG``), and the autouse fixture in conftest kills any child still running
when its test ends.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
from typing import Any

_CHILDREN: list[subprocess.Popen[bytes]] = []
_PR_SET_PDEATHSIG = 1
_PRCTL = ctypes.CDLL(None).prctl if sys.platform.startswith("linux") else None  # looked up before any fork


def die_with_parent() -> None:  # runs in the child, between fork and exec: nothing but the call
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


def spawn(args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen(args, **kwargs)``, tied to the test that starts it."""
    process: subprocess.Popen[bytes] = subprocess.Popen(args, preexec_fn=die_with_parent, **kwargs)
    _CHILDREN.append(process)
    return process


def reap() -> None:
    """Kill every child a test started and left running (its assertions failed before it stopped them)."""
    while _CHILDREN:
        process = _CHILDREN.pop()
        if process.poll() is None:
            process.kill()
            process.wait(10)
