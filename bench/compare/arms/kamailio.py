"""Kamailio 5.6 presence (Debian kamailio + kamailio-presence-modules) over SIP/UDP.

memory: subs_db_mode=0 and publ_cache=2 (subscriptions and publications in shared memory only).
durable: subs_db_mode=1 (every subscription written through to the database) and publ_cache=1
(publications in the database; a PUBLISH is answered after its row is written), on db_sqlite.
Both modes read the watchers' authorisation (pres-rules) from the SQLite xcap table.
"""

import os
import socket
import sqlite3
import time
from pathlib import Path
from xml.sax.saxutils import quoteattr

from .base import Arm
from .process import descendants, free_port_both, start_pinned, stop_group

KAMAILIO = "/usr/sbin/kamailio"
MODULES = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")
SCHEMA = Path("/usr/share/kamailio/db_sqlite")
DOMAIN = "compare.test"
CHILDREN = 4
PRES_RULES = 1  # doc_type of a pres-rules document in the xcap table

RULES = """<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:pr="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">
{denied}<cr:rule id="everybody"><cr:conditions><cr:identity><cr:many/></cr:identity></cr:conditions><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></cr:rule>
</cr:ruleset>
"""
DENIED = ('<cr:rule id="denied"><cr:conditions><cr:identity>{ones}</cr:identity></cr:conditions>'
          '<cr:actions><pr:sub-handling>block</pr:sub-handling></cr:actions></cr:rule>\n')


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
        """The presence tables, and one pres-rules document per user: its denied watchers
        blocked by a first rule, everybody else allowed by the second (first match wins)."""
        self.database = Path(self.workdir) / "kamailio.sqlite"
        if self.database.exists():
            self.database.unlink()
        denied = {}
        for watcher, presentity in dataset["denied"]:
            denied.setdefault(presentity, []).append(watcher)
        with sqlite3.connect(self.database) as db:
            db.executescript((SCHEMA / "standard-create.sql").read_text())
            db.executescript((SCHEMA / "presence-create.sql").read_text())
            rows = []
            for user in dataset["users"]:
                ones = "".join(f"<cr:one id={quoteattr(f'sip:{w}@{DOMAIN}')}/>"
                               for w in denied.get(user, []))
                doc = RULES.format(denied=DENIED.format(ones=ones) if ones else "")
                rows.append((user, DOMAIN, doc.encode(), PRES_RULES, "e" + user, 0,
                             f"sip:{user}@{DOMAIN}/pres-rules", 0))
            db.executemany("INSERT INTO xcap (username, domain, doc, doc_type, etag, source, "
                           "doc_uri, port) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        pairs = dataset["pairs"]
        # Shared memory: about 2 KB per subscription and publication, with room to spare.
        self.shm_mb = max(256, pairs * 4 // 1024 + 128)

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
                   "-A", f"CHILDREN={CHILDREN}"]
        self.process = start_pinned(command, Path(self.workdir) / "kamailio.log")
        self._wait_options()

    def _wait_options(self, timeout=20):
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            probe.settimeout(0.2)
            local = probe.getsockname()[1]
            while time.monotonic() < deadline and self.process.poll() is None:
                options = (f"OPTIONS sip:127.0.0.1:{self.port} SIP/2.0\r\n"
                           f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK-{time.time()}\r\n"
                           "From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"
                           f"Call-ID: ready-{time.time()}\r\nCSeq: 1 OPTIONS\r\n"
                           "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
                probe.sendto(options.encode(), ("127.0.0.1", self.port))
                try:
                    if probe.recv(4096).startswith(b"SIP/2.0 200"):
                        return
                except socket.timeout:
                    continue
        log = (Path(self.workdir) / "kamailio.log").read_text(errors="replace")[-3000:]
        self.stop()
        raise RuntimeError("Kamailio did not start:\n" + log)

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
                f"children={CHILDREN} UDP workers, all processes on core 0 (taskset), "
                f"-m {self.shm_mb} MB shared, -M 64 MB private memory, debug=1, clean_period=100",
                "presence_xml force_active=0, integrated_xcap_server=1: each presentity's "
                "pres-rules in the xcap table, denied watchers blocked by a first rule "
                "(their subscription is terminated, reason rejected)",
                "no digest authentication (presenced challenges every request: "
                "this favours Kamailio)"]

    def stop(self):
        stop_group(self.process)
