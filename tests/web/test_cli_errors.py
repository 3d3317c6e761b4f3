"""Every ``flask --app web …`` command, run as ops run it (a real process): a refused setting
is one line and exit 2; PostgreSQL or RabbitMQ down is one line and exit 1; never a
traceback."""
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click
from flask.cli import cli as flask_cli

FLASK = str(Path(sys.executable).parent / "flask")
ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {"WEBHOOK_SECRET": "whsec_bm90LXRoZS1kZXYtc2VjcmV0LW5vdC10aGUtZGV2",
              "SECRET_KEY": "cli-test-secret-key", "SECURITY_PASSWORD_SALT": "cli-test-salt"}
DOWN_POSTGRES = "postgresql://postgres@127.0.0.1:1/nowhere"
DOWN_RABBITMQ = "amqp://guest:guest@127.0.0.1:1/%2F"

#: Each command with the arguments it needs; a command missing here fails the first test.
ARGS = {
    "limiter clear": ["--key", "some-key", "-y"], "limiter config": [], "limiter limits": [], "routes": [],
    "run": [], "shell": [], "dev": [], "db branches": [], "db check": [], "db current": [],
    "db downgrade": [], "db edit": [], "db heads": [], "db history": [], "db init": [],
    "db list-templates": [], "db merge": [], "db migrate": [], "db revision": [],
    "db show": [], "db stamp": ["head"], "db upgrade": [], "dead-letters list": [],
    "dead-letters replay": [], "etl pull": [], "etl status": [],
    "events send-sample": ["--url", "http://127.0.0.1:1"], "openapi list-config-prefixes": [],
    "openapi print": [], "openapi write": ["/tmp/pn-openapi-cli-test.json"],
    "reminders plan": [], "reminders status": [], "report call-list": ["--date", "2026-12-01"],
    "report delivery": ["--from", "2026-12-01", "--to", "2026-12-02"],
    "report rebuild": ["--from", "2026-12-01", "--to", "2026-12-02"],
    "users create": ["new@clinic.example", "--role", "staff", "--password",
                     "correct-horse-battery-staple"],
    "users unlock": ["someone@clinic.example"],
    "pause": ["--reason", "cli test", "--by", "ops"], "resume": ["--by", "ops"], "pauses": [],
    "outbox list": [], "outbox retry": [],
    "rotate reset-password": ["someone@clinic.example", "--password",
                              "correct-horse-battery-staple", "--by", "ops"],
    "rotate totp-rekey": ["--by", "ops"],
    "broadcast create": ["--location", "L-1", "--date", "2026-12-01", "--template", "closure",
                         "--dry-run"],
}
#: Interactive, long-running, or writing files into the repository once connected: these
#: are run with a refused setting (they stop before starting) but not against dead services.
NOT_RUN_AGAINST_DEAD_SERVICES = {"run", "shell", "dev", "db edit", "db init", "db merge",
                                 "db migrate", "db revision"}


def _leaves(group: click.Group, prefix=()):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _leaves(command, (*prefix, name))
        else:
            yield " ".join((*prefix, name))


def _run(command: str, **env) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("FLASK_", "BROKER_", "DATABASE_"))}
    environment.update(PRODUCTION, **env)
    return subprocess.run([FLASK, "--app", "web", *command.split(), *ARGS[command]],
                          env=environment, cwd=ROOT, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL, check=False)


def _lines(result) -> list[str]:
    """The error a person reads: stderr without the JSON log lines (stdout may hold a
    command's header printed before it failed)."""
    return [line for line in result.stderr.splitlines()
            if line.strip() and not line.startswith('{"time"')]


def _all(commands, **env) -> dict:
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(commands, pool.map(lambda c: _run(c, **env), commands), strict=True))


def test_every_command_is_covered(app):
    flask_cli._load_plugin_commands()
    assert set(_leaves(flask_cli)) | set(_leaves(app.cli)) == set(ARGS)


def test_a_refused_setting_is_one_line_and_exit_2_for_every_command():
    results = _all(sorted(ARGS), LOG_LEVEL="LOUD", DATABASE_URL=DOWN_POSTGRES)
    wrong = {command: (result.returncode, _lines(result)) for command, result in results.items()
             if result.returncode != 2 or len(_lines(result)) != 1
             or "LOG_LEVEL" not in _lines(result)[0]}
    assert wrong == {}


def test_a_service_down_is_one_line_and_exit_1_for_every_command():
    commands = sorted(set(ARGS) - NOT_RUN_AGAINST_DEAD_SERVICES)
    results = _all(commands, DATABASE_URL=DOWN_POSTGRES, BROKER_URL=DOWN_RABBITMQ)
    tracebacks = {c: r.stderr[-400:] for c, r in results.items()
                  if "Traceback" in r.stderr + r.stdout}
    assert tracebacks == {}
    failed = {c: r for c, r in results.items() if r.returncode != 0}
    assert failed, "no command needed a service?"
    wrong = {c: (r.returncode, _lines(r)) for c, r in failed.items()
             if r.returncode not in (1, 2) or len(_lines(r)) != 1}
    assert wrong == {}, "\n".join(f"{c}: {v}" for c, v in wrong.items())
    down = {c: r for c, r in failed.items() if r.returncode == 1}
    assert all("unreachable" in _lines(r)[0] or "nothing answers" in _lines(r)[0]
               for r in down.values()), {c: _lines(r) for c, r in down.items()}


def test_rabbitmq_down_is_one_line_and_exit_1(database_url):
    results = _all(["dead-letters list", "dead-letters replay"], DATABASE_URL=database_url,
                   BROKER_URL=DOWN_RABBITMQ)
    for result in results.values():
        assert result.returncode == 1 and "Traceback" not in result.stderr
        (line,) = _lines(result)
        assert "RabbitMQ at 127.0.0.1:1 is unreachable" in line


def test_an_unmigrated_database_is_one_line_and_exit_2(database_admin_app):
    url = database_admin_app.config["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    result = _run("etl status", DATABASE_URL=url)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = _lines(result)
    assert "db upgrade" in line
