"""ETL from the upstream appointment API: client, pull, freshness, actors.

Importing this package declares the ``etl_pull`` and ``etl_tick`` actors.
"""
from actors.etl.tasks import etl_pull, etl_tick, pull_now

__all__ = ["etl_pull", "etl_tick", "pull_now"]
