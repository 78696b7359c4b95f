"""The Dask engine: partitions parsed and standardized once on the workers, then one
map + tree reduction of the same block functions per pass. No EM math lives here.

Each input file is one partition, read on a worker by the same strict CSV reader as
the local engines (so errors still name the file and line). Within a partition the
work runs through :class:`~gmmcli.engines.memory.MemoryEngine`, block by block.
"""

from __future__ import annotations

import os
from typing import Callable, Optional, Sequence

import numpy as np

from gmmcli.engines.base import choose_rows, rows_in_pick_order, sum_parts
from gmmcli.engines.memory import MemoryEngine
from gmmcli.io.inputs import expand_inputs as io_expand_inputs
from gmmcli.errors import DataError, NoInputError, UsageError
from gmmcli.io.columnar import open_reader
from gmmcli.io.csv_reader import CsvFormat
from gmmcli.parallel import single_threaded_blas
from gmmcli.scaler import Scaler, block_moments, column_unit

TREE_FAN_IN = 8
INSTALL_HINT = "the Dask engine needs dask and distributed: pip install 'gmmcli[dask]'"


def require_dask():
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise UsageError(INSTALL_HINT) from None


def expand_inputs(inputs: Sequence[str]) -> list:
    """Paths and globs → the files, in order (the cluster's workers read files, not stdin)."""
    return io_expand_inputs(inputs, allow_stdin=False)


def close_client(client) -> None:
    """Close a client, and the local cluster it started (a running scheduler stays up)."""
    cluster = getattr(client, "cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


def connect(scheduler: Optional[str]):
    """A distributed Client: to ``scheduler`` (or $GMMCLI_SCHEDULER), else a LocalCluster sized to the machine."""
    require_dask()
    from distributed import Client, LocalCluster

    from gmmcli.parallel import default_threads

    address = scheduler or os.environ.get("GMMCLI_SCHEDULER")
    if address:
        try:
            return Client(address, timeout="10s")
        except OSError as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    cluster = LocalCluster(n_workers=default_threads(), threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=50)
    return Client(cluster)


# ---------------------------------------------------------------- worker-side functions
def _load_partition(path: str, fmt: CsvFormat, names: tuple, selected: list, missing: bool):
    reader = open_reader(path, fmt)
    try:
        if tuple(reader.names) != tuple(names):
            raise DataError(f"{reader.name}: columns {list(reader.names)} differ from the first file's {list(names)}")
        blocks = [b.X for b in reader.blocks(selected, missing=missing)]
    finally:
        reader.close()
    return np.concatenate(blocks) if blocks else np.empty((0, len(selected)))


def _moments(X, unit):
    return block_moments(X, unit) if len(X) else None


def _peak(X):
    return column_unit(X) if len(X) else None


def _standardize(X, scaler: Optional[Scaler]):
    return np.asfortranarray(X if scaler is None else scaler.transform(X))


def _reduce_partition(X, fn):
    # one BLAS thread per task: a worker's BLAS threads on top of other workers oversubscribe the cores
    with single_threaded_blas():
        return MemoryEngine(X, n_threads=1).reduce(fn) if len(X) else None


def _map_partition(X, fn):
    with single_threaded_blas():
        return MemoryEngine(X, n_threads=1).map_rows(fn) if len(X) else np.empty(0)


def _sum(*parts):
    """Σ of partial statistics in order (empty partitions give None)."""
    return sum_parts(parts)


def _take(X, rows):
    return X[rows]


class DaskEngine:
    """Training data partitioned over a Dask cluster.

    Build with :func:`load`; ``reduce`` maps a block function over the partitions and
    sums the partial statistics with a tree reduction on the cluster.
    """

    def __init__(self, client, partitions: list, sizes: list, n_features: int):
        self.client = client
        self.partitions = partitions
        self.sizes = sizes
        self.n_samples = int(sum(sizes))
        self.n_features = n_features
        self.sample_weight = None

    def reduce(self, fn: Callable):
        """Σ over partitions of the block function's statistics.

        A tree reduction with fan-in 8 on the cluster, then the last ≤ 8 partial sums are
        gathered and added here; each level costs a scheduler round trip, so small
        clusters pay one. The order of additions is fixed: results are reproducible.
        """
        parts = self.client.map(_reduce_partition, self.partitions, fn=fn, pure=False)
        while len(parts) > TREE_FAN_IN:
            parts = [self.client.submit(_sum, *parts[i:i + TREE_FAN_IN], pure=False)
                     for i in range(0, len(parts), TREE_FAN_IN)]
        return _sum(*self.client.gather(parts))

    def map_rows(self, fn: Callable) -> np.ndarray:
        return np.concatenate(self.client.gather(self.client.map(_map_partition, self.partitions, fn=fn, pure=False)))

    def sample_rows(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._rows(choose_rows(self.n_samples, n, rng))

    def _rows(self, picks: np.ndarray) -> np.ndarray:
        """Rows ``picks`` in that order: one task per partition that holds some."""
        starts = [int(s) for s in np.concatenate([[0], np.cumsum(self.sizes)])]
        return rows_in_pick_order(picks, starts, lambda requests: self.client.gather([
            self.client.submit(_take, self.partitions[p], local, pure=False) for p, local in requests]))

    def subset(self, rows: np.ndarray) -> MemoryEngine:
        return MemoryEngine(self._rows(np.asarray(rows)))

    def with_threads(self, n_threads: int) -> "DaskEngine":
        return self  # the cluster's workers set their own threads

    def close(self) -> None:
        """Drop the partitions and close the connection (and a local cluster)."""
        self.partitions = []
        close_client(self.client)


def load(client, paths: list, fmt: CsvFormat, names: tuple, selected: list, standardize: bool,
         feature_names: list, missing: bool = False, uniform: bool = False):
    """Parse every file on the workers, fit the scaler from merged partition moments,
    standardize in place and keep the partitions on the workers.

    Returns
    -------
    engine : DaskEngine
    scaler : Scaler or None
    moments : ColumnMoments (of the raw data)
    """
    from distributed import wait

    from gmmcli.scaler import scaler_from_moments

    raw = client.map(_load_partition, paths, fmt=fmt, names=names, selected=selected, missing=missing, pure=False)
    wait(raw)
    for future, path in zip(raw, paths):
        if future.status == "error":
            exc = future.exception()
            raise exc if isinstance(exc, (DataError, NoInputError)) else DataError(f"{path}: {exc}")
    peaks = [p for p in client.gather(client.map(_peak, raw, pure=False)) if p is not None]
    if not peaks:
        raise DataError(f"{paths[0]}: no data rows")
    unit = np.max(peaks, axis=0)
    moments = None
    for m in client.gather(client.map(_moments, raw, unit=unit, pure=False)):
        if m is not None:
            moments = m if moments is None else moments + m
    scaler = scaler_from_moments(moments, feature_names, uniform) if standardize else None
    partitions = client.map(_standardize, raw, scaler=scaler, pure=False)
    sizes = client.gather(client.map(len, partitions, pure=False))
    del raw
    return DaskEngine(client, partitions, sizes, len(selected)), scaler, moments
