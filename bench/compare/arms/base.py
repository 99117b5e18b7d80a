"""The interface every arm of the comparison implements (README.md, "Pieces")."""

import abc


class Arm(abc.ABC):
    """One server under test in one persistence mode.

    The harness calls prepare, start, provision, then drives the generator named by
    generator_command against endpoint(), measuring pids(); stop() ends every process the arm
    started and leaves nothing listening.
    """

    name = ""            # short, used in tables: "presenced-ws", "kamailio", ...
    protocol = ""        # "ws", "sip", "xmpp" or "nats": which generator drives it
    modes = ("memory", "durable")

    def __init__(self, mode, workdir, repo, build):
        if mode not in self.modes:
            raise ValueError(f"{self.name} has no {mode} mode")
        self.mode = mode
        self.workdir = workdir  # an empty directory the arm owns
        self.repo = repo        # the repository root
        self.build = build      # the CMake build directory (presenced and the generators)

    @abc.abstractmethod
    def available(self):
        """None when the server can run here, else why not (a missing package, say)."""

    @abc.abstractmethod
    def prepare(self, dataset):
        """Writes configuration and anything provisioned before start (accounts, rosters)."""

    @abc.abstractmethod
    def start(self):
        """Starts the server pinned to core 0 (taskset -c 0) and returns when it serves."""

    def provision(self, dataset):
        """Provisioning that needs the running server (over its API); nothing by default."""

    @abc.abstractmethod
    def endpoint(self):
        """What the generator needs to reach the server, as a JSON-serialisable dict."""

    @abc.abstractmethod
    def pids(self):
        """Every process of the server (children included), for CPU and PSS."""

    @abc.abstractmethod
    def generator_command(self):
        """The generator's argv without --dataset/--endpoint (the harness adds those)."""

    @abc.abstractmethod
    def settings(self):
        """The tuning applied, as short lines for docs/performance.md."""

    @abc.abstractmethod
    def stop(self):
        """Stops every process started; safe to call twice."""

    def coalesces(self):
        """True when the server may deliver only the latest of quick successive changes."""
        return False
