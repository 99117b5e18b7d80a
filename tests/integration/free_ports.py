"""Ports for the processes a test starts (Kamailio, sipp, Prosody, Radicale...), chosen at random
below the kernel's ephemeral range.

Asking the kernel for a free port (bind to port 0) and handing it to a process that binds it a
moment later is a race: in between, any socket on the machine that binds port 0 or connects out
may get the same port from the ephemeral range, and the load generator of a test running beside
this one opens thousands of such sockets. Below the range the kernel never hands ports out, so
only another test choosing the same random port in the same few milliseconds could take it."""

import random
import socket

_LOWEST = 10000
_random = random.SystemRandom()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port, kinds):
    for kind in kinds:
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_port(udp=False, tcp=True, span=1):
    """A port P on 127.0.0.1 with P .. P+span-1 free for TCP, UDP or both, as asked."""
    kinds = ([socket.SOCK_STREAM] if tcp else []) + ([socket.SOCK_DGRAM] if udp else [])
    high = max(_ephemeral_low(), _LOWEST + 1000) - span
    for _ in range(1000):
        port = _random.randrange(_LOWEST, high)
        if all(_bindable(port + i, kinds) for i in range(span)):
            return port
    raise RuntimeError("no free port below the ephemeral range")


def free_media_port():
    """A UDP port P with P+1 and P+2 free too: sipp binds P and P+2 (audio and video RTP)."""
    return free_port(udp=True, tcp=False, span=3)
