"""The in-memory engine: one array, summed block by block in a fixed order."""

from __future__ import annotations

import copy
from typing import Callable, Optional

import numpy as np


from gmmcli.core.models import DEFAULT_MODEL, MODELS
from gmmcli.engines.base import choose_rows, sum_parts
from gmmcli.parallel import default_threads, ordered_map

# The kernels build (n_features² / 2) quadratic features per row; a block's
# features should stay within a few MB of cache.
BLOCK_FEATURE_BYTES = 4 << 20
MIN_BLOCK_ROWS, MAX_BLOCK_ROWS = 512, 65536


def default_block_rows(n_features: int, covariance_type: str = DEFAULT_MODEL) -> int:
    """Rows per block so that a block's quadratic features take about 4 MB."""
    n_quad = MODELS[covariance_type].n_quad_features(n_features)
    return int(np.clip(BLOCK_FEATURE_BYTES // (8 * n_quad), MIN_BLOCK_ROWS, MAX_BLOCK_ROWS))


class MemoryEngine:
    """Data held in one array.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,), optional
    block_rows : int, optional
        Rows per block; results do not depend on it beyond summation order.
    n_threads : int, optional
        Threads for block work (default: the usable CPUs); never changes results.
    covariance_type : str
        Sets the default block size (the kernels' feature count depends on it).
    dtype : float64 or float32
        Working precision of the kernels; statistics are always summed in float64.
    """

    def __init__(self, X: np.ndarray, sample_weight: Optional[np.ndarray] = None,
                 block_rows: Optional[int] = None, n_threads: Optional[int] = None,
                 covariance_type: str = DEFAULT_MODEL, dtype=np.float64):
        # Fortran order: a block of rows, transposed, is contiguous (what the kernels read).
        self.X = np.asfortranarray(X, dtype=dtype)
        self.sample_weight = sample_weight
        self.block_rows = block_rows or default_block_rows(X.shape[1], covariance_type)
        self.n_threads = n_threads if n_threads is not None else default_threads()
        self.n_samples, self.n_features = X.shape

    def blocks(self):
        for start in range(0, self.n_samples, self.block_rows):
            stop = min(start + self.block_rows, self.n_samples)
            w = None if self.sample_weight is None else self.sample_weight[start:stop]
            yield self.X[start:stop], w, start

    def reduce(self, fn: Callable):
        """Σ over blocks of ``fn(X_block, weight_block, start)``.

        Blocks run on ``n_threads`` threads (numpy and BLAS release the GIL);
        the partial sums are added in row order, so the result does not depend
        on the thread count or timing.
        """
        return sum_parts(self._map(fn))

    def _map(self, fn: Callable) -> list:
        blocks = list(self.blocks())
        threads = self.n_threads if len(blocks) > 1 else 1
        return list(ordered_map(lambda b: fn(*b), blocks, threads, window=len(blocks)))

    def map_rows(self, fn: Callable) -> np.ndarray:
        """Concatenate ``fn(X_block, weight_block, start)`` over blocks (per-row values)."""
        return np.concatenate(self._map(fn))

    def sample_rows(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Up to ``n`` distinct rows (drawn in proportion to their weights), in random order."""
        return self.X[choose_rows(self.n_samples, n, rng, self.sample_weight)]

    def subset(self, rows: np.ndarray) -> "MemoryEngine":
        w = None if self.sample_weight is None else self.sample_weight[rows]
        return MemoryEngine(self.X[rows], w, self.block_rows, self.n_threads, dtype=self.X.dtype)

    def with_threads(self, n_threads: int) -> "MemoryEngine":
        twin = copy.copy(self)
        twin.n_threads = n_threads
        return twin

    def close(self) -> None:
        """Nothing to release: the array goes with the engine."""
