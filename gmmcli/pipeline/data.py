"""Training data: parse the selected columns, standardize, and put them behind an engine."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from functools import partial
from typing import Callable, Optional

import numpy as np

from gmmcli.core.models import DEFAULT_MODEL
from gmmcli.engines.base import Engine
from gmmcli.engines.memory import MemoryEngine
from gmmcli.engines.spool import SpoolEngine, SpoolWriter, available_memory, block_rows_for, remove as remove_spool
from gmmcli.errors import DataError, UsageError
from gmmcli.io.csv_reader import DEFAULT_BLOCK_BYTES, CsvFormat, resolve_columns
from gmmcli.io.inputs import expand_inputs, model_columns, open_inputs
from gmmcli.io.model_file import Model
from gmmcli.io.source import STDIN, display_name
from gmmcli.parallel import default_threads
from gmmcli.scaler import Scaler, block_moments, column_unit, fit_scaler, scaler_from_moments

# Column names that usually hold row identifiers, not measurements.
ID_NAME = re.compile(r"(?i)(id|row_?id|index|idx|key|.*[_ .-]id)")
SHAPE_CHECK_ROWS = 100_000


@dataclass(frozen=True)
class DataRequest:
    """Where the training rows come from and how to read them (nested in fit's and select's requests)."""

    inputs: tuple = (STDIN,)
    fmt: CsvFormat = CsvFormat()
    columns: Optional[str] = None
    weight_column: Optional[str] = None
    noise_column: Optional[str] = None  # 0/1: the rows that start as noise (never a feature)
    missing: str = "error"
    standardize: bool = True
    uniform_scale: bool = False  # one scale for every column (models that per-column scaling would change)
    max_memory: Optional[int] = None
    dtype: str = "float64"
    engine: str = "memory"
    scheduler: Optional[str] = None


def refuse_overwriting_input(inputs, output: Optional[str]) -> None:
    """An output that is one of the inputs would destroy it: a usage error."""
    for path in inputs:
        if output and path != STDIN and os.path.exists(output) and os.path.exists(path):
            if os.path.samefile(path, output):
                raise UsageError(f"{output}: the output would overwrite the input")


@dataclass
class TrainingData:
    """The parsed rows behind an engine, in the fitted space of ``scaler`` (never None:
    ``Scaler.identity`` when not standardizing), accumulated about ``shift``."""

    names: list
    engine: Engine
    scaler: Scaler
    shift: np.ndarray
    notes: tuple = ()
    has_missing: bool = False
    noise_flags: Optional[np.ndarray] = None  # per row, from DataRequest.noise_column
    noise: Optional[object] = None  # the noise component's NoiseSetup (pipeline.noise), when fitting one

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> "TrainingData":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def load_training_data(req: DataRequest, *, n_components: int = 1, covariance_type: str = DEFAULT_MODEL,
                       init_model: Optional[Model] = None, on_note: Optional[Callable] = None) -> TrainingData:
    """Parse the selected columns into memory, or spool them to disk under ``--max-memory``,
    or onto a Dask cluster with ``--engine dask``.

    ``n_components``: the fewest rows that make a fit; ``covariance_type`` sets the engines'
    block size; ``init_model``: take its columns.
    """
    if req.engine == "dask":
        data = load_on_dask(req, init_model, on_note, covariance_type)
    else:
        data = load_locally(req, covariance_type, init_model)
    w = data.engine.sample_weight
    n = data.engine.n_samples if w is None else int(np.count_nonzero(w))
    if n == 0 or n < n_components:
        data.close()
        where = inputs_name(req.inputs)
        if n == 0:
            raise DataError(f"{where}: no data rows")
        raise DataError(f"{where}: {n} rows, fewer than the {n_components} components asked for")
    return data


def inputs_name(inputs) -> str:
    """The inputs as named in messages: the file, or the first and a count."""
    first = display_name(inputs[0])
    return first if len(inputs) == 1 else f"{first} (and {len(inputs) - 1} more)"


def load_locally(req: DataRequest, covariance_type: str, init_model: Optional[Model]) -> TrainingData:
    """The memory engine, or the spool engine when the data would not fit in memory."""
    paths = expand_inputs(req.inputs)
    max_memory = req.max_memory or automatic_memory_limit(paths)
    reader = open_inputs(paths, req.fmt, block_bytes=_reader_block_bytes(max_memory))
    try:
        selected, notes = training_columns(req, reader, init_model)
        weight_index = weight_column(req, reader, selected)
        noise_index = side_column(req.noise_column, "--noise-init", req, reader, selected)
        names = [reader.names[j] for j in selected]
        blocks = weighted_blocks(reader, selected, weight_index, req.missing == "marginalize", noise_index)
        if max_memory is None:
            data = _load_in_memory(req, blocks, names, covariance_type)
        else:
            data = _load_spooled(req, blocks, names, max_memory, covariance_type)
    finally:
        reader.close()
    data.notes = tuple(notes) + data.notes
    return data


def load_on_dask(req: DataRequest, init_model: Optional[Model], on_note=None,
                 covariance_type: str = DEFAULT_MODEL) -> TrainingData:
    """The training data as partitions on a Dask cluster (one file per partition), with their
    weights and noise flags; with --max-memory each worker spools its partitions to its local
    disk and reads them block by block on every pass."""
    from gmmcli.engines import dask_engine

    dask_engine.require_dask()
    paths = dask_engine.expand_inputs(req.inputs)
    reader = open_inputs(paths[:1], req.fmt)
    try:
        selected, notes = training_columns(req, reader, init_model)
        weight_index = weight_column(req, reader, selected)
        noise_index = side_column(req.noise_column, "--noise-init", req, reader, selected)
    finally:
        reader.close()
    names = [reader.names[j] for j in selected]
    # the workers read each file as the local engines do: the same checks of weights and flags
    split = partial(weighted_blocks, selected=selected, weight_index=weight_index,
                    missing=req.missing == "marginalize", noise_index=noise_index)
    client = dask_engine.connect(req.scheduler)
    link = getattr(client, "dashboard_link", None)
    if link and on_note is not None:
        on_note(f"note: Dask dashboard at {link}")
    try:
        loaded = dask_engine.load_partitions(
            client, paths, req.fmt, tuple(reader.names), split, req.standardize, names,
            weighted=weight_index is not None, flagged=noise_index is not None, uniform=req.uniform_scale,
            max_memory=req.max_memory, block_bytes=_reader_block_bytes(req.max_memory), dtype=req.dtype,
            covariance_type=covariance_type)
    except BaseException:
        dask_engine.close_client(client)
        raise
    moments = loaded.moments
    shift = np.zeros(len(names)) if req.standardize else moments.mean * moments.unit
    notes += [f"note: Dask dashboard at {link}"] if link and on_note is None else []
    return TrainingData(names, loaded.engine, loaded.scaler or Scaler.identity(len(names)), shift,
                        notes=tuple(notes), has_missing=loaded.has_missing, noise_flags=loaded.noise_flags)


def training_columns(req: DataRequest, reader, init_model: Optional[Model]):
    """(indices of the feature columns, notes): the init model's, -c's, or every numeric column."""
    if init_model is not None:
        selected, notes = model_columns(reader, init_model.feature_names, init_model.has_header), []
    else:
        selected, skipped = resolve_columns(req.columns, reader.names, reader.numeric)
        refuse_decimal_commas(reader, [s for s in skipped if s in reader.decimal_comma])
        notes = [f"note: ignoring non-numeric column(s): {', '.join(repr(s) for s in skipped)}"] if skipped else []
    if not selected:
        hint = " (a model file? fit and select read data)" if reader.name.lower().endswith(".json") else \
            reader.delimiter_hint()
        raise DataError(f"{reader.name}: no numeric columns to fit{hint}")
    notes += [f"warning: column {reader.names[j]!r} looks like a row identifier but is used as a feature "
              f"(to leave it out: -c '!{reader.names[j]}')" for j in selected if ID_NAME.fullmatch(reader.names[j])]
    return selected, notes


def refuse_decimal_commas(reader, columns: list) -> None:
    """Columns of decimal-comma numbers would be dropped as non-numeric: say so instead."""
    if columns:
        raise DataError(f"{reader.name}: column(s) {', '.join(repr(c) for c in columns)} hold numbers with a "
                        "decimal comma; read them with --decimal , (or select the columns to fit with -c)")


def identifier_columns(X: np.ndarray, names) -> list:
    """Warnings for columns of unique integers in increasing order (row numbers), unless their
    name already drew the warning (``ID_NAME``)."""
    out = []
    if len(X) < 3:
        return out
    for j, name in enumerate(names):
        column = X[:, j]
        if ID_NAME.fullmatch(name) or not np.all(np.isfinite(column)):
            continue
        if np.all(np.diff(column) > 0) and np.all(column == np.round(column)):
            out.append(f"warning: column {name!r} holds unique integers in increasing order, like a row "
                       f"identifier, but is used as a feature (to leave it out: -c '!{name}')")
    return out


def weight_column(req: DataRequest, reader, selected: list) -> Optional[int]:
    """Index of --weight-column (never a feature), or None."""
    return side_column(req.weight_column, "--weight-column", req, reader, selected)


def side_column(spec: Optional[str], option: str, req: DataRequest, reader, selected: list) -> Optional[int]:
    """Index of the one column ``spec`` names for ``option`` (taken out of the features), or None."""
    if spec is None:
        return None
    index, _ = resolve_columns(spec, reader.names, [True] * len(reader.names))
    if len(index) != 1:
        raise UsageError(f"{option} takes one column (got {spec!r})")
    if index[0] in selected:
        if req.columns is not None:
            raise UsageError(f"{option} {reader.names[index[0]]!r} is also selected as a feature by -c")
        selected.remove(index[0])
    return index[0]


def weighted_blocks(reader, selected: list, weight_index: Optional[int], missing: bool = False,
                    noise_index: Optional[int] = None):
    """(X, weights or None, noise flags or None) per block; a negative weight, or a noise flag
    other than 0 or 1, is an error naming its line.

    With ``missing``, empty cells and NA tokens of the features are NaN (weights may not be missing).
    """
    extra = [j for j in (weight_index, noise_index) if j is not None]
    for block in reader.blocks(selected + extra, missing=missing):
        X = block.X[:, :len(selected)]
        w = flags = None
        if weight_index is not None:
            w = np.ascontiguousarray(block.X[:, len(selected)])
            _refuse_rows(block, reader, weight_index, ~(w >= 0),
                         lambda v: "missing weight" if np.isnan(v) else f"negative weight {v:g}", w)
        if noise_index is not None:
            values = block.X[:, -1]
            _refuse_rows(block, reader, noise_index, ~((values == 0) | (values == 1)),
                         lambda v: f"noise flag {v:g} (give 0 or 1)", values)
            flags = values == 1
        yield X, w, flags


def _refuse_rows(block, reader, column: int, bad_rows: np.ndarray, what, values) -> None:
    bad = np.flatnonzero(bad_rows)
    if bad.size:
        raise DataError(f"{block.location(int(bad[0]))}, column {reader.names[column]!r}: {what(values[bad[0]])}")


def _load_in_memory(req: DataRequest, blocks, names, covariance_type: str) -> TrainingData:
    parts = list(blocks)
    X = np.empty((sum(len(x) for x, _, _ in parts), len(names)), order="F")  # the engines' layout, no copies
    start = 0
    for x, _, _ in parts:
        X[start:start + len(x)] = x
        start += len(x)
    w = np.concatenate([w for _, w, _ in parts]) if parts and parts[0][1] is not None else None
    flags = np.concatenate([f for _, _, f in parts]) if parts and parts[0][2] is not None else None
    del parts
    if len(X) == 0:
        return TrainingData(names, MemoryEngine(X, w), Scaler.identity(len(names)), np.zeros(len(names)))
    if (len(X) if w is None else np.count_nonzero(w)) == 1 and req.standardize:
        raise DataError(f"{inputs_name(req.inputs)}: only 1 data row; standardizing needs at least 2 "
                        "(or --no-standardize)")
    return rows_in_memory(X, w, names, req, covariance_type, flags)


def rows_in_memory(X: np.ndarray, w: Optional[np.ndarray], names, req: DataRequest, covariance_type: str,
                   noise_flags: Optional[np.ndarray] = None) -> TrainingData:
    """Parsed rows (Fortran-ordered, standardized here in place) behind a memory engine, with
    their scaler, shift and the warnings the data deserve: what fit and the Python API train on."""
    warnings = identifier_columns(X, names)  # before X is standardized in place
    scaler = fit_scaler(X, names, w, req.uniform_scale) if req.standardize else Scaler.identity(len(names))
    Z = scaler.transform(X, out=X)
    shift = np.zeros(Z.shape[1]) if req.standardize else column_means(Z, w)
    engine = MemoryEngine(Z, w, covariance_type=covariance_type, dtype=req.dtype)
    notes = tuple(warnings + collinearity_warnings(Z, shift, names))
    return TrainingData(list(names), engine, scaler, shift, notes=notes, has_missing=bool(np.isnan(Z).any()),
                        noise_flags=noise_flags)


def column_means(X: np.ndarray, weights: Optional[np.ndarray]) -> np.ndarray:
    """(Weighted) column means over the cells present."""
    moments = block_moments(X, column_unit(X), weights)
    return moments.mean * moments.unit


def collinearity_warnings(Z: np.ndarray, shift: np.ndarray, names) -> list:
    """Columns perfectly correlated (checked on the first 100 000 rows: columns collinear on
    all rows are on these)."""
    out = []
    if 1 < Z.shape[1] <= 200:
        Zc = np.nan_to_num(Z[:SHAPE_CHECK_ROWS] - shift)
        cov = Zc.T @ Zc
        scale = np.sqrt(np.diag(cov))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = cov / np.outer(scale, scale)
        i, j = np.nonzero(np.triu(np.abs(corr) > 1 - 1e-10, k=1))
        for a, b in list(zip(i, j))[:3]:
            out.append(f"warning: columns {names[a]!r} and {names[b]!r} are perfectly correlated "
                       "(their covariance is singular but for --reg-covar)")
    return out


def _load_spooled(req: DataRequest, blocks, names, max_memory: int, covariance_type: str) -> TrainingData:
    n_threads = default_threads()
    block_rows = block_rows_for(max_memory, len(names), n_threads, covariance_type)
    fd, path = tempfile.mkstemp(prefix="gmmcli-spool-", suffix=".f64", dir=os.environ.get("GMMCLI_TMPDIR"))
    os.close(fd)
    try:
        writer = SpoolWriter(path, len(names), block_rows)
        weights, flags = [], []
        for X, w, f in blocks:
            writer.write(X, w)
            weights.append(w)
            flags.append(f)
        writer.close()
        w = np.concatenate(weights) if weights and weights[0] is not None else None
        flags = np.concatenate(flags) if flags and flags[0] is not None else None
        engine = SpoolEngine(path, writer.n_samples, len(names), block_rows, n_threads, sample_weight=w,
                             dtype=req.dtype)
        if writer.n_samples == 0:
            return TrainingData(names, engine, Scaler.identity(len(names)), np.zeros(len(names)))
        scaler = scaler_from_moments(writer.moments, names, req.uniform_scale) if req.standardize else \
            Scaler.identity(len(names))
        if req.standardize:
            engine.standardize(scaler)
        shift = np.zeros(len(names)) if req.standardize else writer.moments.mean * writer.moments.unit
        has_missing = bool(np.any(np.asarray(writer.moments.count) < writer.n_samples)) if w is None else \
            req.missing == "marginalize"
        return TrainingData(names, engine, scaler, shift, has_missing=has_missing, noise_flags=flags)
    except BaseException:
        remove_spool(path)
        raise


def _reader_block_bytes(max_memory: Optional[int]) -> int:
    return DEFAULT_BLOCK_BYTES if max_memory is None else int(np.clip(max_memory // 16, 1 << 20, DEFAULT_BLOCK_BYTES))


def automatic_memory_limit(paths) -> Optional[int]:
    """Spool automatically when the files' parsed matrix would take over half the available memory."""
    files = [p for p in paths if p != STDIN and os.path.isfile(p)]
    if not files:
        return None
    # a rough decompression ratio for numeric text; about 8 bytes parsed per ~10 bytes of CSV text
    size = sum(os.path.getsize(p) * (4 if p.lower().endswith((".gz", ".bz2", ".xz", ".zst")) else 1)
               for p in files)
    available = available_memory()
    if size * 0.8 < available / 2:
        return None
    return available // 4
