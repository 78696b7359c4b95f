"""The out-of-core engine: the parsed, standardized matrix spooled once to a
temporary file, then read block by block on every pass.

Blocks are stored transposed (one row of the file block per feature), so a block
read from disk is exactly the contiguous (n_features, n_rows) layout the kernels
want. Blocks are read with ordinary reads, not a memory map, so resident memory
is the blocks in flight, not the file.
"""

from __future__ import annotations

import os
from typing import Callable, Iterable, Optional

import numpy as np

from gmmcli.core.models import DEFAULT_MODEL, MODELS
from gmmcli.engines.base import choose_rows, rows_in_pick_order, sum_parts
from gmmcli.engines.memory import MemoryEngine
from gmmcli.parallel import default_threads, ordered_map
from gmmcli.scaler import ColumnMoments, Scaler, block_moments, column_unit

ITEM = 8  # float64


class SpoolWriter:
    """Re-blocks incoming row blocks into fixed-size transposed blocks on disk.

    Also merges the column moments of everything written (for the scaler).
    """

    def __init__(self, path: str, n_features: int, block_rows: int):
        self.path, self.n_features, self.block_rows = path, n_features, block_rows
        self.file = open(path, "wb")
        self.pending: list = []
        self.pending_rows = 0
        self.n_samples = 0
        self.moments: Optional[ColumnMoments] = None
        self.unit: Optional[np.ndarray] = None

    def write(self, X: np.ndarray, weights: Optional[np.ndarray] = None) -> None:
        if len(X) == 0:
            return
        if self.unit is None:
            self.unit = column_unit(X)
        part = block_moments(X, self.unit, weights)
        self.moments = part if self.moments is None else self.moments + part
        self.pending.append(X)
        self.pending_rows += len(X)
        while self.pending_rows >= self.block_rows:
            self._flush(self.block_rows)

    def _flush(self, rows: int) -> None:
        stacked = np.concatenate(self.pending) if len(self.pending) > 1 else self.pending[0]
        block, rest = stacked[:rows], stacked[rows:]
        self.file.write(np.ascontiguousarray(block.T).tobytes())
        self.n_samples += len(block)
        self.pending = [rest] if len(rest) else []
        self.pending_rows = len(rest)

    def close(self) -> None:
        if self.pending_rows:
            self._flush(self.pending_rows)
        self.file.close()


class SpoolEngine:
    """Data in a spool file written by :class:`SpoolWriter`.

    Parameters
    ----------
    path : str
    n_samples, n_features, block_rows : int
    n_threads : int, optional
    """

    def __init__(self, path: str, n_samples: int, n_features: int, block_rows: int,
                 n_threads: Optional[int] = None, sample_weight=None, dtype=np.float64):
        self.path = path
        self.n_samples, self.n_features, self.block_rows = n_samples, n_features, block_rows
        self.n_threads = n_threads if n_threads is not None else default_threads()
        self.sample_weight = sample_weight
        self.dtype = np.dtype(dtype)

    def _starts(self) -> range:
        return range(0, self.n_samples, self.block_rows)

    def read_block(self, start: int) -> np.ndarray:
        """Rows ``start`` … of one block, shape (n_rows, n_features), a Fortran-ordered view."""
        rows = min(self.block_rows, self.n_samples - start)
        with open(self.path, "rb") as f:
            data = np.fromfile(f, dtype=np.float64, count=rows * self.n_features,
                               offset=start * self.n_features * ITEM)
        return data.reshape(self.n_features, rows).T

    def blocks(self) -> Iterable:
        for start in self._starts():
            w = None if self.sample_weight is None else self.sample_weight[start:start + self.block_rows]
            yield start, w

    def _run(self, fn: Callable):
        def one(item):
            start, w = item
            X = self.read_block(start)
            return fn(X if self.dtype == X.dtype else X.astype(self.dtype, order="F"), w, start)
        return ordered_map(one, self.blocks(), self.n_threads)

    def reduce(self, fn: Callable):
        """Σ over blocks of ``fn(X_block, weight_block, start)``, added in row order."""
        return sum_parts(self._run(fn))

    def map_rows(self, fn: Callable) -> np.ndarray:
        return np.concatenate(list(self._run(fn)))

    def sample_rows(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Up to ``n`` distinct rows (drawn in proportion to their weights), in random order; one pass."""
        return self._rows(choose_rows(self.n_samples, n, rng, self.sample_weight))

    def _rows(self, picks: np.ndarray) -> np.ndarray:
        """Rows ``picks`` in that order, reading each block that holds some once."""
        starts = list(self._starts()) + [self.n_samples]
        return rows_in_pick_order(picks, starts, lambda requests: [
            self.read_block(starts[b])[local] for b, local in requests])

    def subset(self, rows: np.ndarray) -> MemoryEngine:
        w = None if self.sample_weight is None else self.sample_weight[rows]
        return MemoryEngine(self._rows(np.asarray(rows)), w, n_threads=self.n_threads, dtype=self.dtype)

    def with_threads(self, n_threads: int) -> "SpoolEngine":
        return SpoolEngine(self.path, self.n_samples, self.n_features, self.block_rows, n_threads,
                           self.sample_weight, self.dtype)

    def close(self) -> None:
        """Remove the spool file."""
        remove(self.path)

    def standardize(self, scaler: Scaler) -> None:
        """Rewrite the spool in standardized units (one pass, in place)."""
        with open(self.path, "r+b") as f:
            for start in self._starts():
                X = self.read_block(start)
                f.seek(start * self.n_features * ITEM)
                f.write(np.ascontiguousarray(scaler.transform(X).T).tobytes())


def block_rows_for(max_memory: int, n_features: int, n_threads: int, covariance_type: str = DEFAULT_MODEL) -> int:
    """Rows per block so that the blocks in flight (data, features, responsibilities) fit in a quarter of the budget."""
    n_quad = MODELS[covariance_type].n_quad_features(n_features)
    per_row = ITEM * (2 * n_features + 2 * n_quad + 64)
    rows = max_memory // 4 // (2 * n_threads * per_row)
    return int(np.clip(rows, 256, 16384))


def available_memory() -> int:
    """Memory available to a new process, in bytes (psutil: the same answer on every OS)."""
    import psutil

    return int(psutil.virtual_memory().available)


def remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
