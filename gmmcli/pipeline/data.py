"""Training data: parse the selected columns, standardize, and put them behind an engine."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Optional

import numpy as np

if TYPE_CHECKING:
    from gmmcli.pipeline.fit import FitRequest

from gmmcli.core.models import MODELS
from gmmcli.core.params import GaussianMixtureParams
from gmmcli.engines.memory import MemoryEngine
from gmmcli.engines.spool import (
    SpoolEngine, SpoolWriter, available_memory, block_rows_for, remove as remove_spool,
)
from gmmcli.errors import DataError, UsageError
from gmmcli.io.csv_reader import DEFAULT_BLOCK_BYTES, CsvReader, parse_number, resolve_columns
from gmmcli.io.inputs import expand_inputs, open_inputs
from gmmcli.io.model_file import Model
from gmmcli.pipeline.compare import in_space_of
from gmmcli.io.source import STDIN
from gmmcli.parallel import default_threads
from gmmcli.scaler import Scaler, block_moments, column_unit, fit_scaler, scaler_from_moments




def refuse_overwriting_input(input_path: str, output: Optional[str]) -> None:
    if output and input_path != STDIN and os.path.exists(output) and os.path.exists(input_path):
        if os.path.samefile(input_path, output):
            raise UsageError(f"{output}: the output would overwrite the input")


@dataclass
class TrainingData:
    """The parsed (and standardized) training data behind an engine."""

    names: list
    engine: object
    scaler: Optional[Scaler]
    shift: np.ndarray
    notes: tuple = ()
    spool_path: Optional[str] = None
    has_missing: bool = False
    warnings: list = field(default_factory=list)

    closer: Optional[object] = None

    def close(self) -> None:
        if self.spool_path:
            remove_spool(self.spool_path)
        if self.closer is not None:
            self.closer()


def load_training_data(req: FitRequest, init_model: Optional[Model], on_note=None) -> TrainingData:
    """Parse the selected columns into memory, or spool them to disk under ``--max-memory``,
    or onto a Dask cluster with ``--engine dask``."""
    if req.engine == "dask":
        return load_on_dask(req, init_model, on_note)
    paths = expand_inputs(req.inputs or (req.input,))
    max_memory = req.max_memory or automatic_memory_limit(paths)
    reader = open_inputs(paths, req.fmt, block_bytes=_reader_block_bytes(max_memory))
    try:
        names, selected, notes = training_columns(req, reader, init_model)
        weight_index = weight_column(req, reader, selected)
        names = [reader.names[j] for j in selected]
        blocks = weighted_blocks(reader, selected, weight_index, req.missing == "marginalize")
        if max_memory is None:
            data = _load_in_memory(req, reader, blocks, names)
        else:
            data = _load_spooled(req, reader, blocks, names, max_memory)
    finally:
        reader.close()
    data.notes = tuple(notes) + tuple(data.warnings)
    w = data.engine.sample_weight
    n = data.engine.n_samples if w is None else int(np.count_nonzero(w))
    if n == 0 or n < req.n_components:
        data.close()
        if n == 0:
            raise DataError(f"{reader.name}: no data rows")
        raise DataError(f"{reader.name}: {n} rows, fewer than the {req.n_components} components asked for")
    return data


def load_on_dask(req, init_model: Optional[Model], on_note=None) -> TrainingData:
    """The training data as partitions on a Dask cluster (one file per partition)."""
    from gmmcli.engines import dask_engine

    dask_engine.require_dask()
    if req.weight_column is not None or req.max_memory is not None:
        raise UsageError("--engine dask does not take --weight-column or --max-memory")
    paths = dask_engine.expand_inputs(req.inputs or (req.input,))
    reader = CsvReader(paths[0], req.fmt)
    try:
        names, selected, notes = training_columns(req, reader, init_model)
    finally:
        reader.close()
    client = dask_engine.connect(req.scheduler)
    link = getattr(client, "dashboard_link", None)
    if link and on_note is not None:
        on_note(f"note: Dask dashboard at {link}")
    try:
        engine, scaler, moments = dask_engine.load(
            client, paths, req.fmt, tuple(reader.names), selected, req.standardize, names,
            req.missing == "marginalize")
    except BaseException:
        _close_client(client)
        raise
    shift = np.zeros(len(names)) if scaler is not None else moments.mean * moments.unit
    notes = list(notes) + ([f"note: Dask dashboard at {link}"] if link and on_note is None else [])
    data = TrainingData(names, engine, scaler, shift, notes=tuple(notes), has_missing=req.missing == "marginalize",
                        closer=partial(_close_client, client))
    if engine.n_samples < req.n_components:
        data.close()
        raise DataError(f"{paths[0]}…: {engine.n_samples} rows, fewer than the {req.n_components} components asked for")
    return data


def _close_client(client) -> None:
    cluster = getattr(client, "cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


def training_columns(req: FitRequest, reader: CsvReader, init_model: Optional[Model]):
    if init_model is not None:
        selected, notes = model_columns(reader, init_model), []
    else:
        selected, skipped = resolve_columns(req.columns, reader.names, reader.numeric)
        refuse_decimal_commas(reader, [s for s in skipped if s in reader.decimal_comma])
        notes = [f"note: ignoring non-numeric column(s): {', '.join(repr(s) for s in skipped)}"] if skipped else []
    if not selected:
        raise DataError(f"{reader.name}: no numeric columns to fit{reader.delimiter_hint()}")
    names = [reader.names[j] for j in selected]
    notes += [f"warning: column {name!r} looks like a row identifier but is used as a feature "
              f"(to leave it out: -c '!{name}')" for name in names if ID_NAME.fullmatch(name)]
    return names, selected, notes


# Column names that usually hold row identifiers, not measurements.
ID_NAME = re.compile(r"(?i)(id|row_?id|index|idx|key|.*[_ .-]id)")


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


def weight_column(req, reader: CsvReader, selected: list) -> Optional[int]:
    """Index of --weight-column (never a feature), or None."""
    if req.weight_column is None:
        return None
    index, _ = resolve_columns(req.weight_column, reader.names, [True] * len(reader.names))
    if len(index) != 1:
        raise UsageError(f"--weight-column takes one column (got {req.weight_column!r})")
    if index[0] in selected:
        if req.columns is not None:
            raise UsageError(f"--weight-column {reader.names[index[0]]!r} is also selected as a feature by -c")
        selected.remove(index[0])
    return index[0]


def weighted_blocks(reader: CsvReader, selected: list, weight_index: Optional[int], missing: bool = False):
    """(X, weights or None) per block; a negative weight is an error naming its line.

    With ``missing``, empty cells and NA tokens of the features are NaN (weights may not be missing).
    """
    columns = selected + ([] if weight_index is None else [weight_index])
    for block in reader.blocks(columns, missing=missing):
        if weight_index is None:
            yield block.X, None
            continue
        w = np.ascontiguousarray(block.X[:, -1])
        bad = np.flatnonzero(~(w >= 0))
        if bad.size:
            what = "missing weight" if np.isnan(w[bad[0]]) else f"negative weight {w[bad[0]]:g}"
            raise DataError(f"{block.location(int(bad[0]))}, column "
                            f"{reader.names[weight_index]!r}: {what}")
        yield block.X[:, :-1], w


def _load_in_memory(req, reader, blocks, names) -> TrainingData:
    parts = list(blocks)
    X = np.empty((sum(len(x) for x, _ in parts), len(names)), order="F")  # the engines' layout, no copies
    start = 0
    for x, _ in parts:
        X[start:start + len(x)] = x
        start += len(x)
    w = np.concatenate([w for _, w in parts]) if parts and parts[0][1] is not None else None
    del parts
    if len(X) < max(1, req.n_components):
        return TrainingData(names, MemoryEngine(X, w), None, np.zeros(len(names)))
    if (len(X) if w is None else np.count_nonzero(w)) == 1 and req.standardize:
        raise DataError(f"{reader.name}: only 1 data row; standardizing needs at least 2 (or --no-standardize)")
    id_warnings = identifier_columns(X, names)  # before X is standardized in place
    scaler = fit_scaler(X, names, w) if req.standardize else None
    Z = X if scaler is None else scaler.transform(X, out=X)
    shift = np.zeros(Z.shape[1]) if scaler is not None else column_means(Z, w)
    engine = MemoryEngine(Z, w, covariance_type=req.covariance_type, dtype=req.dtype)
    data = TrainingData(names, engine, scaler, shift, has_missing=bool(np.isnan(Z).any()))
    data.warnings = id_warnings + shape_warnings(Z, shift, names, req)
    return data


def column_means(X: np.ndarray, weights: Optional[np.ndarray]) -> np.ndarray:
    """(Weighted) column means over the cells present."""
    moments = block_moments(X, column_unit(X), weights)
    return moments.mean * moments.unit


SHAPE_CHECK_ROWS = 100_000


def shape_warnings(Z: np.ndarray, shift: np.ndarray, names, req: FitRequest) -> list:
    """Warnings about data that fit, but poorly: collinear columns, too few rows per component.

    Collinearity is checked on the first 100 000 rows (columns collinear on all rows are on these).
    """
    out = []
    n, d = Z.shape
    own_matrix = MODELS[req.covariance_type].n_cov_parameters(req.n_components, d) >= req.n_components * d * (d + 1) // 2
    if own_matrix and n / req.n_components <= d:  # a full matrix per component, from ≤ D rows each
        out.append(f"warning: {n} rows for {req.n_components} {req.covariance_type}-covariance component(s) of {d} "
                   "columns: each covariance is mostly --reg-covar (try --covariance diag or lower -k)")
    if 1 < d <= 200:
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


def _load_spooled(req, reader, blocks, names, max_memory) -> TrainingData:
    n_threads = default_threads()
    block_rows = block_rows_for(max_memory, len(names), n_threads, req.covariance_type)
    fd, path = tempfile.mkstemp(prefix="gmmcli-spool-", suffix=".f64", dir=os.environ.get("GMMCLI_TMPDIR"))
    os.close(fd)
    try:
        writer = SpoolWriter(path, len(names), block_rows)
        weights = []
        for X, w in blocks:
            writer.write(X, w)
            weights.append(w)
        writer.close()
        w = np.concatenate(weights) if weights and weights[0] is not None else None
        engine = SpoolEngine(path, writer.n_samples, len(names), block_rows, n_threads, sample_weight=w,
                             dtype=req.dtype)
        if writer.n_samples < max(1, req.n_components):
            return TrainingData(names, engine, None, np.zeros(len(names)), spool_path=path)
        scaler = scaler_from_moments(writer.moments, names) if req.standardize else None
        if scaler is not None:
            engine.standardize(scaler)
        shift = np.zeros(len(names)) if scaler is not None else writer.moments.mean * writer.moments.unit
        has_missing = bool(np.any(np.asarray(writer.moments.count) < writer.n_samples)) if w is None else \
            req.missing == "marginalize"
        return TrainingData(names, engine, scaler, shift, spool_path=path, has_missing=has_missing)
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
    available = available_memory()
    size = sum(os.path.getsize(p) * (4 if p.lower().endswith((".gz", ".bz2", ".xz", ".zst")) else 1)
               for p in files)  # a rough decompression ratio for numeric text
    # about 8 bytes parsed per ~10 bytes of CSV text
    if available is None or size * 0.8 < available / 2:
        return None
    return available // 4


def model_columns(reader: CsvReader, model: Model) -> list:
    """Indices of the model's columns in the input: by name, or by position without a header."""
    if not model.has_header or not reader.fmt.has_header:
        if len(reader.names) < len(model.feature_names):
            raise DataError(
                f"{reader.name}: {len(reader.names)} columns, but the model needs {len(model.feature_names)}"
            )
        return list(range(len(model.feature_names)))
    missing = [n for n in model.feature_names if n not in reader.names]
    if missing:
        hint = ""
        if all(parse_number(name, reader.fmt.decimal) is not None for name in reader.names):
            hint = (" (the input has no header? its first line is numbers; with --no-header the model's "
                    "columns are taken by position)")
        raise DataError(
            f"{reader.name}: missing column(s) the model needs: {', '.join(repr(m) for m in missing)}{hint}"
        )
    return [reader.names.index(n) for n in model.feature_names]


def warm_start(model: Model, scaler: Optional[Scaler], covariance_type: str) -> GaussianMixtureParams:
    """The init model's parameters moved into this fit's (standardized) space."""
    if model.params.covariance_type != covariance_type:
        raise UsageError(
            f"--init-model has covariance type {model.params.covariance_type!r}, "
            f"but --covariance is {covariance_type!r}"
        )
    return in_space_of(model, scaler)


