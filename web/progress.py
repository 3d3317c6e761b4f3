"""Progress of long CLI work: a bar on a terminal, plain lines otherwise, always on stderr.

A person at a terminal sees a live bar (rich); cron, CI and a pipe get a few plain lines,
at most one per ``min_interval`` seconds plus the last, that read well in a log file. Either
way stdout keeps only the command's own output, so it can still be parsed.

    with progress("etl pull", unit="pages") as step:
        for page in pages:
            ...
            step(note=f"{records} records")

``total`` gives a bar with a percentage; without it the bar shows the count so far.
"""
import sys
import time
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)


class _Plain:
    """Lines like ``etl pull: 3 pages (300 records)`` or ``replay: 2/5 letters``."""

    def __init__(self, label: str, total: int | None, unit: str, stream, min_interval: float):
        self.label, self.total, self.unit, self.stream = label, total, unit, stream
        self.min_interval, self.done, self.note = min_interval, 0, ""
        self.started = self.printed_at = time.monotonic()
        self.printed_done = -1

    def _line(self, prefix: str = "") -> str:
        count = f"{self.done}/{self.total}" if self.total is not None else str(self.done)
        return (f"{self.label}: {prefix}{count} {self.unit}"
                + (f" ({self.note})" if self.note else ""))

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)
        self.printed_at, self.printed_done = time.monotonic(), self.done

    def advance(self, n: int = 1, note: str = "") -> None:
        self.done += n
        self.note = note or self.note
        if time.monotonic() - self.printed_at >= self.min_interval or self.done == self.total:
            self._print(self._line())

    def finish(self) -> None:
        seconds = time.monotonic() - self.started
        self._print(self._line("done, ") + f" in {seconds:.1f} s")


class _Bar:
    def __init__(self, label: str, total: int | None, unit: str, stream):
        self.unit = unit
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                            MofNCompleteColumn() if total is not None
                            else TextColumn("{task.completed}"),
                            TextColumn(unit + "{task.fields[note]}"), TimeElapsedColumn(),
                            console=Console(file=stream), transient=False)
        self.task = self.bar.add_task(label, total=total, note="")
        self.bar.start()

    def advance(self, n: int = 1, note: str = "") -> None:
        self.bar.update(self.task, advance=n, **({"note": f" ({note})"} if note else {}))

    def finish(self) -> None:
        self.bar.stop()


@contextmanager
def progress(label: str, *, total: int | None = None, unit: str = "items", stream=None,
             min_interval: float = 2.0):
    """Yield ``step(n=1, note="")``; a bar when ``stream`` (stderr) is a terminal."""
    stream = stream or sys.stderr
    shown = (_Bar(label, total, unit, stream) if stream.isatty()
             else _Plain(label, total, unit, stream, min_interval))
    try:
        yield shown.advance
    finally:
        shown.finish()
