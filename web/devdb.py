"""Dev mode's database: an embedded PostgreSQL in the instance folder.

Dev mode runs on the same database as production so that every query exists once. With
``DATABASE_URL`` unset (and no ``BROKER_URL``) the app starts, or joins, a private server
from the ``pgserver`` package (the ``dev`` extra) in ``instance/pgdata``. It listens on a
unix socket only. Every process on the same folder (``make run``, the CLI commands in a
second terminal) shares one server, which stops when the last of them exits.
"""
import os
import warnings

from web.config import ConfigError

PGDATA = "pgdata"


def _import_pgserver():
    # platformdirs warns that XDG_RUNTIME_DIR is unset (as in containers and CI) and uses
    # /tmp instead, which is fine for pgserver's lock file; the suite turns warnings into
    # errors, so this one is silenced here and nowhere else.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pgserver
    return pgserver


def embedded_database_url(instance_path: str) -> str:
    """The URL of the instance folder's embedded server, started if it is not running."""
    try:
        pgserver = _import_pgserver()
    except ImportError:
        raise ConfigError("DATABASE_URL is unset and the embedded dev PostgreSQL (pgserver) is "
                          "not installed: run `make install`, or set DATABASE_URL="
                          "postgresql://...") from None
    os.makedirs(instance_path, exist_ok=True)
    server = pgserver.get_server(os.path.join(instance_path, PGDATA), cleanup_mode="stop")
    return server.get_uri()
