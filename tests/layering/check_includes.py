#!/usr/bin/env python3
"""Dependencies point inward: each component may include only the components listed for it,
src/core includes no I/O library, and only the two network translation units include Asio or Beast: src/api/server.cpp (HTTP,
WebSocket), src/sip/transport.cpp (SIP over UDP and TCP) and src/xmpp/connection.cpp (the XMPP
component link), the last two Asio without Beast."""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
allowed = {
    "core": {"core"},
    "routing": {"core", "routing"},
    "store": {"core", "store"},
    "cluster": {"core", "store", "cluster"},
    "xml": {"xml"},
    "sip": {"core", "xml", "sip"},
    "xmpp": {"core", "xml", "xmpp"},
    "api": {"core", "routing", "store", "api"},
    "app": {"core", "routing", "store", "api", "sip", "xmpp", "app", "connectors", "cluster"},
    "connectors": {"core", "xml", "connectors"},
}
io_libraries = ("boost/asio", "boost/beast", "sqlite3.h", "spdlog/", "sodium.h")
include = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)
problems = []
for path in sorted((root / "src").rglob("*")):
    if path.suffix not in (".h", ".cpp", ".in"):
        continue
    component = path.relative_to(root / "src").parts[0]
    for name in include.findall(path.read_text()):
        top = name.split("/")[0]
        if top in allowed and top not in allowed.get(component, set()):
            problems.append(f"{path.relative_to(root)}: includes {name} ({component} may not use {top})")
        if component == "core" and name.startswith(io_libraries):
            problems.append(f"{path.relative_to(root)}: core includes the I/O library {name}")
        where = path.relative_to(root).as_posix()
        if name.startswith(("boost/asio", "boost/beast")) and where != "src/api/server.cpp" and not (
                where in ("src/sip/transport.cpp", "src/xmpp/connection.cpp") and name.startswith("boost/asio")):
            problems.append(f"{where}: Asio belongs in src/api/server.cpp, src/sip/transport.cpp and "
                            "src/xmpp/connection.cpp only, Beast in src/api/server.cpp only")
for p in problems:
    print(p)
print(f"{len(problems)} layering problems")
sys.exit(1 if problems else 0)
