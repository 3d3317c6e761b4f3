"""The scheduler process (``python -m scheduler``): periodiq over the app's broker.

One replica runs at a time, guarded by a PostgreSQL session advisory lock; a second one
(a rolling deploy, a mistake) waits for the lock and takes over when the first dies. The
scheduler only enqueues; the periodic actors' own work runs on the ``default`` workers.
"""
