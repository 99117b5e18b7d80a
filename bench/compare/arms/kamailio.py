"""Kamailio 5.6 presence (Debian kamailio + kamailio-presence-modules) over SIP/UDP.

memory: subs_db_mode=0 and publ_cache=2 (subscriptions and publications in shared memory only).
durable: on PostgreSQL (kamailio-postgres-modules, a throwaway cluster of our own pinned to core
0 beside Kamailio, its CPU and memory counted as Kamailio's): publ_cache=1 (a PUBLISH is
answered after its row is committed) and subs_db_mode=2 (subscriptions written back every
DB_UPDATE_PERIOD_S seconds, the module's default mode). Both modes load the denied pairs from
the database's htable table; the routing script refuses their SUBSCRIBE with 403.

Why PostgreSQL and not db_sqlite for the durable mode: db_sqlite sets no busy timeout, so two
Kamailio processes writing the one SQLite file fail each other with "database is locked" (every
SUBSCRIBE answered 500) and the durable arm had to run one worker at 2.5 SUBSCRIBE/s; Kamailio's
documentation points a production presence server at a server database, where its workers
write concurrently. Why write-back for subscriptions: write-through (subs_db_mode=1) commits
every SUBSCRIBE and every NOTIFY's CSeq, at about 160 fsyncs a second on this disk: M's login
alone (264,000 subscriptions) would take over ten minutes, the run's whole budget.
"""

import os
import sqlite3
import subprocess
from pathlib import Path

from .base import Arm
from .process import KamailioProcess, descendants, free_port_both, start_pinned, stop_group

