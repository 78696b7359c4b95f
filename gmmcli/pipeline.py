"""The application layer: one function per command, returning values, printing nothing.

read → scale → engine → EM → result. Output is written through
:class:`~gmmcli.io.atomic.AtomicFile` (opened before any work, so an
unwritable destination fails fast) or handed back to the caller as bytes.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Optional

import numpy as np

from gmmcli.core import COVARIANCE_TYPES
from gmmcli.core.diagnostics import COLLAPSE_FACTOR, collapsed_components, min_variances
from gmmcli.core.em import EMResult, run_em
from gmmcli.core.init import INIT_METHODS, initialize
from gmmcli.core.params import GaussianMixtureParams, permute_components, rescale_params
from gmmcli.core.stats import (
    LOWEST, block_statistics, estimate_weighted_log_prob, row_log_likelihood, score_rows,
)
from gmmcli.engines.memory import MemoryEngine
from gmmcli.engines.spool import (
    SpoolEngine, SpoolWriter, available_memory, block_rows_for, remove as remove_spool,
)
from gmmcli.errors import ConvergenceError, DataError, NumericalError, UsageError
from gmmcli.io.atomic import AtomicFile
from gmmcli.io.csv_reader import DEFAULT_BLOCK_BYTES, CsvFormat, CsvReader, resolve_columns
from gmmcli.io.model_file import Model, dumps_model, read_model
from gmmcli.io.predictions import OUTPUT_FIELDS, PredictionWriter
from gmmcli.io.source import STDIN
from gmmcli.parallel import default_threads, ordered_map
from gmmcli.scaler import Scaler, fit_scaler, scaler_from_moments

QUANTILE_LEVELS = (0.0001, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
# A component whose responsibilities add up to less than this many rows has
# effectively died; it is reported, and recorded in the model's diagnostics.
DEAD_COMPONENT_ROWS = 1.0
# Predict streams the input in blocks of about this many bytes: memory is flat in the input size.
PREDICT_BLOCK_BYTES = 4 << 20


# ---------------------------------------------------------------- fit
@dataclass(frozen=True)
class FitRequest:
    """Everything ``gmmcli fit`` needs (the CLI's options, validated here)."""

    input: str = STDIN
    output: Optional[str] = None
    fmt: CsvFormat = CsvFormat()
    columns: Optional[str] = None
    n_components: int = 1
    covariance_type: str = "full"
    reg_covar: float = 1e-6
    tol: float = 1e-3
    max_iter: int = 100
    n_init: int = 1
    init: str = "kmeans++"
    init_model: Optional[str] = None
    seed: int = 0
    standardize: bool = True
    strict: bool = False
    max_memory: Optional[int] = None
    dtype: str = "float64"


@dataclass(frozen=True)
class FitResult:
    model: Model
    document: bytes
    notes: tuple = ()
    seconds: float = 0.0


def validate_fit_request(req: FitRequest) -> None:
    """Raise UsageError naming the first invalid option."""
    checks = [
        (req.n_components >= 1, f"-k/--components must be at least 1 (got {req.n_components})"),
        (math.isfinite(req.tol) and req.tol >= 0, f"--tol must be a finite number >= 0 (got {req.tol})"),
        (req.max_iter >= 0, f"--max-iter must be >= 0 (got {req.max_iter})"),
        (math.isfinite(req.reg_covar) and req.reg_covar >= 0,
         f"--reg-covar must be a finite number >= 0 (got {req.reg_covar})"),
        (req.n_init >= 1, f"--n-init must be at least 1 (got {req.n_init})"),
        (req.covariance_type in COVARIANCE_TYPES,
         f"--covariance must be one of {', '.join(COVARIANCE_TYPES)} (got {req.covariance_type!r})"),
        (req.init in INIT_METHODS, f"--init must be one of {', '.join(INIT_METHODS)} (got {req.init!r})"),
        (req.seed >= 0, f"--seed must be >= 0 (got {req.seed})"),
        (req.init_model is None or req.n_init == 1, "--n-init cannot be combined with --init-model"),
        (req.dtype in ("float64", "float32"), f"--dtype must be float64 or float32 (got {req.dtype!r})"),
        (req.max_memory is None or req.max_memory > 0, "--max-memory must be positive"),
    ]
    for ok, message in checks:
        if not ok:
            raise UsageError(message)


def fit(req: FitRequest, on_iteration: Optional[Callable[[int, int, float], None]] = None) -> FitResult:
    """Fit a mixture to ``req.input``; write the model to ``req.output`` or return it.

    ``on_iteration(restart, n_iter, mean_log_likelihood)`` is called after every E-step.
    """
    started = time.perf_counter()
    validate_fit_request(req)
    refuse_overwriting_input(req.input, req.output)
    out = AtomicFile(req.output) if req.output else None
    data = None
    try:
        init_model = read_model(req.init_model) if req.init_model else None
        data = load_training_data(req, init_model)
        start = None if init_model is None else warm_start(init_model, data.scaler, req.covariance_type)
        runs = run_restarts(req, data.engine, data.shift, start, on_iteration)
        model, more_notes = build_model(req, data, runs, keep_order=start is not None)
        if req.strict:
            enforce_strict(req, model)
        document = dumps_model(model)
        if out is not None:
            out.write(document)
            out.commit()
    except BaseException:
        if out is not None:
            out.discard()
        raise
    finally:
        if data is not None:
            data.close()
    return FitResult(model, document, data.notes + more_notes, time.perf_counter() - started)


def enforce_strict(req: FitRequest, model: Model) -> None:
    """Under ``--strict``, non-convergence and dead components are failures (nothing is written)."""
    if not model.converged:
        raise ConvergenceError(
            f"EM did not converge in {model.n_iter} iterations (tol {req.tol:g}); "
            "raise --max-iter or --tol (--strict)"
        )
    if model.diagnostics["dead_components"]:
        raise NumericalError(
            f"{model.diagnostics['dead_components']} component(s) died (less than one row of weight); "
            "lower -k (--strict)"
        )
    if model.diagnostics["collapsed_components"]:
        raise NumericalError(
            f"component(s) {', '.join(map(str, model.diagnostics['collapsed_components']))} collapsed "
            "(duplicated rows?); lower -k or raise --reg-covar (--strict)"
        )


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
    warnings: list = field(default_factory=list)

    def close(self) -> None:
        if self.spool_path:
            remove_spool(self.spool_path)


def load_training_data(req: FitRequest, init_model: Optional[Model]) -> TrainingData:
    """Parse the selected columns into memory, or spool them to disk under ``--max-memory``."""
    max_memory = req.max_memory or automatic_memory_limit(req.input)
    reader = CsvReader(req.input, req.fmt, block_bytes=_reader_block_bytes(max_memory))
    try:
        names, selected, notes = training_columns(req, reader, init_model)
        if max_memory is None:
            data = _load_in_memory(req, reader, selected, names)
        else:
            data = _load_spooled(req, reader, selected, names, max_memory)
    finally:
        reader.close()
    data.notes = tuple(notes) + tuple(data.warnings)
    n = data.engine.n_samples
    if n == 0 or n < req.n_components:
        data.close()
        if n == 0:
            raise DataError(f"{reader.name}: no data rows")
        raise DataError(f"{reader.name}: {n} rows, fewer than the {req.n_components} components asked for")
    return data


def training_columns(req: FitRequest, reader: CsvReader, init_model: Optional[Model]):
    if init_model is not None:
        selected, notes = model_columns(reader, init_model), []
    else:
        selected, skipped = resolve_columns(req.columns, reader.names, reader.numeric)
        notes = [f"note: ignoring non-numeric column(s): {', '.join(repr(s) for s in skipped)}"] if skipped else []
    if not selected:
        raise DataError(f"{reader.name}: no numeric columns to fit{reader.delimiter_hint()}")
    return [reader.names[j] for j in selected], selected, notes


def _load_in_memory(req, reader, selected, names) -> TrainingData:
    blocks = [b.X for b in reader.blocks(selected)]
    X = np.concatenate(blocks) if blocks else np.empty((0, len(selected)))
    if len(X) < max(1, req.n_components):
        return TrainingData(names, MemoryEngine(X), None, np.zeros(len(names)))
    if len(X) == 1 and req.standardize:
        raise DataError(f"{reader.name}: only 1 data row; standardizing needs at least 2 (or --no-standardize)")
    scaler = fit_scaler(X, names) if req.standardize else None
    Z = X if scaler is None else scaler.transform(X)
    shift = np.zeros(Z.shape[1]) if scaler is not None else Z.mean(axis=0)
    engine = MemoryEngine(Z, covariance_type=req.covariance_type, dtype=req.dtype)
    data = TrainingData(names, engine, scaler, shift)
    data.warnings = shape_warnings(Z - shift, names, req)
    return data


def shape_warnings(Zc: np.ndarray, names, req: FitRequest) -> list:
    """Warnings about data that fit, but poorly: collinear columns, too few rows per component."""
    out = []
    d = Zc.shape[1]
    if req.covariance_type == "full" and len(Zc) / req.n_components <= d:
        out.append(f"warning: {len(Zc)} rows for {req.n_components} full-covariance component(s) of {d} "
                   "columns: each covariance is mostly --reg-covar (try --covariance diag or lower -k)")
    if 1 < d <= 200:
        cov = Zc.T @ Zc
        scale = np.sqrt(np.diag(cov))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = cov / np.outer(scale, scale)
        i, j = np.nonzero(np.triu(np.abs(corr) > 1 - 1e-10, k=1))
        for a, b in list(zip(i, j))[:3]:
            out.append(f"warning: columns {names[a]!r} and {names[b]!r} are perfectly correlated "
                       "(their covariance is singular but for --reg-covar)")
    return out


def _load_spooled(req, reader, selected, names, max_memory) -> TrainingData:
    n_threads = default_threads()
    block_rows = block_rows_for(max_memory, len(names), n_threads, req.covariance_type)
    fd, path = tempfile.mkstemp(prefix="gmmcli-spool-", suffix=".f64", dir=os.environ.get("GMMCLI_TMPDIR"))
    os.close(fd)
    try:
        writer = SpoolWriter(path, len(names), block_rows)
        for block in reader.blocks(selected):
            writer.write(block.X)
        writer.close()
        engine = SpoolEngine(path, writer.n_samples, len(names), block_rows, n_threads, dtype=req.dtype)
        if writer.n_samples < max(1, req.n_components):
            return TrainingData(names, engine, None, np.zeros(len(names)), spool_path=path)
        scaler = scaler_from_moments(writer.moments, names) if req.standardize else None
        if scaler is not None:
            engine.standardize(scaler)
        shift = np.zeros(len(names)) if scaler is not None else writer.moments.mean * writer.moments.unit
        return TrainingData(names, engine, scaler, shift, spool_path=path)
    except BaseException:
        remove_spool(path)
        raise


def _reader_block_bytes(max_memory: Optional[int]) -> int:
    return DEFAULT_BLOCK_BYTES if max_memory is None else int(np.clip(max_memory // 16, 1 << 20, DEFAULT_BLOCK_BYTES))


def automatic_memory_limit(input_path: str) -> Optional[int]:
    """Spool automatically when a file's parsed matrix would take over half the available memory."""
    if input_path == STDIN or not os.path.isfile(input_path):
        return None
    available = available_memory()
    size = os.path.getsize(input_path)
    if input_path.lower().endswith((".gz", ".bz2", ".xz", ".zst")):
        size *= 4  # a rough decompression ratio for numeric text
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
        raise DataError(
            f"{reader.name}: missing column(s) the model needs: {', '.join(repr(m) for m in missing)}"
        )
    return [reader.names.index(n) for n in model.feature_names]


def warm_start(model: Model, scaler: Optional[Scaler], covariance_type: str) -> GaussianMixtureParams:
    """The init model's parameters moved into this fit's (standardized) space."""
    if model.params.covariance_type != covariance_type:
        raise UsageError(
            f"--init-model has covariance type {model.params.covariance_type!r}, "
            f"but --covariance is {covariance_type!r}"
        )
    d = model.params.n_features
    old = model.scaler or Scaler(np.zeros(d), np.ones(d))
    new = scaler or Scaler(np.zeros(d), np.ones(d))
    if np.array_equal(old.mean, new.mean) and np.array_equal(old.scale, new.scale):
        return model.params
    return rescale_params(model.params, old.scale / new.scale, (old.mean - new.mean) / new.scale)


@dataclass(frozen=True)
class Restart:
    seed: int
    result: Optional[EMResult]
    error: Optional[str] = None


def run_restarts(req: FitRequest, engine, shift, start, on_iteration) -> list:
    """Run ``n_init`` EM restarts; a restart that fails numerically is recorded, not fatal."""
    seeds = np.random.SeedSequence(req.seed).generate_state(req.n_init, dtype=np.uint64)
    runs = []
    for restart, seed in enumerate(seeds):
        rng = np.random.default_rng(int(seed))
        callback = None if on_iteration is None else partial(_report, on_iteration, restart, engine.n_samples)
        try:
            params = start if start is not None else initialize(
                engine, req.n_components, req.covariance_type, req.init, rng, req.reg_covar, shift
            )
            result = run_em(
                lambda p: engine.reduce(partial(block_statistics, params=p, shift=shift)),
                params, reg_covar=req.reg_covar, tol=req.tol, max_iter=req.max_iter,
                on_iteration=callback,
            )
            if not np.isfinite(result.final_log_likelihood):
                raise NumericalError("the log-likelihood is not finite")
            runs.append(Restart(int(seed), result))
        except NumericalError as exc:
            runs.append(Restart(int(seed), None, str(exc)))
    if all(r.result is None for r in runs):
        raise NumericalError(runs[0].error if len(runs) == 1 else f"all {len(runs)} restarts failed: {runs[0].error}")
    return runs


def _report(callback, restart, n_samples, n_iter, total):
    callback(restart, n_iter, total / n_samples)


def choose_restart(runs: list, reg_covar: float) -> int:
    """The restart with the fewest collapsed components, then the highest log-likelihood.

    A component collapsed onto duplicated rows has an unbounded density, so its
    likelihood would otherwise always win; first among equals on ties.
    """
    def key(i):
        r = runs[i].result
        if r is None:
            return (1, 0, 0.0)
        return (0, len(collapsed_components(r.params, reg_covar)), -r.final_log_likelihood)
    return min(range(len(runs)), key=key)


def canonical_order(params: GaussianMixtureParams) -> np.ndarray:
    """Components by decreasing weight, ties broken by the means (lexicographic)."""
    keys = [tuple(-params.weights[k:k + 1]) + tuple(params.means[k]) for k in range(params.n_components)]
    return np.array(sorted(range(params.n_components), key=lambda k: keys[k]))


def build_model(req: FitRequest, data: TrainingData, runs, keep_order: bool):
    """Assemble the model document from the chosen restart."""
    names, scaler, engine = data.names, data.scaler, data.engine
    chosen = choose_restart(runs, req.reg_covar)
    result = runs[chosen].result
    params = result.params
    if not keep_order:
        params = permute_components(params, canonical_order(params))
    log_jacobian = 0.0 if scaler is None else scaler.log_jacobian
    n = engine.n_samples
    row_ll = engine.map_rows(partial(row_log_likelihood, params=params)) + log_jacobian
    total = result.final_log_likelihood
    nk = np.sort(result.statistics.nk)
    dead = int((nk < DEAD_COMPONENT_ROWS).sum())
    notes = []
    if dead:
        notes.append(
            f"warning: {dead} component(s) hold fewer than {DEAD_COMPONENT_ROWS:g} row(s) of weight "
            "(too many components for the data?)"
        )
    collapsed = [int(c) for c in collapsed_components(params, req.reg_covar)]
    if collapsed:
        notes.append(
            f"warning: component(s) {', '.join(map(str, collapsed))} collapsed: their variance in some direction is "
            f"no more than {COLLAPSE_FACTOR:g} x --reg-covar (duplicated rows, or more components than the "
            "data support?)"
        )
    failed = [i for i, r in enumerate(runs) if r.result is None]
    if failed:
        notes.append(f"warning: {len(failed)} of {len(runs)} restart(s) failed numerically and were skipped")
    model = Model(
        params=params,
        feature_names=tuple(names),
        has_header=req.fmt.has_header,
        scaler=scaler,
        settings={
            "n_components": req.n_components, "covariance_type": req.covariance_type,
            "tol": req.tol, "reg_covar": req.reg_covar, "max_iter": req.max_iter,
            "n_init": req.n_init, "init": "model" if req.init_model else req.init,
            "seed": req.seed, "standardize": req.standardize, "dtype": req.dtype,
        },
        n_samples=int(n),
        converged=result.converged,
        n_iter=result.n_iter,
        history={
            "chosen": chosen,
            "restarts": [
                {
                    "restart": i, "seed": r.seed,
                    "log_likelihood": list(r.result.log_likelihood) if r.result else [],
                    "n_iter": r.result.n_iter if r.result else 0,
                    "converged": r.result.converged if r.result else False,
                    "error": r.error,
                }
                for i, r in enumerate(runs)
            ],
        },
        log_likelihood={
            "total": total, "mean": total / n,
            "total_original_units": total + n * log_jacobian,
            "mean_original_units": total / n + log_jacobian,
        },
        log_likelihood_quantiles={
            f"{q:g}": float(v) for q, v in zip(QUANTILE_LEVELS, np.quantile(row_ll, QUANTILE_LEVELS))
        },
        diagnostics={
            "min_component_rows": float(nk[0]),
            "dead_components": dead,
            "collapsed_components": collapsed,
            "min_variances": [float(v) for v in min_variances(params)],
            "failed_restarts": len(failed),
        },
    )
    return model, tuple(notes)


# ---------------------------------------------------------------- predict
@dataclass(frozen=True)
class PredictRequest:
    model: str
    input: str = STDIN
    output: Optional[str] = None
    fmt: Optional[CsvFormat] = None
    keep: Optional[str] = None
    fields: tuple = OUTPUT_FIELDS
    output_format: str = "csv"
    block_bytes: int = PREDICT_BLOCK_BYTES


@dataclass(frozen=True)
class PredictResult:
    n_rows: int
    seconds: float


def open_for_model(model: Model, input_path: str, fmt: Optional[CsvFormat], keep_spec: Optional[str],
                   block_bytes: int = PREDICT_BLOCK_BYTES):
    """A reader of ``input_path`` and the indices of the model's and the kept columns."""
    fmt = fmt or CsvFormat(has_header=model.has_header)
    reader = CsvReader(input_path, fmt, block_bytes=block_bytes)
    try:
        selected = model_columns(reader, model)
        keep, _ = resolve_columns(keep_spec, reader.names, [True] * len(reader.names)) if keep_spec else ([], [])
    except BaseException:
        reader.close()
        raise
    return reader, selected, keep


def score_block(model: Model, X: np.ndarray):
    """log p(x) in original units, and responsibilities, for raw rows ``X``."""
    Z = X if model.scaler is None else model.scaler.transform(X)
    log_norm, resp = score_rows(Z, model.params)
    jac = 0.0 if model.scaler is None else model.scaler.log_jacobian
    return np.maximum(log_norm + jac, LOWEST), resp


def _score_and_format(model: Model, writer: PredictionWriter, block) -> tuple:
    log_likelihood, resp = score_block(model, block.X)
    return len(block.X), writer.format(block.keep, resp, log_likelihood)


def predict(req: PredictRequest, sink: Callable[[bytes], None]) -> PredictResult:
    """Stream per-row probabilities of ``req.input`` under the model to ``sink`` (or ``req.output``)."""
    started = time.perf_counter()
    refuse_overwriting_input(req.input, req.output)
    out = AtomicFile(req.output) if req.output else None
    try:
        model = read_model(req.model)
        reader, selected, keep = open_for_model(model, req.input, req.fmt, req.keep, req.block_bytes)
        writer = PredictionWriter(
            out.write if out else sink, req.output_format, [reader.names[j] for j in keep],
            model.n_components, req.fields,
        )
        n_rows = 0
        score = partial(_score_and_format, model, writer)
        try:
            for n, data in ordered_map(score, reader.blocks(selected, keep), default_threads()):
                writer.sink(data)
                n_rows += n
        finally:
            reader.close()
        if out is not None:
            out.commit()
    except BaseException:
        if out is not None:
            out.discard()
        raise
    return PredictResult(n_rows, time.perf_counter() - started)


# ---------------------------------------------------------------- explain
@dataclass(frozen=True)
class Explanation:
    """The four layers of one prediction (see ``render.render_explanation``)."""

    row: int
    line: int
    feature_names: tuple
    raw: np.ndarray
    standardized: Optional[np.ndarray]
    log_weights: np.ndarray
    log_densities: np.ndarray
    probabilities: np.ndarray
    label: int
    log_likelihood: float


def explain(model_path: str, input_path: str, row: int, fmt: Optional[CsvFormat] = None) -> Explanation:
    """Explain the prediction for data row ``row`` (1-based) of the input."""
    if row < 1:
        raise UsageError(f"--explain takes a data row number >= 1 (got {row})")
    model = read_model(model_path)
    reader, selected, _ = open_for_model(model, input_path, fmt, None)
    seen = 0
    try:
        for block in reader.blocks(selected):
            if seen + len(block.X) >= row:
                x = block.X[row - seen - 1]
                break
            seen += len(block.X)
        else:
            raise UsageError(f"--explain {row}: {reader.name} has only {seen} data rows")
    finally:
        reader.close()
    z = None if model.scaler is None else model.scaler.transform(x[None, :])[0]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        weighted = estimate_weighted_log_prob((x if z is None else z)[None, :], model.params)[0]
        log_weights = np.log(model.params.weights)
    log_norm, resp = score_rows((x if z is None else z)[None, :], model.params)
    jac = 0.0 if model.scaler is None else model.scaler.log_jacobian
    return Explanation(
        row, row + (1 if reader.fmt.has_header else 0), model.feature_names, x, z,
        log_weights, weighted - log_weights, resp[0], int(resp[0].argmax()), float(log_norm[0] + jac),
    )


# ---------------------------------------------------------------- trace
def trace(model_path: str) -> Model:
    """The model whose log-likelihood history ``gmmcli trace`` shows."""
    return read_model(model_path)
