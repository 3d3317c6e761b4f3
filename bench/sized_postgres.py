"""A throw-away PostgreSQL server sized as a production one is, for the planning benchmark.

The machine's server runs its package's defaults, sized for a small machine
(``shared_buffers`` 128 MB, ``max_wal_size`` 1 GB). Planning a million reminders on it, the
backends write about 2 GB of evicted pages themselves and the server checkpoints in the
middle of the plan; that is the server's sizing, not the plan's work. A production
server is sized by PostgreSQL's own guidance (``shared_buffers`` about a quarter of memory,
room for a busy hour's WAL between checkpoints), so the planning benchmark runs on both:
the machine's server as it is, and this one.

``server()`` creates a cluster in a temporary directory with ``initdb`` (as the
``postgres`` user when run as root: the server refuses to run as root), starts it on a
free port of 127.0.0.1 with ``SETTINGS``, yields its admin URL, then stops it and removes
the directory, also when the run is stopped. Nothing of the machine's server is touched.
"""
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager

import psutil


def settings() -> dict:
    """What a production server of this machine's memory would set; the rest as shipped."""
    quarter_mib = psutil.virtual_memory().total // 4 // 2**20
    return {
        "shared_buffers": f"{min(quarter_mib, 8192)}MB",
        # A plan writes ~0.7 GB of WAL: no checkpoint (and its full-page writes) in between.
        "max_wal_size": "8GB",
        "checkpoint_timeout": "15min",
        # Past the automatic 16 MB a writing backend waited for WAL buffers to be flushed.
        "wal_buffers": "64MB",
    }


def _binaries() -> str:
    """The directory of the newest installed server's initdb and pg_ctl."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda path: int(path.split("/")[4]))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("no PostgreSQL server binaries (initdb) on this machine")
    return os.path.dirname(initdb)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_server_user(*command: str) -> None:
    if os.geteuid() == 0:
        command = ("runuser", "-u", "postgres", "--", *command)
    subprocess.run(command, check=True, capture_output=True, timeout=120)


@contextmanager
def server():
    """A running sized server; its admin URL (``postgresql://postgres@127.0.0.1:PORT/postgres``)."""
    bindir = _binaries()
    home = tempfile.mkdtemp(prefix="pn_bench_pg_")
    data = os.path.join(home, "data")
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
    port = _free_port()
    options = " ".join(f"-c {name}={value}" for name, value in {
        **settings(), "port": port, "listen_addresses": "127.0.0.1",
        "unix_socket_directories": home}.items())
    try:
        _as_server_user(f"{bindir}/initdb", "-D", data, "-U", "postgres", "-A", "trust",
                        "--locale=C.UTF-8", "-E", "UTF8")
        _as_server_user(f"{bindir}/pg_ctl", "-D", data, "-w", "-o", options,
                        "-l", os.path.join(home, "log"), "start")
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            _as_server_user(f"{bindir}/pg_ctl", "-D", data, "-w", "-m", "fast", "stop")
    finally:
        shutil.rmtree(home, ignore_errors=True)
