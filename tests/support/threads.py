"""Running one call from several threads at the same moment (for the concurrency tests). No tests here."""
from __future__ import annotations

import threading


def together(fn, count: int = 2) -> list:
    """``fn()`` in ``count`` threads released together by a barrier; their results, or the first error raised."""
    barrier, results, errors = threading.Barrier(count), [], []

    def worker():
        try:
            barrier.wait()
            results.append(fn())
        except Exception as exc:  # re-raised in the caller's thread below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results
