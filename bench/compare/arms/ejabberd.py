"""ejabberd 23.01 (Debian ejabberd) over XMPP c2s, driven by compare-xmpp.

Started as our own Erlang node in the work directory (not the Debian service): its own config,
Mnesia directory and log, a free loopback port, no epmd (distribution on a fixed port of ours,
used only to provision). The BEAM runs with one scheduler, pinned to core 0.

memory: Mnesia, the passwd and roster tables turned into ram_copies after start (internal
authentication, plain passwords); accounts and rosters are written straight into those tables.
durable: SQL on SQLite (erlang-p1-sqlite3): authentication and rosters in the database, the
tables created from ejabberd's lite.sql and filled before start.
"""

import base64
import os
import secrets
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

from ._peer import PeerArm
from .process import free_port, start_pinned, wait_tcp
from .prosody import roster_items

ERL = "/usr/bin/erl"
EJABBERD_LIBS = "/usr/lib/x86_64-linux-gnu"
EJABBERD_EBIN = Path(EJABBERD_LIBS) / "ejabberd-23.01-1" / "ebin"
SCHEMA = Path("/usr/share/ejabberd/sql/lite.sql")
DOMAIN = "compare.test"

SUBSCRIPTION_LETTER = {"both": "B", "to": "T", "from": "F", "none": "N"}

# Each line with its reason (https://docs.ejabberd.im/admin/configuration/, .../basic/#shapers,
# .../listen-options/, .../database/, erl(1) and Erlang's "+sbwt" notes).
SETTINGS = [
    "ejabberd 23.01 (Debian), its own node in the work directory, taskset -c 0",
    "BEAM: +S 1:1 (one scheduler: the core it has), +K true (kernel poll), +P 1000000 "
    "processes, ERL_MAX_PORTS 1000000 (one port per connection)",
    "BEAM: +sbwt none +sbwtdcpu none +sbwtdio none: schedulers do not spin waiting for work, "
    "so idle spinning is not counted as ejabberd's CPU",
    "c2s listener: shaper none (the example config gives c2s_shaper 'normal', 1,000 B/s), no "
    "max_fsm_queue (the example's 10,000 would drop a slow watcher's queue), no TLS, "
    "starttls off",
    "c2s listener: backlog 4096 (default 5): a login storm must not overflow the accept queue",
    "auth_password_format plain: SASL PLAIN checks the stored password, no SCRAM per login",
    "cache_size 1,000,000 (default 1,000): the docs ask to raise it when the log says "
    "'Shrinking cache' (rosters and users evicted and reread at every login otherwise)",
    "modules: mod_roster (versioning off) and mod_disco only: presence fan-out, nothing else",
    "loglevel warning",
]


def external_term(term):
    """Erlang's external term format (erlang.org/doc/apps/erts/erl_ext_dist) of the shapes the
    provisioning writes: str is an atom, bytes a binary, tuple and list themselves. The node
    decodes it with binary_to_term; parsing the same records as text with file:consult made
    the M set-up 91 s instead of 20."""
    out = bytearray(b"\x83")

    def put(value):
        if isinstance(value, str):
            name = value.encode()
            out.extend(bytes([119, len(name)]) + name)            # SMALL_ATOM_UTF8_EXT
        elif isinstance(value, bytes):
            out.extend(b"m" + len(value).to_bytes(4, "big") + value)  # BINARY_EXT
        elif isinstance(value, tuple):
            out.extend(bytes([104, len(value)]))                   # SMALL_TUPLE_EXT
            for element in value:
                put(element)
        elif isinstance(value, list):
            if value:
                out.extend(b"l" + len(value).to_bytes(4, "big"))  # LIST_EXT
                for element in value:
                    put(element)
            out.append(106)                                        # NIL_EXT
        else:
            raise TypeError(f"no external term format for {type(value).__name__}")

    put(term)
    return bytes(out)


