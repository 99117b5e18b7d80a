"""Kamailio 5.6 presence (Debian kamailio + kamailio-presence-modules) over SIP/UDP.

memory: subs_db_mode=0 and publ_cache=2 (subscriptions and publications in shared memory only).
durable: subs_db_mode=1 (every subscription written through to the database) and publ_cache=1
(publications in the database; a PUBLISH is answered after its row is written), on db_sqlite.
Both modes load the denied pairs from the SQLite htable table; the routing script refuses
their SUBSCRIBE with 403.
"""

import os
import sqlite3
from pathlib import Path

from .base import Arm
from .process import KamailioProcess, descendants, free_port_both, start_pinned, stop_group

KAMAILIO = "/usr/sbin/kamailio"
MODULES = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")
SCHEMA = Path("/usr/share/kamailio/db_sqlite")
DOMAIN = "compare.test"
CHILDREN = 4
# Durable: one UDP worker. With several, db_sqlite's writers lock each other out ("database is
# locked", every SUBSCRIBE answered 500) on the one SQLite file.
DURABLE_CHILDREN = 1

class Kamailio(Arm):
    name = "kamailio"
    protocol = "sip"

    def __init__(self, mode, workdir, repo, build):
        super().__init__(mode, workdir, repo, build)
        self.process = None
        self.port = None

    def available(self):
        if not os.access(KAMAILIO, os.X_OK):
            return "kamailio is not installed (Debian package kamailio)"
        for module, package in (("presence.so", "kamailio-presence-modules"),
                                ("db_sqlite.so", "kamailio-sqlite-modules")):
            if not (MODULES / module).exists():
                return f"{module} is missing (Debian package {package})"
        generator = Path(self.build) / "bench" / "load" / "compare-sip"
        if not os.access(generator, os.X_OK):
            return f"not built: {generator}"
        return None

    def prepare(self, dataset):
        """The presence tables, and the denied pairs as rows of the htable table."""
        self.database = Path(self.workdir) / "kamailio.sqlite"
        if self.database.exists():
            self.database.unlink()
        with sqlite3.connect(self.database) as db:
            for schema in ("standard", "presence", "htable"):
                db.executescript((SCHEMA / f"{schema}-create.sql").read_text())
            db.executemany("INSERT INTO htable (key_name, key_type, value_type, key_value) "
                           "VALUES (?, 0, 0, '1')",
                           [(f"{watcher}:{presentity}",) for watcher, presentity in dataset["denied"]])
        pairs = dataset["pairs"]
        # Shared memory: a subscription and the NOTIFY transactions it has open at once (each
        # kept for tm's wait timer after its 200) take a few KB; 16 KB a pair ran out during a
        # console's 2,000 SUBSCRIBEs, 32 KB leaves room. Only the pages touched count in PSS.
        self.shm_mb = min(8192, max(512, pairs * 32 // 1024))

    def start(self):
        self.port = free_port_both()
        memory = self.mode == "memory"
        command = [KAMAILIO, "-f", str(Path(__file__).with_name("kamailio.cfg")), "-DD", "-E",
                   "-l", f"udp:127.0.0.1:{self.port}", "-Y", str(self.workdir),
                   "-P", str(Path(self.workdir) / "kamailio.pid"), "-w", str(self.workdir),
                   "-m", str(self.shm_mb), "-M", "64",
                   "-A", f'PRESENCE_DOMAIN="{DOMAIN}"',
                   "-A", f'DB_URL="sqlite:///{self.database}"',
                   "-A", f"SUBS_DB_MODE={0 if memory else 1}",
                   "-A", f"PUBL_CACHE={2 if memory else 1}",
                   "-A", f"CHILDREN={self._children()}"]
        self.process = start_pinned(command, Path(self.workdir) / "kamailio.log")
        self._wait_options()

    # Until Kamailio answers an OPTIONS on its port (stops it and raises if it never does).
    _wait_options = KamailioProcess.wait_ready

    def log(self):
        return (Path(self.workdir) / "kamailio.log").read_text(errors="replace")[-3000:]

    def _children(self):
        return CHILDREN if self.mode == "memory" else DURABLE_CHILDREN

    def endpoint(self):
        return {"sip": f"127.0.0.1:{self.port}", "domain": DOMAIN}

    def pids(self):
        if self.process is None or self.process.poll() is not None:
            return []
        return descendants(self.process.pid)

    def generator_command(self):
        return [str(Path(self.build) / "bench" / "load" / "compare-sip")]

    def settings(self):
        if self.mode == "memory":
            store = "subs_db_mode=0, publ_cache=2 (subscriptions and publications in memory only)"
        else:
            store = ("subs_db_mode=1 (write-through), publ_cache=1, db_sqlite (SQLite defaults: "
                     "rollback journal, synchronous=FULL)")
        return [store,
                "subs_htable_size=16, pres_htable_size=16 (2^16 slots; the default 2^9 is too few)",
                f"children={self._children()} UDP workers, all processes on core 0 (taskset), "
                f"-m {self.shm_mb} MB shared, -M 64 MB private memory, debug=1, clean_period=100",
                "presence_xml force_active=1; denied pairs refused with 403 by the routing "
                "script from an htable loaded from the database at start",
                "no digest authentication (presenced challenges every request: "
                "this favours Kamailio)"]

    def stop(self):
        stop_group(self.process)
