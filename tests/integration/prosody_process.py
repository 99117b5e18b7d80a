"""A real Prosody (Debian's package) in a child process on 127.0.0.1 with free ports and a
temporary config and data directory: VirtualHosts for the "remote" domains whose users are
XMPP clients, and presenced's domain as an XEP-0114 component."""

import os
import socket
import subprocess
import time


from free_ports import free_port


def wait_for_port(port, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("nothing listens on 127.0.0.1:%d" % port)


class Prosody:
    def __init__(self, directory, virtual_hosts, component, secret):
        self.directory = str(directory)
        os.makedirs(os.path.join(self.directory, "data"), exist_ok=True)
        self.c2s_port = free_port()
        self.component_port = free_port()
        self.s2s_port = free_port()
        self.config = os.path.join(self.directory, "prosody.cfg.lua")
        self.log_file = os.path.join(self.directory, "prosody.log")
        hosts = "".join('VirtualHost "%s"\n' % host for host in virtual_hosts)
        with open(self.config, "w") as f:
            f.write(f"""
pidfile = "{self.directory}/prosody.pid"
data_path = "{self.directory}/data"
run_as_root = true
modules_enabled = {{ "roster"; "saslauth"; "disco"; "ping"; "posix" }}
c2s_ports = {{ {self.c2s_port} }}
c2s_interfaces = {{ "127.0.0.1" }}
s2s_ports = {{ {self.s2s_port} }}
s2s_interfaces = {{ "127.0.0.1" }}
component_ports = {{ {self.component_port} }}
component_interfaces = {{ "127.0.0.1" }}
c2s_direct_tls_ports = {{ }}
s2s_direct_tls_ports = {{ }}
legacy_ssl_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
c2s_require_encryption = false
s2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
log = {{ {{ levels = {{ min = "info" }}, to = "file", filename = "{self.log_file}" }} }}
{hosts}
Component "{component}"
  component_secret = "{secret}"
""")
        self.process = None
        self.start()

    def register(self, user, host, password):
        subprocess.run(["prosodyctl", "--config", self.config, "register", user, host, password],
                       check=True, capture_output=True, timeout=30)

    def start(self):
        self.process = subprocess.Popen(["prosody", "--config", self.config, "-F"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.c2s_port)
        wait_for_port(self.component_port)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self):
        with open(self.log_file) as f:
            return f.read()
