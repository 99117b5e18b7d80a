"""What the peer arms (prosody, ejabberd, nats) share: one server process group started pinned
by the arm, a generator from bench/load, and the log lines to show when the server fails."""

import os
from pathlib import Path

from .base import Arm
from .process import descendants, stop_group


class PeerArm(Arm):
    generator = ""  # the bench/load program that drives this arm
    logs = ()       # files in the work directory worth showing when the server fails

    def __init__(self, mode, workdir, repo, build):
        super().__init__(mode, workdir, repo, build)
        self.process = None
        self.port = None

    def missing(self):
        """Why the server cannot run here (a package not installed), or None."""
        return None

    def available(self):
        reason = self.missing()
        if reason:
            return reason
        if not os.access(self.generator_path(), os.X_OK):
            return f"not built: {self.generator_path()}"
        return None

    def generator_path(self):
        return Path(self.build) / "bench" / "load" / self.generator

    def generator_command(self):
        return [str(self.generator_path())]

    def endpoint(self):
        return {"host": "127.0.0.1", "port": self.port}

    def pids(self):
        return descendants(self.process.pid) if self.process and self.process.poll() is None else []

    def stop(self):
        stop_group(self.process)

    def log_tail(self, size=2000):
        parts = []
        for name in self.logs:
            path = Path(self.workdir) / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-size:])
        return "\n".join(parts)