class Ejabberd(PeerArm):
    name = "ejabberd"
    protocol = "xmpp"
    generator = "compare-xmpp"
    logs = ("ejabberd.out", "ejabberd.log")

    def __init__(self, mode, workdir, repo, build):
        super().__init__(mode, workdir, repo, build)
        self.dist_port = None
        self.cookie = secrets.token_hex(16)
        self.node = "compare@localhost"

    def missing(self):
        if not (EJABBERD_EBIN / "ejabberd.app").exists():
            return "ejabberd is not installed (Debian package ejabberd)"
        if self.mode == "durable" and not any(Path("/usr/lib/erlang/lib").glob("p1_sqlite3-*")):
            return "erlang-p1-sqlite3 is not installed (ejabberd's SQLite driver)"
        return None

    def prepare(self, dataset):
        work = Path(self.workdir)
        self.port = free_port()
        self.dist_port = free_port()
        while self.dist_port == self.port:
            self.dist_port = free_port()
        rosters = roster_items(dataset)
        accounts = dataset["users"] + dataset["consoles"]
        if self.mode == "memory":
            storage = "auth_method: internal\ndefault_db: mnesia\n"
            domain = DOMAIN.encode()
            password = dataset["password"].encode()
            records = [("passwd", (name.encode(), domain), password) for name in accounts]
            for owner, items in rosters.items():
                user = owner.encode()
                for contact, (subscription, ask) in items.items():
                    jid = (contact.encode(), domain, b"")
                    # mod_roster's #roster{usj, us, jid, name, subscription, ask, groups,
                    # askmessage, xs}
                    records.append(("roster", (user, domain, jid), (user, domain), jid, b"",
                                    subscription, "out" if ask else "none", [], b"", []))
            (work / "provision.etf").write_bytes(external_term(records))
        else:
            database = work / "ejabberd.sqlite"
            if database.exists():
                database.unlink()
            with sqlite3.connect(database) as db:
                db.executescript(SCHEMA.read_text())
                db.executemany("INSERT INTO users (username, password) VALUES (?, ?)",
                               [(name, dataset["password"]) for name in accounts])
                db.executemany(
                    "INSERT INTO rosterusers (username, jid, nick, subscription, ask, askmessage, "
                    "server, subscribe, type) VALUES (?, ?, '', ?, ?, '', 'N', '', 'item')",
                    [(owner, f"{contact}@{DOMAIN}", SUBSCRIPTION_LETTER[subscription],
                      "O" if ask else "N")
                     for owner, items in rosters.items()
                     for contact, (subscription, ask) in items.items()])
            storage = (f'auth_method: sql\ndefault_db: sql\nsql_type: sqlite\n'
                       f'sql_database: "{database}"\n')
        (work / "ejabberd.yml").write_text(f"""hosts:
  - "{DOMAIN}"
loglevel: warning
log_rotate_count: 0
{storage}auth_password_format: plain
cache_size: 1000000
acl: {{}}
access_rules:
  c2s:
    allow: all
listen:
  -
    port: {self.port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    shaper: none
    access: c2s
    starttls: false
    backlog: 4096
    max_stanza_size: 262144
modules:
  mod_roster:
    versioning: false
  mod_disco: {{}}
""")

    def _erl(self, *args, client=False):
        command = [ERL, "-sname", f"provision{os.getpid()}@localhost" if client else self.node,
                   "-setcookie", self.cookie, "-start_epmd", "false",
                   "-erl_epmd_port", str(self.dist_port),
                   "-kernel", "inet_dist_use_interface", "{127,0,0,1}", "-noshell", "-noinput"]
        if client:
            command += ["-dist_listen", "false", "-hidden"]
        return command + list(args)

    def _env(self):
        work = Path(self.workdir)
        return dict(os.environ, HOME=str(work), ERL_LIBS=EJABBERD_LIBS,
                    EJABBERD_CONFIG_PATH=str(work / "ejabberd.yml"),
                    EJABBERD_LOG_PATH=str(work / "ejabberd.log"),
                    ERL_CRASH_DUMP=str(work / "erl_crash.dump"), ERL_MAX_PORTS="1000000",
                    ERL_MAX_ETS_TABLES="100000")

    def start(self):
        work = Path(self.workdir)
        mnesia = work / "mnesia"
        mnesia.mkdir(exist_ok=True)
        for attempt in range(3):
            command = self._erl("+S", "1:1", "+K", "true", "+P", "1000000",
                                "+sbwt", "none", "+sbwtdcpu", "none", "+sbwtdio", "none",
                                "-mnesia", "dir", f'"{mnesia}"', "-s", "ejabberd")
            self.process = start_pinned(command, work / "ejabberd.out", env=self._env())
            try:
                wait_tcp(self.port, self.process, timeout=120)
                return
            except RuntimeError as e:
                self.stop()
                if "eaddrinuse" in self.log_tail() and attempt < 2:
                    # The distribution port was taken between choosing and binding it.
                    self.dist_port = free_port()
                    continue
                raise RuntimeError(f"ejabberd did not start: {e}\n{self.log_tail()}") from e

    def _wait_login(self, user, password, timeout=120):
        """Returns once a SASL PLAIN login succeeds: the c2s port listens before the SQL pool
        is up, and a login that early crashes its session."""
        credentials = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                    sock.sendall(f"<?xml version='1.0'?><stream:stream to='{DOMAIN}' "
                                 "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/"
                                 "streams' version='1.0'>".encode())
                    received = b""
                    while b"</stream:features>" not in received:
                        received += sock.recv(4096) or b"</stream:features>"
                    sock.sendall(("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                                  f"mechanism='PLAIN'>{credentials}</auth>").encode())
                    answer = b""
                    while b"success" not in answer and b"failure" not in answer:
                        chunk = sock.recv(4096)
                        if not chunk:
                            break
                        answer += chunk
                    if b"success" in answer:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"ejabberd accepts no login after {timeout} s\n{self.log_tail()}")

    def provision(self, dataset):
        """Memory mode: passwd and roster as ram_copies, filled from provision.etf. Both:
        returns once a user can log in."""
        if self.mode == "memory":
            self._fill_mnesia()
        self._wait_login(dataset["users"][0], dataset["password"])

    def _fill_mnesia(self):
        terms = Path(self.workdir) / "provision.etf"
        script = f"""
Node = '{self.node}',
Call = fun(M, F, A) ->
    case rpc:call(Node, M, F, A, 600000) of
        {{badrpc, Why}} -> io:format(standard_error, "~p:~p: ~p~n", [M, F, Why]), halt(1);
        Result -> Result
    end
end,
lists:foreach(fun(Table) ->
    case Call(mnesia, change_table_copy_type, [Table, Node, ram_copies]) of
        {{atomic, ok}} -> ok;
        {{aborted, {{already_exists, _, _, _}}}} -> ok;
        Other -> io:format(standard_error, "~p: ~p~n", [Table, Other]), halt(1)
    end
end, [passwd, roster]),
%% The node reads the file itself: nothing large crosses the distribution link.
ok = Call(erlang, apply, [fun() ->
    {{ok, Binary}} = file:read_file("{terms}"),
    Records = binary_to_term(Binary),
    lists:foreach(fun mnesia:dirty_write/1, Records)
end, []]),
halt(0).
"""
        result = subprocess.run(self._erl("-eval", script, client=True), env=self._env(),
                                capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            raise RuntimeError(f"ejabberd provisioning failed: {result.stderr[-2000:]}"
                               f"{result.stdout[-2000:]}")

    def endpoint(self):
        return {**super().endpoint(), "domain": DOMAIN}

    def settings(self):
        if self.mode == "memory":
            mode = ["Mnesia: passwd and roster changed to ram_copies after start (internal "
                    "auth); filled by the node itself from a file of external terms with "
                    "mnesia:dirty_write"]
        else:
            mode = ["SQL on SQLite (sql_type sqlite, default_db sql, auth_method sql): tables "
                    "from ejabberd's lite.sql, users and rosterusers filled before start"]
        return SETTINGS + mode
