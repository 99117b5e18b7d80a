"""A Kamailio for the integration tests: in the foreground, with its own runtime dir, pid file
and log, listening on 127.0.0.1 on a port given to it, ready once it answers an OPTIONS."""

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

KAMAILIO = shutil.which("kamailio") or (
    "/usr/sbin/kamailio" if os.access("/usr/sbin/kamailio", os.X_OK) else None)


def stop_group(process, timeout=5):
    """SIGTERM to the process group started for process, SIGKILL if it lingers."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass


class KamailioProcess:
    """Kamailio running `config` on UDP (and TCP when `tcp`) port `port`, with the -A defines
    given; `shm_mb` of shared memory."""

    def __init__(self, workdir, config, port, defines, tcp=False, shm_mb=32):
        self.port = port
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / "kamailio.log"
        command = [KAMAILIO, "-f", str(config), "-DD", "-E", "-l", "udp:127.0.0.1:%d" % port]
        if tcp:
            command += ["-l", "tcp:127.0.0.1:%d" % port]
        command += ["-Y", str(self.workdir), "-P", str(self.workdir / "kamailio.pid"),
                    "-w", str(self.workdir), "-m", str(shm_mb), "-M", "8"]
        for define in defines:
            command += ["-A", define]
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        self.wait_ready()

    def wait_ready(self, timeout=10):
        """Until Kamailio answers an OPTIONS on its port."""
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            probe.settimeout(0.2)
            local = probe.getsockname()[1]
            while time.monotonic() < deadline and self.process.poll() is None:
                options = ("OPTIONS sip:127.0.0.1:%d SIP/2.0\r\n"
                           "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-ready-%f\r\n"
                           "From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"
                           "Call-ID: ready-%f\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                           "Content-Length: 0\r\n\r\n" % (self.port, local, time.time(),
                                                          time.time()))
                probe.sendto(options.encode(), ("127.0.0.1", self.port))
                try:
                    if probe.recv(4096).startswith(b"SIP/2.0 200"):
                        return
                except socket.timeout:
                    continue
        self.stop()
        raise RuntimeError("Kamailio did not start:\n" + self.log())

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        stop_group(self.process)
