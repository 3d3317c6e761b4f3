"""Group commit: the send threads of one worker process share their bookkeeping transactions.

A send needs two short transactions (claim the row, record the provider's answer). Run once
per message they cost more than the send itself at low provider latency: round trips and a
WAL flush per commit. ``GroupCommit`` lets every thread that arrives while a batch is being
written wait and go together in the next one: the first thread to find nobody writing
becomes the leader, takes everything waiting (up to ``max_size``), runs one transaction for
all of it and hands the role to the next waiting thread. No timer: a lone message waits for
nobody, and under load batches grow by themselves.

Each thread still returns only once its own item is committed, so a Dramatiq message is
acknowledged after its bookkeeping is durable, exactly as with one transaction per message.
"""
import threading
from collections.abc import Callable, Sequence
from typing import Any


class _Entry:
    __slots__ = ("error", "item", "leads", "ready", "result")

    def __init__(self, item):
        self.item = item
        self.ready = threading.Event()
        self.leads = False
        self.result = None
        self.error: BaseException | None = None


class GroupCommit:
    """``submit(item)`` returns ``run([...items])[i]`` for its item, raising what ``run``
    raised (for the whole batch) or the exception ``run`` returned in the item's place."""

    def __init__(self, run: Callable[[Sequence[Any]], Sequence[Any]], *, max_size: int = 64):
        self._run = run
        self._max_size = max_size
        self._lock = threading.Lock()
        self._waiting: list[_Entry] = []
        self._writing = False

    def submit(self, item):
        entry = _Entry(item)
        with self._lock:
            self._waiting.append(entry)
            entry.leads = not self._writing
            self._writing = True
        if not entry.leads:
            entry.ready.wait()
        if entry.leads:  # first in, or handed the role by the previous leader
            self._lead()
        if entry.error is not None:
            raise entry.error
        return entry.result

    def _lead(self) -> None:
        with self._lock:
            batch = self._waiting[:self._max_size]
            del self._waiting[:self._max_size]
        try:
            results = self._run([entry.item for entry in batch])
            for entry, result in zip(batch, results, strict=True):
                if isinstance(result, BaseException):
                    entry.error = result
                else:
                    entry.result = result
        except BaseException as error:  # noqa: BLE001 - the whole batch failed: each thread decides
            for entry in batch:
                entry.error = error
        finally:
            with self._lock:
                if self._waiting:
                    self._waiting[0].leads = True
                    self._waiting[0].ready.set()
                else:
                    self._writing = False
            for entry in batch:
                entry.leads = False
                entry.ready.set()


def per_app(app, name: str, run, *, max_size: int = 64) -> GroupCommit:
    """The process's ``GroupCommit`` called ``name`` for ``app`` (each app has its own
    database, as tests do)."""
    key = f"group_commit:{name}"
    group = app.extensions.get(key)
    if group is None:
        group = app.extensions.setdefault(key, GroupCommit(run, max_size=max_size))
    return group
