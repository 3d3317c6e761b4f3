"""README's settings table, generated from web/config.py so the two never drift.

``python -m web.settings_doc --write`` rewrites the table between the README markers;
without ``--write`` it prints the table.
"""
import sys
from pathlib import Path

from web.config import SETTINGS

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- settings-table -->", "<!-- /settings-table -->"


def table() -> str:
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for setting in SETTINGS:
        default = "(unset)" if setting.default is None else f"`{setting.default}`"
        if setting.name.endswith(("SECRET", "SECRET_KEY", "TOKEN", "PASSWORD", "SALT")) \
                and setting.default:
            default = "a dev-only value (set it in production)"
        rows.append(f"| `{setting.name}` | {default} | {setting.doc.replace('|', '/')} |")
    return "\n".join(rows)


def section() -> str:
    return f"{START}\n{table()}\n{END}"


def write(readme: Path = README) -> None:
    text = readme.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    readme.write_text(head + section() + tail)


if __name__ == "__main__":
    write() if "--write" in sys.argv else print(table())
