"""The in-memory engine: one array, summed block by block in a fixed order."""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

DEFAULT_BLOCK_ROWS = 8192


class MemoryEngine:
    """Data held in one array.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,), optional
    block_rows : int, optional
        Rows per block; results do not depend on it beyond summation order.
    """

    def __init__(self, X: np.ndarray, sample_weight: Optional[np.ndarray] = None,
                 block_rows: Optional[int] = None):
        self.X = X
        self.sample_weight = sample_weight
        self.block_rows = block_rows or DEFAULT_BLOCK_ROWS
        self.n_samples, self.n_features = X.shape

    def blocks(self):
        for start in range(0, self.n_samples, self.block_rows):
            stop = min(start + self.block_rows, self.n_samples)
            w = None if self.sample_weight is None else self.sample_weight[start:stop]
            yield self.X[start:stop], w, start

    def reduce(self, fn: Callable):
        """Σ over blocks of ``fn(X_block, weight_block, start)``, in row order."""
        total = None
        for X, w, start in self.blocks():
            part = fn(X, w, start)
            total = part if total is None else total + part
        return total

    def map_rows(self, fn: Callable) -> np.ndarray:
        """Concatenate ``fn(X_block, weight_block, start)`` over blocks (per-row values)."""
        return np.concatenate([fn(X, w, start) for X, w, start in self.blocks()])

    def sample_rows(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Up to ``n`` distinct rows, in random order."""
        if n >= self.n_samples:
            return self.X[rng.permutation(self.n_samples)]
        return self.X[rng.choice(self.n_samples, size=n, replace=False)]
