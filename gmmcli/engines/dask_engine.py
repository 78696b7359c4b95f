"""The Dask engine: partitions parsed once on the workers, then one task per worker per pass,
which runs the same block functions as the local engines over its partitions, on threads.
No EM math lives here.

Each input file is one partition, read on a worker by the same strict reader as the local
engines (so errors still name the file and line), with its row weights and noise flags.
Partitions are placed at load time: consecutive files on each worker, in proportion to its
threads. Every pass then sends one task to each worker; it runs its partitions' blocks on
the worker's threads (one BLAS thread each) and returns their sum, added in partition order,
so the result never depends on timing or on where a task ran.

Partitions are kept in worker memory, or with ``max_memory`` spooled to the worker's local
disk and read block by block on every pass (standardized as they are read).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import platform
import threading
import uuid
from dataclasses import dataclass, replace
from typing import Callable, Iterator, Optional, Sequence

import numpy as np

from gmmcli.core.models import DEFAULT_MODEL
from gmmcli.engines.base import choose_rows, rows_in_pick_order, sum_parts
from gmmcli.engines.memory import MemoryEngine, default_block_rows
from gmmcli.engines.spool import SpoolEngine, SpoolWriter, block_rows_for, remove
from gmmcli.errors import DataError, NoInputError, UsageError
from gmmcli.io.columnar import open_reader
from gmmcli.io.csv_reader import DEFAULT_BLOCK_BYTES, CsvFormat
from gmmcli.io.inputs import expand_inputs as io_expand_inputs
from gmmcli.parallel import single_threaded_blas
from gmmcli.scaler import ColumnMoments, Scaler, block_moments, column_unit, scaler_from_moments

INSTALL_HINT = "the Dask engine needs dask and distributed: pip install 'gmmcli[dask]'"
SPOOL_PREFIX = "gmmcli-spool-"


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


# ---------------------------------------------------------------- worker-side: reading
def plain_blocks(reader, selected: Sequence[int], missing: bool = False) -> Iterator:
    """(X, None, None) per block of the selected columns: no weights, no noise flags."""
    for block in reader.blocks(list(selected), missing=missing):
        yield block.X, None, None


@dataclass(frozen=True)
class Source:
    """One input file and how to read it; sent to the worker that parses it.

    ``split(reader)`` yields ``(X, weights or None, noise flags or None)`` per block, checking
    the weights and flags (the pipeline's ``weighted_blocks``; by default :func:`plain_blocks`).
    """

    path: str
    fmt: CsvFormat
    names: tuple
    split: Callable
    block_bytes: int = DEFAULT_BLOCK_BYTES

    def blocks(self) -> Iterator:
        reader = open_reader(self.path, self.fmt, block_bytes=self.block_bytes)
        try:
            if tuple(reader.names) != tuple(self.names):
                raise DataError(f"{reader.name}: columns {list(reader.names)} differ from the first file's "
                                f"{list(self.names)}")
            yield from self.split(reader)
        finally:
            reader.close()


@dataclass
class Parsed:
    """A parsed partition on a worker, before standardization: its raw rows (an array, or a
    :class:`Spool`), weights, noise flags, and a summary for the client."""

    rows: object
    weights: Optional[np.ndarray]
    flags: Optional[np.ndarray]
    n_samples: int
    peak: Optional[np.ndarray]  # column_unit of the rows; None when there are none
    has_nan: bool


def _stack(parts: list) -> Optional[np.ndarray]:
    """Per-block weights (or flags) joined; None when the reader gives none (or there are no blocks)."""
    return np.concatenate(parts) if parts and parts[0] is not None else None


def _parse(source: Source, n_features: int) -> Parsed:
    blocks = list(source.blocks())
    X = np.concatenate([b[0] for b in blocks]) if blocks else np.empty((0, n_features))
    return Parsed(X, _stack([b[1] for b in blocks]), _stack([b[2] for b in blocks]),
                  len(X), column_unit(X) if len(X) else None, bool(np.isnan(X).any()))


@dataclass(frozen=True)
class Spool:
    """A partition spooled to its worker's local disk (``--max-memory``), in the spool engine's
    file format; every pass reads it block by block and standardizes the blocks as they are read.

    The file is named, not located: on a worker that lacks it (the task ran on another machine,
    or the worker was restarted) it is written again from ``source`` before use.
    """

    name: str
    source: Source
    n_samples: int
    n_features: int
    block_rows: int
    scaler: Optional[Scaler] = None

    def path(self) -> str:
        path = os.path.join(spool_folder(), self.name)
        if not os.path.exists(path):
            with _SPOOL_LOCK:
                if not os.path.exists(path):
                    _write_spool(self.source, path, self.n_features, self.block_rows)
        return path

    def engine(self, n_threads: int, weights: Optional[np.ndarray]) -> SpoolEngine:
        return SpoolEngine(self.path(), self.n_samples, self.n_features, self.block_rows, n_threads, weights)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """A block as read (a fresh array) → the fitted space, in place."""
        return X if self.scaler is None else self.scaler.transform(X, out=X)


_SPOOL_LOCK = threading.Lock()


def spool_folder(worker=None) -> str:
    """$GMMCLI_TMPDIR, else the local directory of ``worker`` or of the worker running this task
    (Dask removes it with the worker), else the system's temporary folder."""
    folder = os.environ.get("GMMCLI_TMPDIR")
    if folder:
        return folder
    try:
        from distributed import get_worker

        return (worker or get_worker()).local_directory
    except (ImportError, ValueError):
        import tempfile

        return tempfile.gettempdir()


def _write_spool(source: Source, path: str, n_features: int, block_rows: int) -> Parsed:
    """Spool ``source`` to ``path`` (atomically) and summarize it; only the weights and flags are kept in memory."""
    writer = SpoolWriter(path + f".{uuid.uuid4().hex[:8]}.part", n_features, block_rows)
    weights, flags, peak, has_nan = [], [], None, False
    try:
        for X, w, f in source.blocks():
            writer.write(X)
            weights.append(w)
            flags.append(f)
            if len(X):
                unit = column_unit(X)
                peak = unit if peak is None else np.maximum(peak, unit)
                has_nan = has_nan or bool(np.isnan(X).any())
        writer.close()
        os.replace(writer.path, path)
    except BaseException:
        writer.file.close()
        remove(writer.path)
        raise
    return Parsed(None, _stack(weights), _stack(flags), writer.n_samples, peak, has_nan)


def _spool(source: Source, name: str, n_features: int, max_memory: int, covariance_type: str) -> Parsed:
    block_rows = block_rows_for(max_memory, n_features, worker_threads(), covariance_type)
    parsed = _write_spool(source, os.path.join(spool_folder(), name), n_features, block_rows)
    parsed.rows = Spool(name, source, parsed.n_samples, n_features, block_rows)
    return parsed


def _remove_spools(spool_id: str, dask_worker=None) -> None:
    """Remove this fit's spool files from a worker (``client.run`` on every worker when the engine closes)."""
    folder = spool_folder(dask_worker)
    for name in os.listdir(folder):
        if name.startswith(f"{SPOOL_PREFIX}{spool_id}-"):
            remove(os.path.join(folder, name))


def _summary(parsed: Parsed):
    return parsed.n_samples, parsed.peak, parsed.has_nan


def _moments(parsed: Parsed, unit: np.ndarray) -> Optional[ColumnMoments]:
    """The partition's (weighted) column moments in units of ``unit`` (the same for every partition)."""
    if parsed.n_samples == 0:
        return None
    if isinstance(parsed.rows, np.ndarray):
        return block_moments(parsed.rows, unit, parsed.weights)
    engine = parsed.rows.engine(1, parsed.weights)
    return engine.reduce(lambda X, w, start: block_moments(X, unit, w))


def _standardize(parsed: Parsed, scaler: Optional[Scaler], dtype):
    """The rows in the fitted space and working precision (a new array: ``parsed`` may be recomputed from)."""
    if isinstance(parsed.rows, Spool):
        return replace(parsed.rows, scaler=scaler)
    X = parsed.rows if scaler is None else scaler.transform(parsed.rows)
    return np.asfortranarray(X, dtype=dtype)


def _weights_of(parsed: Parsed) -> np.ndarray:
    return parsed.weights if parsed.weights is not None else np.zeros(0)


def _flags_of(parsed: Parsed) -> np.ndarray:
    return parsed.flags if parsed.flags is not None else np.zeros(0, dtype=bool)


# ---------------------------------------------------------------- worker-side: passes
def worker_threads() -> int:
    """Threads of the worker this runs on (1 outside a worker)."""
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        return 1


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
_HEAP_USERS = [0]  # block passes running in this process (they share its malloc settings)
_HEAP_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _fixed_threshold_libc():
    """glibc, when this process runs with fixed malloc thresholds (MALLOC_*_ variables, as Dask's
    nanny sets), else None."""
    if not any(k in os.environ for k in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")):
        return None
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


@contextlib.contextmanager
def heap_for_blocks():
    """While block work runs, let glibc keep the kernels' temporaries on the heap.

    Dask's nanny sets MALLOC_TRIM_THRESHOLD_=64 KiB so that workers return memory to the
    system; with any such variable glibc fixes its mmap threshold at 128 KiB, so each block's
    temporaries (a few MB) are mapped, page-faulted and unmapped again, which makes the
    kernels 3-4x slower. Inside this context the thresholds are raised; on leaving, they are
    restored and the heap trimmed, so the worker returns the memory as its settings intend.
    """
    libc = _fixed_threshold_libc()
    if libc is None:
        yield
        return
    with _HEAP_LOCK:
        if _HEAP_USERS[0] == 0:
            libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)
            libc.mallopt(M_TRIM_THRESHOLD, 64 << 20)
        _HEAP_USERS[0] += 1
    try:
        yield
    finally:
        with _HEAP_LOCK:
            _HEAP_USERS[0] -= 1
            if _HEAP_USERS[0] == 0:
                libc.mallopt(M_MMAP_THRESHOLD, int(os.environ.get("MALLOC_MMAP_THRESHOLD_", 128 << 10)))
                libc.mallopt(M_TRIM_THRESHOLD, int(os.environ.get("MALLOC_TRIM_THRESHOLD_", 128 << 10)))
                libc.malloc_trim(0)


def _as_dtype(X: np.ndarray, dtype) -> np.ndarray:
    return X if X.dtype == dtype else X.astype(dtype, order="F")


def _run_partition(kind: str, fn: Callable, offset: int, rows, weights, threads: int, block_rows: int, dtype):
    """``fn`` over one partition's blocks (``start`` global, as on the memory engine)."""
    if isinstance(rows, Spool):
        if rows.n_samples == 0:
            return None if kind == "reduce" else np.empty(0)
        engine = rows.engine(threads, weights)

        def block(X, w, start):
            return fn(_as_dtype(rows.transform(X), dtype), w, offset + start)
    else:
        if len(rows) == 0:
            return None if kind == "reduce" else np.empty(0)
        engine = MemoryEngine(rows, weights, block_rows, threads, dtype=rows.dtype)

        def block(X, w, start):
            return fn(X, w, offset + start)
    return engine.reduce(block) if kind == "reduce" else engine.map_rows(block)


def _run_range(kind: str, fn: Callable, jobs: list, block_rows: int, dtype):
    """One worker's share of a pass: ``fn`` over the blocks of its partitions ``jobs``
    ((offset, rows, weights) each), on the worker's threads.

    ``reduce``: the partitions' sums added in partition order (None when all are empty);
    ``map``: their per-row values concatenated.
    """
    threads = worker_threads()
    with heap_for_blocks(), single_threaded_blas():
        parts = [_run_partition(kind, fn, offset, rows, w, threads, block_rows, dtype) for offset, rows, w in jobs]
    return sum_parts(parts) if kind == "reduce" else np.concatenate(parts)


def _take(rows, local: np.ndarray, dtype) -> np.ndarray:
    """Rows ``local`` of one partition, in that order."""
    if isinstance(rows, Spool):
        return _as_dtype(rows.transform(rows.engine(1, None).subset(local).X), dtype)
    return rows[local]


# ---------------------------------------------------------------- client side
def assign_workers(sizes: Sequence[float], nthreads: dict) -> list:
    """The worker of each partition: consecutive partitions per worker, in proportion to its threads.

    ``sizes``: each partition's expected work (e.g. its file size); ``nthreads``: address → threads.
    """
    if not nthreads:
        return [None] * len(sizes)
    workers = sorted(nthreads)
    shares = np.cumsum([nthreads[w] for w in workers], dtype=float)
    sizes = np.asarray(sizes, dtype=float)
    middles = (np.cumsum(sizes) - sizes / 2) / max(sizes.sum(), 1e-300)
    index = np.minimum(np.searchsorted(shares / shares[-1], middles, side="right"), len(workers) - 1)
    return [workers[i] for i in index]


def placement(where: Optional[str]) -> dict:
    """Submit options that run a task on worker ``where`` (or anywhere once that worker is gone)."""
    return {} if where is None else {"workers": [where], "allow_other_workers": True}


class DaskEngine:
    """Training data partitioned over a Dask cluster.

    Build with :func:`load_partitions`. ``partitions`` are futures of the standardized rows (arrays,
    or :class:`Spool` files on the workers), ``weights`` futures of their row weights (or None);
    ``sample_weight`` is all rows' weights, here (the protocol's: sampling draws from them).
    """

    def __init__(self, client, partitions: list, sizes: list, n_features: int, *, weights: Optional[list] = None,
                 sample_weight: Optional[np.ndarray] = None, workers: Optional[list] = None,
                 block_rows: Optional[int] = None, dtype=np.float64, spool_id: Optional[str] = None):
        self.client = client
        self.partitions = partitions
        self.sizes = [int(s) for s in sizes]
        self.offsets = [int(s) for s in np.concatenate([[0], np.cumsum(self.sizes, dtype=np.int64)])]
        self.n_samples = self.offsets[-1]
        self.n_features = n_features
        self.weights = weights if weights is not None else [None] * len(partitions)
        self.sample_weight = sample_weight
        self.workers = workers if workers is not None else [None] * len(partitions)
        self.block_rows = block_rows or default_block_rows(n_features)
        self.dtype = np.dtype(dtype)
        self.spool_id = spool_id
        # one task per worker per pass: its consecutive partitions
        self.ranges: list = []
        for i, where in enumerate(self.workers):
            if self.ranges and self.ranges[-1][0] == where:
                self.ranges[-1][1].append(i)
            else:
                self.ranges.append((where, [i]))

    def _submit(self, func, *args, where=None):
        return self.client.submit(func, *args, pure=False, **placement(where))

    def _pass(self, kind: str, fn: Callable) -> list:
        futures = [self._submit(_run_range, kind, fn, [(self.offsets[i], self.partitions[i], self.weights[i])
                                                       for i in index], self.block_rows, self.dtype, where=where)
                   for where, index in self.ranges]
        return self.client.gather(futures)

    def reduce(self, fn: Callable):
        """Σ over blocks of ``fn(X_block, weight_block, start)``: one task per worker, whose sums
        (each its partitions' in order) are added here in partition order."""
        return sum_parts(self._pass("reduce", fn))

    def map_rows(self, fn: Callable) -> np.ndarray:
        """``fn(X_block, weight_block, start)`` (per-row values) concatenated in row order."""
        return np.concatenate(self._pass("map", fn))

    def sample_rows(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """The rows ``choose_rows`` picks (weights included), in its order: what every engine returns."""
        return self._rows(choose_rows(self.n_samples, n, rng, self.sample_weight))

    def _rows(self, picks: np.ndarray) -> np.ndarray:
        """Rows ``picks`` in that order: one task per partition that holds some."""
        def read(requests):
            return self.client.gather([self._submit(_take, self.partitions[p], local, self.dtype, where=self.workers[p])
                                       for p, local in requests])
        return rows_in_pick_order(picks, self.offsets, read)

    def subset(self, rows: np.ndarray) -> MemoryEngine:
        rows = np.asarray(rows)
        w = None if self.sample_weight is None else self.sample_weight[rows]
        return MemoryEngine(self._rows(rows).reshape(len(rows), self.n_features), w, dtype=self.dtype)

    def with_threads(self, n_threads: int) -> "DaskEngine":
        return self  # the cluster's workers set their own threads

    def close(self) -> None:
        """Drop the partitions (and their spool files) and close the connection (and a local cluster)."""
        self.partitions, self.weights = [], []
        if self.spool_id is not None:
            remove_spools(self.client, self.spool_id)
        close_client(self.client)


def remove_spools(client, spool_id: str) -> None:
    with contextlib.suppress(Exception):
        client.run(_remove_spools, spool_id, on_error="ignore")


@dataclass(frozen=True)
class Loaded:
    """What :func:`load_partitions` returns: the engine, the scaler (None when not standardizing),
    the raw data's column moments, the rows' noise flags (when read) and whether any cell is missing."""

    engine: DaskEngine
    scaler: Optional[Scaler]
    moments: ColumnMoments
    noise_flags: Optional[np.ndarray]
    has_missing: bool


def load_partitions(client, paths: list, fmt: CsvFormat, names: tuple, split: Callable, standardize: bool,
                    feature_names: list, *, weighted: bool = False, flagged: bool = False,
                    uniform: bool = False, max_memory: Optional[int] = None,
                    block_bytes: int = DEFAULT_BLOCK_BYTES, dtype="float64",
                    covariance_type: str = DEFAULT_MODEL) -> Loaded:
    """Parse every file on a worker, fit the scaler from merged partition moments, standardize, and
    keep the partitions on the workers: in memory, or with ``max_memory`` spooled to their local
    disks (each worker's blocks in flight within the budget).

    ``split(reader)`` yields a file's blocks as (X, weights, noise flags), with weights when
    ``weighted`` and flags when ``flagged``; ``block_bytes`` is the reader's block size.
    """
    from distributed import wait

    n_features = len(feature_names)
    sources = [Source(p, fmt, tuple(names), split, block_bytes) for p in paths]
    where = assign_workers([_file_size(p) for p in paths], client.nthreads())

    def each(func, *columns, **kwargs):  # one task per partition, on its worker
        return [client.submit(func, *args, pure=False, **placement(w), **kwargs) for *args, w in zip(*columns, where)]

    spool_id = None if max_memory is None else uuid.uuid4().hex[:12]
    try:
        if spool_id is None:
            parsed = each(_parse, sources, n_features=n_features)
        else:
            names_on_disk = [f"{SPOOL_PREFIX}{spool_id}-{i:05d}.f64" for i in range(len(paths))]
            parsed = each(_spool, sources, names_on_disk, n_features=n_features, max_memory=max_memory,
                          covariance_type=covariance_type)
        wait(parsed)
        for future, path in zip(parsed, paths):
            if future.status == "error":
                exc = future.exception()
                raise exc if isinstance(exc, (DataError, NoInputError)) else DataError(f"{path}: {exc}")
        summaries = client.gather(each(_summary, parsed))
        peaks = [peak for _, peak, _ in summaries if peak is not None]
        if not peaks:
            raise DataError(f"{paths[0]}: no data rows")
        moments = sum_parts(client.gather(each(_moments, parsed, unit=np.max(peaks, axis=0))))
        scaler = scaler_from_moments(moments, feature_names, uniform) if standardize else None
        partitions = each(_standardize, parsed, scaler=scaler, dtype=np.dtype(dtype))
        weights = each(_weights_of, parsed) if weighted else None
        sample_weight = np.concatenate(client.gather(weights)) if weighted else None
        flags = np.concatenate(client.gather(each(_flags_of, parsed))) if flagged else None
        wait(partitions)
    except BaseException:
        if spool_id is not None:
            remove_spools(client, spool_id)
        raise
    del parsed
    sizes = [n for n, _, _ in summaries]
    block_rows = default_block_rows(n_features, covariance_type)
    engine = DaskEngine(client, partitions, sizes, n_features, weights=weights, sample_weight=sample_weight,
                        workers=where, block_rows=block_rows, dtype=dtype, spool_id=spool_id)
    return Loaded(engine, scaler, moments, flags, any(nan for _, _, nan in summaries))


def _file_size(path: str) -> float:
    try:
        return float(max(os.path.getsize(path), 1))
    except OSError:
        return 1.0


def load(client, paths: list, fmt: CsvFormat, names: tuple, selected: list, standardize: bool,
         feature_names: list, missing: bool = False, uniform: bool = False):
    """Unweighted partitions in memory (see :func:`load_partitions`): (engine, scaler or None, moments)."""
    split = functools.partial(plain_blocks, selected=list(selected), missing=missing)
    loaded = load_partitions(client, paths, fmt, names, split, standardize, feature_names, uniform=uniform)
    return loaded.engine, loaded.scaler, loaded.moments
