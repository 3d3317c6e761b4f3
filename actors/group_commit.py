"""Group commit: the send threads of one worker process share their bookkeeping transactions.

A send needs two short transactions (claim the row, record the provider's answer). Run once
per message they cost more than the send itself at low provider latency: round trips and a
WAL flush per commit. ``GroupCommit`` lets every thread that arrives while a batch is being
written wait and go together in the next one: the first thread to find nobody writing
becomes the leader, takes everything waiting (up to ``max_size``), runs one transaction for
all of it and hands the role to the next waiting thread. No timer: a lone message waits for
nobody, and under load batches grow by themselves.

A thread may also ``put`` an item and go on (a batch message's next send) and ``wait`` for it
later: the item goes with whichever batch is written next, and ``wait`` writes it itself if
nobody is writing. The role is only ever handed to a thread that is waiting, so an item put
by a thread that is away never holds up the others. Each thread still returns from ``wait``
only once its own item is committed, so a Dramatiq message is acknowledged after its
bookkeeping is durable, exactly as with one transaction per message.
"""
import threading
from collections.abc import Callable, Sequence
from typing import Any


class Pending:
    """An item handed to a ``GroupCommit``: ``GroupCommit.wait`` gives its result."""

    __slots__ = ("done", "error", "item", "leads", "ready", "result", "waited")

    def __init__(self, item):
        self.item = item
        self.ready = threading.Event()
        self.done = False
        self.leads = False    # handed the leader's role while waiting
        self.waited = False   # its thread is in ``wait``: the role may be handed to it
        self.result = None
        self.error: BaseException | None = None


class GroupCommit:
    """``submit(item)`` returns ``run([...items])[i]`` for its item, raising what ``run``
    raised (for the whole batch) or the exception ``run`` returned in the item's place."""

    def __init__(self, run: Callable[[Sequence[Any]], Sequence[Any]], *, max_size: int = 64):
        self._run = run
        self._max_size = max_size
        self._lock = threading.Lock()
        self._waiting: list[Pending] = []
        self._writing = False

    def submit(self, item):
        return self.wait(self.put(item))

    def put(self, item) -> Pending:
        """Queue ``item`` for the next batch without waiting for it."""
        pending = Pending(item)
        with self._lock:
            self._waiting.append(pending)
        return pending

    def wait(self, pending: Pending):
        """``pending``'s result once its batch has committed, leading a batch whenever
        nobody else is writing (or the previous leader handed over)."""
        while True:
            with self._lock:
                if pending.done:
                    break
                lead = pending.leads or not self._writing
                pending.leads, pending.waited = False, not lead
                self._writing = True
                pending.ready.clear()
            if lead:
                self._lead()
            else:
                pending.ready.wait()
        if pending.error is not None:
            raise pending.error
        return pending.result

    def _lead(self) -> None:
        with self._lock:
            batch = self._waiting[:self._max_size]
            del self._waiting[:self._max_size]
        try:
            results = self._run([pending.item for pending in batch])
            for pending, result in zip(batch, results, strict=True):
                if isinstance(result, BaseException):
                    pending.error = result
                else:
                    pending.result = result
        except BaseException as error:  # noqa: BLE001 - the whole batch failed: each thread decides
            for pending in batch:
                pending.error = error
        finally:
            with self._lock:
                for pending in batch:
                    pending.done = True
                successor = next((p for p in self._waiting if p.waited), None)
                if successor is None:
                    self._writing = False  # items put meanwhile go with the next ``wait``
                else:
                    successor.leads = True
            for pending in batch:
                pending.ready.set()
            if successor is not None:
                successor.ready.set()


def per_app(app, name: str, run, *, max_size: int = 64) -> GroupCommit:
    """The process's ``GroupCommit`` called ``name`` for ``app`` (each app has its own
    database, as tests do)."""
    key = f"group_commit:{name}"
    group = app.extensions.get(key)
    if group is None:
        group = app.extensions.setdefault(key, GroupCommit(run, max_size=max_size))
    return group
