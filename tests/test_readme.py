"""README's commands, run in order from a fresh clone, as a newcomer would type them.

The clone is of HEAD (what a newcomer gets). Its ``.venv`` is a symlink to this checkout's:
a real ``make install`` takes minutes of pip and network, and ``.ci/run`` already builds a
fresh venv from scratch on every CI run before ``make test``. So that make never reinstalls
into the shared venv, the clone's setup.cfg and pyproject.toml are dated back, and PYTHON is
a command that fails, should make try anyway.

Port 5000 is held by a listener of the test, as on a machine where something else has it:
``make run`` says so in one line, and ``make run PORT=<free port>`` (the README's 5050,
replaced) serves. The banner's commands then run as printed. Commands that are not run here,
and why:

- ``make test``, ``.venv/bin/pytest tests/k8s``: the suite this test is part of (make -n /
  --collect-only check that they would run);
- ``make up`` and its exports: a deployment with fixed database and vhost names, run by hand;
  its recipe is checked with make -n;
- benchmarks (``.venv/bin/python bench/...``): minutes each, ``make bench``'s business
  (tests/bench smoke-tests them); their ``--help`` is run;
- synopsis lines (``[--option ...]``): placeholders, not commands; their ``--help`` is run.
"""
import errno
import os
import re
import shlex
import socket
import subprocess
from pathlib import Path

import pytest

from tests.devserver import DevServer, dev_env, free_port

ROOT = Path(__file__).resolve().parent.parent
README_PORT = "5050"
NOT_RUN = ("make test", "make up", "createdb ", "export ")


def readme_commands(text: str) -> list[str]:
    """Every line of every ```sh block, comments dropped, in order."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL):
        for line in block.splitlines():
            line = line.split("  #", 1)[0].strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


@pytest.fixture
def clone(tmp_path):
    where = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(where)], check=True, timeout=120)
    for name in ("setup.cfg", "pyproject.toml"):
        os.utime(where / name, (0, 0))
    (where / ".venv").symlink_to(ROOT / ".venv")
    return where


@pytest.fixture
def port_5000_taken():
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 5000))
        holder.listen()
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        # Something else has it already: the situation this test is about.
    yield
    holder.close()


def run(command, *, cwd, env, stdin=None, timeout=180):
    argv = shlex.split(command) if isinstance(command, str) else command
    done = subprocess.run(argv, cwd=cwd, env=env, input=stdin, capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert done.returncode == 0, f"{command!r} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_readme_commands_work_as_printed_from_a_fresh_clone(clone, tmp_path, port_5000_taken):
    env = dev_env(PYTHON="false")
    commands = readme_commands((clone / "README.md").read_text())
    assert commands[0] == f"make run PORT={README_PORT}", "README starts with make run PORT=..."

    taken = subprocess.run(["make", "run"], cwd=clone, env=env, capture_output=True,
                           text=True, timeout=120, check=False)
    assert taken.returncode != 0
    assert "Error: port 5000 is taken by another program" in taken.stderr

    port = str(free_port())
    serve = commands[0].replace(README_PORT, port)
    with DevServer(shlex.split(serve), cwd=clone, env=env, output=tmp_path / "run.out") as dev:
        banner = dev.banner_commands()
        assert f"--url http://127.0.0.1:{port}" in " ".join(banner[0])
        for command in banner:
            run(command, cwd=clone, env=env)
        dev.wait_for("appointment is now")
        for command in commands[1:]:
            command = command.replace(README_PORT, port)
            if command.startswith(NOT_RUN) or shlex.split(command) in banner:
                continue  # not run (see above), or run already as the banner printed it
            if "[" in command:  # a synopsis: the command exists and explains itself
                run(command.split("[", 1)[0] + " --help", cwd=clone, env=env)
            elif command.startswith(".venv/bin/python bench/"):
                run(command.split(" --", 1)[0] + " --help", cwd=clone, env=env)
            elif command.startswith(".venv/bin/pytest"):
                run(command + " --collect-only -q", cwd=clone, env=env)
            elif " users create " in command:
                run(command, cwd=clone, env=env, stdin="a-long-demo-password\n" * 2)
            else:
                run(command, cwd=clone, env=env)
    assert dev.process.returncode is not None
    for target in ("test", "up"):
        run(["make", "-n", target], cwd=clone, env=env)
    assert not (clone / "instance" / "pgdata" / "postmaster.pid").exists(), (
        "the embedded PostgreSQL outlived the last process using it")
