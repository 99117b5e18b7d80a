"""Prosody 0.12 (Debian prosody) over XMPP c2s, driven by compare-xmpp.

One Lua process by design (Prosody is single-threaded), pinned to core 0. The data set's
watches become roster items provisioned before start by a small module of ours
(mod_compare_provision, written into the work directory) that fills the accounts and roster
stores from a flat file: the login storm then only logs in, it does not negotiate subscriptions.

memory: storage = "memory" (mod_storage_memory, Prosody's own in-RAM store: accounts, rosters and
everything else live only in the process).
durable: storage = "internal" (one file per user and store under data_path, Prosody's default).
Presence itself is never stored by Prosody in either mode; only roster changes would be written.
"""

import os
import shutil
from pathlib import Path

from ._peer import PeerArm
from .process import free_port, start_pinned, wait_tcp

PROSODY = "/usr/bin/prosody"
DOMAIN = "compare.test"

PROVISION_MODULE = """-- Fills the accounts and roster stores from the side-by-side data set as the host loads,
-- before any client connects. Lines: "A user password" and "R owner contact subscription [ask]".
local path = module:get_option_string("compare_provision_file");
local accounts = module:open_store("accounts");
local rosters = module:open_store("roster");
local owner, roster;
local function save()
\tif owner then rosters:set(owner, roster); end
end
for line in io.lines(path) do
\tlocal kind, a, b, c, d = line:match("^(%u) (%S+) (%S+) ?(%S*) ?(%S*)$");
\tif kind == "A" then
\t\taccounts:set(a, { password = b });
\telseif kind == "R" then
\t\tif a ~= owner then
\t\t\tsave();
\t\t\towner, roster = a, { [false] = { version = 1, pending = {} } };
\t\tend
\t\tlocal item = { subscription = c, groups = {} };
\t\tif d == "subscribe" then item.ask = "subscribe"; end
\t\troster[b .. "@" .. module.host] = item;
\tend
end
save();
module:log("info", "provisioned from %s", path);
"""

# Every tuning line, with its reason (https://prosody.im/doc/configure, /doc/modules, /doc/limits,
# /doc/network_backend, /doc/logging, /doc/storage).
SETTINGS = [
    "prosody 0.12 (Debian), one process (single-threaded Lua), taskset -c 0",
    'network_backend = "epoll" (the 0.12 default, named so the run does not depend on it)',
    "network_settings.tcp_backlog = 4096 (default 128): a login storm overflows 128 pending "
    "connections while the one Lua thread is busy, and the kernel resets them",
    'modules_enabled: roster, saslauth, presence via the core, disco; no "limits": the stock '
    'limits.c2s.rate of 10kb/s would measure the shaper (doc/limits)',
    "no mod_tls, c2s_require_encryption = false, allow_unencrypted_plain_auth = true: no TLS in "
    "the main table",
    'authentication = "internal_plain": SASL PLAIN against the stored password, no SCRAM '
    "hashing per login",
    "no offline, carbons, csi, smacks, mam, pep: presence fan-out only",
    'log at "warn" to a file (doc/logging: debug logging costs a lot per stanza)',
    "c2s_stanza_size_limit and c2s_timeout left at their defaults",
    "file descriptors: the hard limit (ulimit -n) for the process",
    'gc: Lua 5.4 incremental collector, Prosody\'s default ("incremental", doc/gc)',
]


def roster_items(dataset):
    """owner -> {contact: (subscription, ask)}: the XMPP rosters that say what the data set
    says. A watch w -> p not denied: w has p "to", p has w "from" ("both" when mutual). A denied
    pair: w has p with subscription "none" and a pending ask, p approves nothing."""
    denied = {(w, p) for w, p in dataset["denied"]}
    rosters = {name: {} for name in dataset["users"] + dataset["consoles"]}

    def add(owner, contact, direction):
        current = rosters[owner].get(contact, ("none", ""))[0]
        both = {"to", "from"} == {current, direction} or current == "both"
        rosters[owner][contact] = ("both" if both else direction, "")

    for watcher, watched in dataset["watches"].items():
        for presentity in watched:
            if (watcher, presentity) in denied:
                if presentity not in rosters[watcher]:
                    rosters[watcher][presentity] = ("none", "subscribe")
                continue
            add(watcher, presentity, "to")
            add(presentity, watcher, "from")
    return rosters


class Prosody(PeerArm):
    name = "prosody"
    protocol = "xmpp"
    generator = "compare-xmpp"
    logs = ("prosody.out", "prosody.log")

    def missing(self):
        if not os.access(PROSODY, os.X_OK):
            return "prosody is not installed (Debian package prosody)"
        return None

    def prepare(self, dataset):
        work = Path(self.workdir)
        data = work / "data"
        if data.exists():
            shutil.rmtree(data)
        data.mkdir(parents=True)
        plugins = work / "plugins"
        plugins.mkdir(exist_ok=True)
        (plugins / "mod_compare_provision.lua").write_text(PROVISION_MODULE)
        provision = work / "provision.txt"
        with open(provision, "w") as out:
            for name in dataset["users"] + dataset["consoles"]:
                out.write(f"A {name} {dataset['password']}\n")
            for owner, items in roster_items(dataset).items():
                for contact, (subscription, ask) in items.items():
                    out.write(f"R {owner} {contact} {subscription} {ask}".rstrip() + "\n")
        self.port = free_port()
        storage = "memory" if self.mode == "memory" else "internal"
        (work / "prosody.cfg.lua").write_text(f"""
pidfile = "{work}/prosody.pid"
data_path = "{data}"
plugin_paths = {{ "{plugins}" }}
run_as_root = true
daemonize = false
network_backend = "epoll"
network_settings = {{ tcp_backlog = 4096 }}
modules_enabled = {{ "roster"; "saslauth"; "disco"; "posix"; "compare_provision" }}
modules_disabled = {{ "limits"; "offline" }}
compare_provision_file = "{provision}"
storage = "{storage}"
authentication = "internal_plain"
c2s_ports = {{ {self.port} }}
c2s_interfaces = {{ "127.0.0.1" }}
s2s_ports = {{ }}
c2s_direct_tls_ports = {{ }}
s2s_direct_tls_ports = {{ }}
legacy_ssl_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
component_ports = {{ }}
c2s_require_encryption = false
s2s_require_encryption = false
allow_unencrypted_plain_auth = true
log = {{ {{ levels = {{ min = "warn" }}, to = "file", filename = "{work}/prosody.log" }} }}
VirtualHost "{DOMAIN}"
""")

    def start(self):
        work = Path(self.workdir)
        self.process = start_pinned([PROSODY, "--config", str(work / "prosody.cfg.lua"), "-F"],
                                    work / "prosody.out")
        try:
            wait_tcp(self.port, self.process, timeout=300)
        except RuntimeError as e:
            self.stop()
            raise RuntimeError(f"prosody did not start: {e}\n{self.log_tail()}") from e

    def endpoint(self):
        return {**super().endpoint(), "domain": DOMAIN}

    def settings(self):
        storage = ('storage = "memory" (mod_storage_memory: accounts and rosters in RAM)'
                   if self.mode == "memory" else
                   'storage = "internal" (files under data_path, the default backend)')
        return SETTINGS + [storage,
                           "rosters provisioned before start by mod_compare_provision (ours)"]
