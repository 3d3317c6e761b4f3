"""A tick that is killed (SIGKILL) right after committing its second dispatch batch.

Run by test_tick_restart.py as ``python -m tests.scheduler.tick_killed_mid_batch``: the
second batch is ``queued`` in PostgreSQL but was never published, the worst moment.
"""
import os
import signal

from actors.reminders.tick import run_tick
from web import create_app


def main():
    app = create_app({"DISPATCH_BATCH_SIZE": 5, "DISPATCH_ENQUEUE_THREADS": 1})
    batches = []

    def after_commit(rows):
        batches.append(rows)
        if len(batches) == 2:
            os.kill(os.getpid(), signal.SIGKILL)

    with app.app_context():
        run_tick(after_commit=after_commit)


if __name__ == "__main__":
    main()
