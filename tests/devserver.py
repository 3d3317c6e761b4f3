"""A dev-mode process (``make run`` or ``flask --app web dev``) for tests: started in its own
process group, its output in a file, the commands its banner prints, and a clean stop."""
import os
import re
import shlex
import signal
import socket
import subprocess
from pathlib import Path

from tests.services import wait_until


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dev_env(**extra) -> dict:
    """The environment of a newcomer's shell: no deployment settings, unbuffered output."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("BROKER_URL", "DATABASE_URL", "PUBLIC_BASE_URL", "VIRTUAL_ENV")}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


class DevServer:
    def __init__(self, command: list[str], *, cwd: Path, env: dict, output: Path):
        self.output = output
        self._file = open(output, "w")  # noqa: SIM115 (the child writes it until stop())
        self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=self._file,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def text(self) -> str:
        return self.output.read_text()

    def wait_for(self, fragment: str, *, timeout: float = 120.0) -> str:
        def seen():
            if self.process.poll() is not None and fragment not in self.text():
                raise AssertionError(f"dev mode exited {self.process.returncode}:\n{self.text()}")
            return fragment in self.text()
        wait_until(seen, timeout=timeout, interval=0.2, what=repr(fragment))
        return self.text()

    def banner_commands(self) -> list[list[str]]:
        """The indented ``.venv/bin/flask ...`` lines under "In another terminal"."""
        text = self.wait_for("Admin: ")
        block = text.split("In another terminal", 1)[1].split("OpenAPI:", 1)[0]
        return [shlex.split(line) for line in block.splitlines()
                if re.match(r"^\s{4}\.venv/bin/", line)]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
