"""What the arms share: free ports, starting a server pinned to core 0 with the descriptor limit
lifted, waiting for a port or an OPTIONS answer, and stopping a process group."""

import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

# The integration tests' process helpers: SIGTERM to the group, SIGKILL if it lingers, and
# Kamailio's readiness probe (an OPTIONS answered 200).
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests" / "integration"))
from free_ports import free_port  # noqa: E402
from kamailio_process import KamailioProcess, stop_group  # noqa: E402,F401


def free_port_both():
    """A port free for TCP and UDP alike (SIP listens on both)."""
    return free_port(udp=True, tcp=True)


def _lift_limits():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def start_pinned(command, log_path, env=None, core=0):
    """Starts command under taskset on `core`, in its own process group, output to log_path."""
    log = open(log_path, "w")
    return subprocess.Popen(["taskset", "-c", str(core), *command], stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                            start_new_session=True, preexec_fn=_lift_limits)


def wait_tcp(port, process, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def descendants(pid):
    """pid and every process below it (Kamailio's children, say), from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except OSError:
            continue
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out
