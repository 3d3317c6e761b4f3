"""The worker model, threads or gevent (WORKER_MODEL): how a worker waits on its providers.

``python -m web.worker_model web.worker --queues sms ...`` is the Procfile's worker command:
it reads WORKER_MODEL (web/config.py) and replaces itself (exec, same process id, so
SIGTERM from tini or honcho reaches Dramatiq itself) with

* ``threads``: ``python -m dramatiq ...``, one OS thread per ``--threads``;
* ``gevent``: Dramatiq's own ``dramatiq-gevent ...``, which monkey-patches the standard
  library before it imports anything else, so ``--threads`` are greenlets and hundreds of
  sends can wait on a slow provider at once.

Exec rather than patching here: this module is imported through the ``web`` package, which
has already imported Flask, SQLAlchemy and pika, and gevent must patch before those load.

Inside the worker process, ``web.worker`` calls ``make_database_driver_cooperative`` before
the app builds its engine: psycopg2 is a C extension that gevent cannot patch, so without
psycogreen's wait callback every query would block every greenlet of the process.
"""
import logging
import os
import shutil
import sys

from web.config import ConfigError, settings_from_env

log = logging.getLogger(__name__)

#: Exit code of a refused setting, as for every command (web/cli_errors.py).
CONFIGURATION = 2


def launcher(model: str) -> list[str]:
    """The command that starts Dramatiq in ``model``, before Dramatiq's own arguments."""
    if model == "threads":
        return [sys.executable, "-m", "dramatiq"]
    # dramatiq installs dramatiq-gevent beside the interpreter (the venv's bin/).
    here = os.path.dirname(sys.executable)
    script = shutil.which("dramatiq-gevent", path=here) or shutil.which("dramatiq-gevent")
    if script is None:
        raise ConfigError("WORKER_MODEL: gevent needs dramatiq-gevent (pip install gevent "
                          "psycogreen); it is not installed")
    return [sys.executable, script]


def gevent_patched() -> bool:
    """Whether this process runs under gevent's monkey patching (dramatiq-gevent's)."""
    monkey = sys.modules.get("gevent.monkey")  # never imports gevent in a threads worker
    return monkey is not None and monkey.is_module_patched("socket")


def make_database_driver_cooperative() -> str:
    """Under gevent, make psycopg2 yield to other greenlets while PostgreSQL answers.

    Must run before the first connection: psycogreen's wait callback applies to
    connections made after it is set. Returns the process's model, as it really runs."""
    if not gevent_patched():
        return "threads"
    from psycogreen.gevent import patch_psycopg
    patch_psycopg()
    return "gevent"


def database_driver() -> str:
    """``cooperative`` when psycopg2 waits through a callback (psycogreen), else ``blocking``."""
    import psycopg2.extensions
    return "blocking" if psycopg2.extensions.get_wait_callback() is None else "cooperative"


def announce(model: str, config) -> None:
    """One start-up line saying how this worker really runs (no patient data: rule 7),
    and a warning for a setting that does not fit the model."""
    log.info("worker model %s, database driver %s", model, database_driver())
    configured = config["WORKER_MODEL"]
    if model != configured:
        log.warning("worker model %s, but WORKER_MODEL is %s: start workers with "
                    "python -m web.worker_model (the Procfile's command)", model, configured)
    if model == "gevent" and config["DATABASE_MAX_OVERFLOW"] > 0:
        # Greenlets outnumber connections, so the overflow fills at once, and overflow
        # connections are closed and reopened as the load moves: with the default 5 + 10
        # the bench saw a PostgreSQL backend started per message (README "Performance").
        log.warning("worker model gevent with DATABASE_MAX_OVERFLOW %s: set "
                    "DATABASE_POOL_SIZE to about 20 and DATABASE_MAX_OVERFLOW to 0",
                    config["DATABASE_MAX_OVERFLOW"])


def main(argv: list[str]) -> int:
    try:
        model = settings_from_env(os.environ)["WORKER_MODEL"]
        command = launcher(model) + argv
    except ConfigError as error:
        print(f"Error: {error.message}", file=sys.stderr)
        return CONFIGURATION
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)
    return 0  # not reached: exec replaced this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
