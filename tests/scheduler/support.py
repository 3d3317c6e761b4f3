"""Processes for the scheduler tests: real ``python -m`` children, killed with SIGKILL."""
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class Child:
    """A child process whose JSON log lines are collected as they come."""

    def __init__(self, args, env: dict):
        self.lines: list[dict] = []
        self.process = subprocess.Popen(
            [sys.executable, *args], cwd=REPO, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env})
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stderr:
            try:
                self.lines.append(json.loads(line))
            except ValueError:
                self.lines.append({"message": line.rstrip()})

    def saw(self, fragment: str) -> bool:
        return any(fragment in str(line.get("message", "")) for line in list(self.lines))

    def wait_for(self, fragment: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.saw(fragment):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"never logged {fragment!r}; got {self.lines[-10:]}")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self._reader.join(timeout=5)
        self.process.stderr.close()

