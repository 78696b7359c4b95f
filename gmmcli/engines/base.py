"""The Engine protocol: what EM, initialization and scoring ask of where the data live.

An engine only produces sums and rows; it does no EM math. The memory, spool (out of
core) and Dask engines implement it; a test holds them to one another.

Sampling is defined once, here: :func:`choose_rows` draws the row indices (and their
order) from the generator, and every engine returns exactly those rows in that order,
so the same seed starts EM at the same place on every engine.
"""

from __future__ import annotations

from typing import Callable, Optional, Protocol, Sequence, runtime_checkable

import numpy as np


@runtime_checkable
class Engine(Protocol):
    """Training rows (standardized when the fit standardizes), summed block by block.

    Attributes
    ----------
    n_samples, n_features : int
    sample_weight : ndarray of shape (n_samples,) or None
    """

    n_samples: int
    n_features: int
    sample_weight: Optional[np.ndarray]

    def reduce(self, fn: Callable):
        """Σ over blocks of ``fn(X_block, weight_block, start)``, added in row order."""

    def map_rows(self, fn: Callable) -> np.ndarray:
        """``fn(X_block, weight_block, start)`` (per-row values) concatenated in row order."""

    def sample_rows(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """The rows ``choose_rows(n_samples, n, rng, sample_weight)`` picks, in its order."""

    def subset(self, rows: np.ndarray) -> "Engine":
        """An in-memory engine of these rows (and their weights)."""

    def with_threads(self, n_threads: int) -> "Engine":
        """The same data, worked on by ``n_threads`` threads."""

    def close(self) -> None:
        """Release what the engine holds (a spool file, a cluster connection)."""


def sum_parts(parts) -> Optional[object]:
    """Σ of partial results in order; None parts (empty blocks or partitions) are skipped."""
    total = None
    for part in parts:
        if part is not None:
            total = part if total is None else total + part
    return total


def choose_rows(n_samples: int, n: int, rng: np.random.Generator, weights=None) -> np.ndarray:
    """Indices of up to ``n`` distinct rows in random order; with weights, rows of weight 0
    are never chosen and the others in proportion to their weight."""
    if weights is None:
        return rng.permutation(n_samples) if n >= n_samples else rng.choice(n_samples, size=n, replace=False)
    positive = np.flatnonzero(weights > 0)
    if n >= len(positive):
        return positive[rng.permutation(len(positive))]
    p = weights[positive] / weights[positive].sum()
    return positive[rng.choice(len(positive), size=n, replace=False, p=p)]


def rows_in_pick_order(picks: np.ndarray, starts: Sequence[int], read_parts: Callable) -> np.ndarray:
    """Rows ``picks`` (global indices, any order) of data stored in parts beginning at ``starts``.

    ``read_parts([(part, local_indices), …])`` returns the rows of each request; each part is
    read once, in storage order, and the rows come back in the order of ``picks``.
    """
    order = np.argsort(picks, kind="stable")
    ordered = picks[order]
    bounds = np.searchsorted(ordered, np.asarray(starts))
    requests = [(p, ordered[lo:hi] - starts[p]) for p, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:]))
                if hi > lo]
    rows = np.concatenate(read_parts(requests)) if requests else np.empty((0, 0))
    out = np.empty_like(rows)
    out[order] = rows
    return out