KAMAILIO = "/usr/sbin/kamailio"
MODULES = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")
SCHEMA = Path("/usr/share/kamailio/db_sqlite")
POSTGRES_SCHEMA = Path("/usr/share/kamailio/postgres")
POSTGRES_SERVER = Path(__file__).resolve().parents[3] / "tests" / "postgres" / "server"
DOMAIN = "compare.test"
CHILDREN = 4
DB_UPDATE_PERIOD_S = 5
# The ceiling of the UDP receive buffer Kamailio probes up to (-b, maxbuffer; default 256 KB).
# It holds the watchers' 200s to Kamailio's NOTIFYs while every worker is busy fanning out a
# PUBLISH: at 256 KB a burst overflows it, the 200s are lost and the NOTIFYs end in 408. The
# kernel grants at most net.core.rmem_max (4 MB on the machine of docs/performance.md).
RCV_BUF = 8 << 20

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
        needed = [("presence.so", "kamailio-presence-modules"),
                  ("db_sqlite.so", "kamailio-sqlite-modules")]
        if self.mode == "durable":
            needed.append(("db_postgres.so", "kamailio-postgres-modules"))
        for module, package in needed:
            if not (MODULES / module).exists():
                return f"{module} is missing (Debian package {package})"
        generator = Path(self.build) / "bench" / "load" / "compare-sip"
        if not os.access(generator, os.X_OK):
            return f"not built: {generator}"
        return None

    def prepare(self, dataset):
        """The presence tables, and the denied pairs as rows of the htable table."""
        denied = [f"{watcher}:{presentity}" for watcher, presentity in dataset["denied"]]
        if self.mode == "durable":
            self._prepare_postgres(denied)
        else:
            self.database = Path(self.workdir) / "kamailio.sqlite"
            if self.database.exists():
                self.database.unlink()
            with sqlite3.connect(self.database) as db:
                for schema in ("standard", "presence", "htable"):
                    db.executescript((SCHEMA / f"{schema}-create.sql").read_text())
                db.executemany("INSERT INTO htable (key_name, key_type, value_type, key_value) "
                               "VALUES (?, 0, 0, '1')", [(key,) for key in denied])
            self.db_url = f"sqlite:///{self.database}"
        pairs = dataset["pairs"]
        # Shared memory: a subscription and the NOTIFY transactions it has open at once (each
        # kept for tm's wait timer after its 200) take a few KB; 16 KB a pair ran out during a
        # console's 2,000 SUBSCRIBEs, 32 KB leaves room. Only the pages touched count in PSS.
        self.shm_mb = min(8192, max(512, pairs * 32 // 1024))

    def _prepare_postgres(self, denied):
        """A throwaway PostgreSQL cluster (tests/postgres/server) with its default durability
        (fsync, synchronous_commit on), pinned to core 0, holding Kamailio's tables."""
        self.postgres_file = Path(self.workdir) / "postgres.conninfo"
        subprocess.run([str(POSTGRES_SERVER), "start", str(self.postgres_file)], check=True)
        conninfo, self.postgres_dir = self.postgres_file.read_text().splitlines()[:2]
        fields = dict(item.split("=", 1) for item in conninfo.split())
        self.postmaster = int((Path(self.postgres_dir) / "data" / "postmaster.pid")
                              .read_text().split()[0])
        for pid in descendants(self.postmaster):
            subprocess.run(["taskset", "-a", "-p", "-c", "0", str(pid)], check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        schema = "".join((POSTGRES_SCHEMA / f"{name}-create.sql").read_text()
                         for name in ("standard", "presence", "htable"))
        rows = "".join(f"{key}\t0\t0\t1\n" for key in denied)
        script = (schema + "\nCOPY htable (key_name, key_type, value_type, key_value) FROM STDIN;\n"
                  + rows + "\\.\n")
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", conninfo], input=script,
                       text=True, check=True, stdout=subprocess.DEVNULL)
        self.db_url = (f"postgres://{fields['user']}@{fields['host']}:{fields['port']}/"
                       f"{fields['dbname']}")

    def start(self):
        self.port = free_port_both()
        memory = self.mode == "memory"
        command = [KAMAILIO, "-f", str(Path(__file__).with_name("kamailio.cfg")), "-DD", "-E",
                   "-l", f"udp:127.0.0.1:{self.port}", "-Y", str(self.workdir),
                   "-P", str(Path(self.workdir) / "kamailio.pid"), "-w", str(self.workdir),
                   "-m", str(self.shm_mb), "-M", "64",
                   "-A", f'PRESENCE_DOMAIN="{DOMAIN}"',
                   "-A", f'DB_URL="{self.db_url}"',
                   "-A", f"SUBS_DB_MODE={0 if memory else 2}",
                   "-A", f"DB_UPDATE_PERIOD={DB_UPDATE_PERIOD_S}",
                   "-A", f"PUBL_CACHE={2 if memory else 1}",
                   "-A", f"CHILDREN={CHILDREN}",
                   "-b", str(RCV_BUF)]
        if not memory:
            command += ["-A", "WITH_POSTGRES"]
        self.process = start_pinned(command, Path(self.workdir) / "kamailio.log")
        self._wait_options()

    # Until Kamailio answers an OPTIONS on its port (stops it and raises if it never does).
    _wait_options = KamailioProcess.wait_ready

    def log(self):
        return (Path(self.workdir) / "kamailio.log").read_text(errors="replace")[-3000:]

    def endpoint(self):
        return {"sip": f"127.0.0.1:{self.port}", "domain": DOMAIN}

    def pids(self):
        if self.process is None or self.process.poll() is not None:
            return []
        pids = descendants(self.process.pid)
        if self.mode == "durable":
            pids += descendants(self.postmaster)
        return pids

    def generator_command(self):
        return [str(Path(self.build) / "bench" / "load" / "compare-sip")]

    def settings(self):
        if self.mode == "memory":
            store = "subs_db_mode=0, publ_cache=2 (subscriptions and publications in memory only)"
        else:
            store = ("db_postgres on a PostgreSQL 15 cluster of its own with the defaults "
                     "(fsync on, synchronous_commit on), pinned to core 0, counted as Kamailio's "
                     "CPU and memory; publ_cache=1 (a PUBLISH answered after its row is "
                     f"committed), subs_db_mode=2 (write-back every {DB_UPDATE_PERIOD_S} s, "
                     "db_update_period)")
        return [store,
                "subs_htable_size=16, pres_htable_size=16 (2^16 slots; the default 2^9 is too few)",
                f"children={CHILDREN} UDP workers, all processes on core 0 (taskset), "
                f"-m {self.shm_mb} MB shared, -M 64 MB private memory, debug=1, clean_period=100",
                f"maxbuffer (-b) {RCV_BUF >> 20} MB (the UDP receive buffer ceiling Kamailio "
                "probes up to; the kernel grants net.core.rmem_max), tm fr_timer at its default "
                "30 s, presence timeout_rm_subs=0 (a NOTIFY timing out keeps its watcher)",
                "presence_xml force_active=1; denied pairs refused with 403 by the routing "
                "script from an htable loaded from the database at start",
                "no digest authentication (presenced challenges every request: "
                "this favours Kamailio)"]

    def stop(self):
        stop_group(self.process)
        if self.mode == "durable" and getattr(self, "postgres_file", None):
            subprocess.run([str(POSTGRES_SERVER), "stop", str(self.postgres_file)], check=False)
