"""Serving the TMF APIs and the dashboard while a scenario runs, and after it ends.

The API server (uvicorn) runs in a thread beside the run; a re-entrant lock
held by every bus message and every API request keeps a reader from seeing
half an update. Simulated time runs paced (``pace`` real seconds per
simulated hour), so the dashboard can be watched.
"""

from __future__ import annotations

import threading
import time

import uvicorn

from oss_bss.api.access import AccessKeys
from oss_bss.api.app import create_app
from oss_bss.errors import BackendUnavailable


class ApiServer:
    """uvicorn on loopback in a thread, for one operator."""

    def __init__(self, operator, keys: AccessKeys, lock, port: int, host: str = "127.0.0.1", read_only: bool = False):
        self.app = create_app(operator, keys, lock=lock, read_only=read_only)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host=host, port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, name="telcolab-api", daemon=True)
        self.url = f"http://{host}:{port}"

    def start(self, timeout: float = 10.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise BackendUnavailable(f"the API server did not start on {self.url} (is the port in use?)")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.app.state.notifier.close()
