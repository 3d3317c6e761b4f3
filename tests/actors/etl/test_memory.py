"""The pull streams: memory does not grow with the number of pages.

A memory bound, not a timing: tracemalloc's peak during a pull of 4N pages stays within a
small margin of the peak during a pull of N pages.
"""
import gc
import tracemalloc
from datetime import timedelta

from actors.etl import pull_now
from tests.actors.etl.support import today

PAGE = 25
N = 6


def _peak_during_pull(day) -> tuple[int, object]:
    gc.collect()
    tracemalloc.start()
    try:
        run = pull_now(day, day, trigger="cli")
        return tracemalloc.get_traced_memory()[1], run
    finally:
        tracemalloc.stop()


def test_memory_is_flat_in_the_number_of_pages(etl_app, upstream):
    upstream.page_size = PAGE
    warm, small, large = (today() + timedelta(days=d) for d in (1, 2, 3))
    upstream.seed(2 * PAGE, start=warm, days=1, first_number=1)
    upstream.seed(N * PAGE, start=small, days=1, first_number=1001)
    upstream.seed(4 * N * PAGE, start=large, days=1, first_number=3001)
    pull_now(warm, warm, trigger="cli")  # first use fills caches (compiled SQL, templates)

    small_peak, small_run = _peak_during_pull(small)
    large_peak, large_run = _peak_during_pull(large)

    assert (small_run.pages, large_run.pages) == (N, 4 * N)
    assert small_run.complete and large_run.complete
    # Holding every record would add ~3 x 200 records x several KiB; streaming adds ~nothing.
    assert large_peak < small_peak * 1.25 + 256 * 1024, (small_peak, large_peak)
