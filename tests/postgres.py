"""A private, throwaway PostgreSQL server for the tests.

The tests start their own server in a temporary folder, on a free loopback
port, with Debian's binaries (``/usr/lib/postgresql/*/bin``), and stop that
server (and only it) afterwards. As root, the server runs as the
``postgres`` user, since PostgreSQL refuses to run as root. When no server
can be started the tests skip with the reason, unless
``TELCOLAB_REQUIRE_POSTGRES=1`` (CI), where that is a failure.
``TELCOLAB_TEST_POSTGRES_URL`` points the tests at an existing server instead.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from glob import glob
from pathlib import Path


class Unavailable(Exception):
    pass


def _bin(name: str) -> str:
    found = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name)]
    if not found or not found[-1]:
        raise Unavailable(f"PostgreSQL's {name} not found (Debian package postgresql)")
    return found[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def private_server():
    """Yield the URL of a fresh PostgreSQL server; stop and delete it afterwards."""
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    run_as: list[str] = []
    user = pwd.getpwuid(os.getuid()).pw_name
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise Unavailable("running as root and there is no 'postgres' user to run the server") from None
        run_as, user = ["runuser", "-u", "postgres", "--"], "postgres"
    folder = Path(tempfile.mkdtemp(prefix="telcolab-pg-"))
    data = folder / "data"
    if run_as:
        shutil.chown(folder, "postgres")
    port = _free_port()
    started = False
    try:
        subprocess.run([*run_as, initdb, "-D", str(data), "-U", user, "-A", "trust", "--no-sync", "-E", "UTF8"],
                       check=True, capture_output=True, timeout=120)  # fmt: skip
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off"
        subprocess.run([*run_as, pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"],
                       check=True, capture_output=True, timeout=120)  # fmt: skip
        started = True
        yield f"postgresql+psycopg://{user}@127.0.0.1:{port}/postgres"
    except subprocess.CalledProcessError as exc:
        raise Unavailable(f"could not start PostgreSQL: {exc.stderr.decode(errors='replace').strip()[-300:]}") from None
    finally:
        if started:
            subprocess.run([*run_as, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)
