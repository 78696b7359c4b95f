"""Ordered, bounded parallel map over threads (numpy, BLAS and pyarrow release the GIL)."""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Iterator

_CONTROLLER = None


def default_threads() -> int:
    """Threads for block work: the CPUs this process may use (``GMMCLI_THREADS`` overrides)."""
    env = os.environ.get("GMMCLI_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def single_threaded_blas():
    """A context in which BLAS calls use one thread each (threadpoolctl).

    BLAS's own threads on top of ours would oversubscribe the cores.
    """
    global _CONTROLLER
    from threadpoolctl import ThreadpoolController

    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def ordered_map(fn: Callable, items: Iterable, n_threads: int, window: int = 0) -> Iterator:
    """``map(fn, items)`` on ``n_threads`` threads, in order, with at most ``window`` items in flight.

    ``items`` is consumed lazily, so memory stays bounded for a stream of blocks.
    """
    if n_threads <= 1:
        yield from map(fn, items)
        return
    window = window or 2 * n_threads
    with single_threaded_blas(), ThreadPoolExecutor(n_threads) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
