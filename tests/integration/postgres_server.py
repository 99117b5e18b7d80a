"""A throwaway PostgreSQL server on 127.0.0.1 (tests/postgres/server), and a database of its
own per test, for running presenced on the shared store (`--postgres`)."""

import itertools
import os
import pathlib
import subprocess
import tempfile

SERVER_SCRIPT = pathlib.Path(__file__).resolve().parent.parent / "postgres" / "server"


class PostgresServer:
    def __init__(self):
        handle, self.conninfo_file = tempfile.mkstemp(prefix="presenced-pg-", suffix=".conninfo")
        os.close(handle)
        os.unlink(self.conninfo_file)
        subprocess.run([str(SERVER_SCRIPT), "start", self.conninfo_file], check=True)
        with open(self.conninfo_file) as f:
            self.admin_conninfo = f.readline().strip()
        self._names = itertools.count(1)

    def psql(self, sql, database="postgres"):
        return subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-c", sql,
             self.admin_conninfo.replace("dbname=postgres", "dbname=" + database)],
            check=True, capture_output=True, text=True).stdout

    def new_database(self):
        """A fresh database; returns its libpq conninfo."""
        name = "presenced_%d_%d" % (os.getpid(), next(self._names))
        self.psql("CREATE DATABASE " + name)
        return self.admin_conninfo.replace("dbname=postgres", "dbname=" + name)

    def stop(self):
        subprocess.run([str(SERVER_SCRIPT), "stop", self.conninfo_file], check=False)
