"""`gmmcli bootstrap`: standard errors and intervals of a fitted mixture's parameters.

mclust's ``MclustBootstrap``: every replicate refits the model's covariance model and k on
resampled (``bs``), reweighted (``wlbs``), simulated (``pb``) or leave-one-out (``jk``) rows,
starting from the fitted parameters. mclust starts each refit's EM with an M-step from the
original responsibilities of the replicate's rows (``me`` with ``z[idx, ]``); EM from the
fitted parameters does the same, since its first E-step gives exactly those responsibilities.
So the components keep their labels, and a replicate's parameters line up with the estimate's.

Replicates run in the model's fitted (standardized) space and are reported in the data's
original units. A replicate whose refit fails (as mclust's returns NA) is redrawn, up to
:data:`~gmmcli.core.bootstrap.MAX_ATTEMPTS` times (a leave-one-out cannot be redrawn).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Optional

import numpy as np

from gmmcli.core.bootstrap import (
    MAX_ATTEMPTS, RESAMPLING_TYPES, parameter_labels, parameter_vector, replicate_rng, resampling_weights,
    summarize_replicates,
)
from gmmcli.core.params import GaussianMixtureParams
from gmmcli.errors import NumericalError, UsageError
from gmmcli.io.atomic import output_file
from gmmcli.io.model_file import Model, write_model
from gmmcli.pipeline.compare import in_space_of
from gmmcli.pipeline.data import DataRequest, TrainingData, load_training_data
from gmmcli.pipeline.fit import with_model_scaling
from gmmcli.pipeline.predict import read_model_argument
from gmmcli.pipeline.replicates import NoiseSampler, RefitSettings, ReplicateRunner, refit, reweighted, simulated
from gmmcli.scaler import Scaler

DEFAULT_REPLICATES = 999  # mclust's nboot
# EM's tolerance in a replicate (change of the mean log-likelihood per row). Stopping early keeps a
# replicate near its start, the fitted parameters, and so shrinks the standard errors: on faithful
# (EEE, k = 3) 1e-5 gives SEs up to 20% too small, 1e-8 within 1% of 1e-9's. A leave-one-out
# replicate moves by O(1/n), so the jackknife needs 1e-10 (mclust's relative 1e-5 stops its
# jackknife refits almost at once, and its jackknife SEs come out about half the bootstrap's).
DEFAULT_TOL = 1e-8
JACKKNIFE_TOL = 1e-10
BOOTSTRAP_COLUMNS = ("parameter", "component", "column", "estimate", "se", "lower", "upper")


@dataclass(frozen=True)
class BootstrapRequest:
    """``gmmcli bootstrap MODEL INPUT``: the data (read as fit reads them) and the resampling."""

    model: str
    data: DataRequest = field(default_factory=DataRequest)
    kind: str = "bs"
    replicates: Optional[int] = None  # None: 999; the jackknife always refits once per row
    seed: int = 0
    jobs: int = 1
    level: float = 0.95
    tol: Optional[float] = None  # None: DEFAULT_TOL, or JACKKNIFE_TOL for jk
    max_iter: int = 1000
    output: Optional[str] = None  # the model with its uncertainty section

    @property
    def refit_tol(self) -> float:
        if self.tol is not None:
            return self.tol
        return JACKKNIFE_TOL if self.kind == "jk" else DEFAULT_TOL


@dataclass(frozen=True)
class BootstrapResult:
    """The rows (``BOOTSTRAP_COLUMNS``, original units), what the replicates did, and the model
    with its ``uncertainty`` section (``document``: its bytes, when ``-o`` wrote them)."""

    rows: tuple
    kind: str
    replicates: int      # replicates whose values make the rows
    failed: int          # refits that failed (redrawn, or lost)
    lost: int            # replicates that failed every attempt (left out)
    not_converged: int   # replicates whose EM stopped at --max-iter (kept)
    model: Model
    document: bytes = b""
    seconds: float = 0.0
    notes: tuple = ()


@dataclass(frozen=True)
class Replicate:
    """One replicate's parameter vector (None when every attempt failed)."""

    index: int
    values: Optional[np.ndarray]
    failures: int
    converged: bool = True
    error: Optional[str] = None


def validate_bootstrap_request(req: BootstrapRequest) -> None:
    """Raise UsageError naming the first invalid option."""
    checks = [
        (req.kind in RESAMPLING_TYPES, f"--type must be one of {', '.join(RESAMPLING_TYPES)} (got {req.kind!r})"),
        (req.replicates is None or req.replicates >= 2, f"--replicates must be at least 2 (got {req.replicates})"),
        (req.replicates is None or req.kind != "jk",
         "--type jk refits once per row (n replicates): leave out --replicates"),
        (req.seed >= 0, f"--seed must be >= 0 (got {req.seed})"),
        (req.jobs >= 1, f"--jobs must be at least 1 (got {req.jobs})"),
        (0 < req.level < 1, f"--level must be between 0 and 1 (got {req.level})"),
        (req.tol is None or (math.isfinite(req.tol) and req.tol >= 0), f"--tol must be a finite number >= 0 (got {req.tol})"),
        (req.max_iter >= 1, f"--max-iter must be at least 1 (got {req.max_iter})"),
        (req.data.engine in ("memory", "dask"), f"--engine must be memory or dask (got {req.data.engine!r})"),
        (req.data.engine == "memory" or req.data.max_memory is None, "bootstrap --engine dask does not take --max-memory"),
    ]
    for ok, message in checks:
        if not ok:
            raise UsageError(message)


def bootstrap(req: BootstrapRequest, on_replicate: Optional[Callable[[int, int], None]] = None,
              on_note: Optional[Callable[[str], None]] = None) -> BootstrapResult:
    """Read the model and the data, run the replicates, sum them up; write the model with its
    uncertainty section to ``req.output`` when given. ``on_replicate(done, total)`` as replicates
    finish; ``on_note(text)`` for the Dask dashboard's link."""
    started = time.perf_counter()
    validate_bootstrap_request(req)
    model = read_model_argument(req.model, req.data.inputs[0] if req.data.inputs else "", "bootstrap")
    refuse_unsupported(model)
    with output_file(req.output) as out:
        with load_training_data(data_request_for(model, req.data), n_components=model.n_components,
                                covariance_type=model.params.covariance_type, init_model=model) as data:
            result = bootstrap_data(req, model, data, on_replicate, on_note)
        document = write_model(out, result.model) if out is not None else b""
    return replace(result, document=document, seconds=time.perf_counter() - started)


def bootstrap_array(req: BootstrapRequest, model: Model, X: np.ndarray, sample_weight: Optional[np.ndarray] = None,
                    on_replicate=None) -> BootstrapResult:
    """The bootstrap of ``model`` on the rows of ``X`` (shape (n_samples, n_features), the model's
    columns in order): what ``gmmcli bootstrap`` does with a file (the Python API's entry)."""
    from gmmcli.pipeline.arrays import load_array

    validate_bootstrap_request(req)
    refuse_unsupported(model)
    data_req = data_request_for(model, DataRequest())
    with load_array(X, sample_weight, model.feature_names, data_req, model.params.covariance_type) as data:
        return bootstrap_data(req, model, data, on_replicate)


def refuse_unsupported(model: Model) -> None:
    """A model fitted with missing cells has no resampling here yet: say so before reading."""
    if model.settings.get("missing", "error") != "error":
        raise UsageError("bootstrap does not take a model fitted with --missing marginalize (rows with missing "
                         "cells): refit it on complete rows")


def data_request_for(model: Model, data: DataRequest) -> DataRequest:
    """The input read as the model's fit read it: its columns, weights, standardization and scale.

    The Dask engine's replicates are tasks on the cluster; the rows are read here, once.
    """
    fmt = data.fmt if data.fmt.has_header is not None else replace(data.fmt, has_header=model.has_header)
    standardize = model.scaler is not None and not model.scaler.is_identity
    request = replace(data, fmt=fmt, weight_column=model.settings.get("weight_column"), missing="error",
                      standardize=standardize, engine="memory", dtype="float64")
    return with_model_scaling(request, (model.params.covariance_type,))


@dataclass(frozen=True)
class BootstrapContext:
    """What every replicate reads (shared by the worker processes or sent to Dask's workers)."""

    kind: str
    engine: object               # the rows, in the fitted space of ``scaler``
    start: GaussianMixtureParams  # the model's parameters in that space
    shift: np.ndarray
    scaler: Scaler
    settings: RefitSettings
    seed: int
    noise_sampler: Optional[NoiseSampler] = None  # pb with a noise component

    @property
    def max_attempts(self) -> int:
        return 1 if self.kind == "jk" else MAX_ATTEMPTS


def bootstrap_data(req: BootstrapRequest, model: Model, data: TrainingData, on_replicate=None,
                   on_note=None) -> BootstrapResult:
    """The replicates on loaded data, summed up into rows and the model's uncertainty section."""
    context = bootstrap_context(req, model, data)
    indices = replicate_indices(req, data)
    dask = req.data.engine == "dask"
    with ReplicateRunner(req.jobs, dask=dask, scheduler=req.data.scheduler) as runner:
        if runner.dashboard_link and on_note is not None:
            on_note(f"note: Dask dashboard at {runner.dashboard_link}")
        replicates = runner.run(run_replicate, context, indices, on_replicate)
    return summarize(req, model, replicates)


def bootstrap_context(req: BootstrapRequest, model: Model, data: TrainingData) -> BootstrapContext:
    """The model's parameters in the data's fitted space, and the refit settings."""
    settings = RefitSettings(reg_covar=float(model.settings.get("reg_covar", 1e-6)), tol=req.refit_tol,
                             max_iter=req.max_iter, prior=bool(model.settings.get("prior", False)))
    sampler = None
    if req.kind == "pb" and model.noise_box is not None:
        sampler = NoiseSampler(model.noise_box, data.scaler)
    return BootstrapContext(req.kind, data.engine, in_space_of(model, data.scaler), data.shift, data.scaler,
                            settings, req.seed, sampler)


def replicate_indices(req: BootstrapRequest, data: TrainingData) -> np.ndarray:
    """0 … N − 1; for the jackknife the rows themselves (those of positive weight)."""
    if req.kind != "jk":
        return np.arange(req.replicates or DEFAULT_REPLICATES)
    w = data.engine.sample_weight
    return np.arange(data.engine.n_samples) if w is None else np.flatnonzero(w > 0)


def replicate_engine(context: BootstrapContext, rng: np.random.Generator, index: int):
    """The rows of one replicate: reweighted (bs, wlbs, jk; times any row weights of the fit) or
    simulated from the model (pb: as many rows as the data hold, their total weight when weighted)."""
    engine = context.engine
    if context.kind == "pb":
        n = engine.n_samples if engine.sample_weight is None else max(1, int(round(engine.sample_weight.sum())))
        return simulated(context.start, n, rng, context.noise_sampler, engine.n_threads)
    weights = resampling_weights(context.kind, engine.n_samples, rng, index)
    if engine.sample_weight is not None:
        weights = weights * engine.sample_weight
    return reweighted(engine, weights)


def run_replicate(context: BootstrapContext, index: int) -> Replicate:
    """One replicate: refit from the model's parameters; a failed refit is redrawn (not for jk)."""
    error = None
    for attempt in range(context.max_attempts):
        rng = replicate_rng(context.seed, index, attempt)
        try:
            result = refit(replicate_engine(context, rng, index), context.start, context.shift, context.settings)
        except NumericalError as exc:
            error = str(exc)
            continue
        values = parameter_vector(result.params, context.scaler.scale, context.scaler.mean)
        return Replicate(index, values, attempt, result.converged)
    return Replicate(index, None, context.max_attempts, error=error)


def summarize(req: BootstrapRequest, model: Model, replicates: list) -> BootstrapResult:
    """Standard errors and intervals from the replicates that succeeded; the counts of the others."""
    done = [r for r in replicates if r.values is not None]
    if len(done) < 2:
        reason = next((r.error for r in replicates if r.error), "unknown")
        raise NumericalError(f"only {len(done)} of {len(replicates)} replicate(s) could be refitted "
                             f"(last failure: {reason}); nothing to estimate a standard error from")
    values = np.vstack([r.values for r in done])
    se, lower, upper = summarize_replicates(req.kind, values, req.level)
    params = model.params
    scaler = model.scaler or Scaler.identity(params.n_features)
    estimate = parameter_vector(params, scaler.scale, scaler.mean)
    labels = parameter_labels(params.n_components, model.feature_names, params.noise is not None)
    rows = tuple({"parameter": p, "component": k, "column": c, "estimate": float(e), "se": float(s),
                  "lower": float(lo), "upper": float(hi)}
                 for (p, k, c), e, s, lo, hi in zip(labels, estimate, se, lower, upper))
    failed = sum(r.failures for r in replicates)
    lost = len(replicates) - len(done)
    not_converged = sum(not r.converged for r in done)
    record = uncertainty_record(req, rows, len(done), failed)
    return BootstrapResult(rows, req.kind, len(done), failed, lost, not_converged,
                           replace(model, uncertainty=record), notes=replicate_notes(req, failed, lost, not_converged))


def uncertainty_record(req: BootstrapRequest, rows: tuple, replicates: int, failed: int) -> dict:
    """The model file's ``uncertainty`` section: how it was made, and the rows."""
    return {"type": req.kind, "replicates": replicates, "failed": failed, "seed": req.seed, "level": req.level,
            "tol": req.refit_tol, "max_iter": req.max_iter, "rows": [dict(r) for r in rows]}


def replicate_notes(req: BootstrapRequest, failed: int, lost: int, not_converged: int) -> tuple:
    """What people should know about the replicates (stderr)."""
    notes = []
    if failed:
        redo = "left out" if req.kind == "jk" else f"redrawn (at most {MAX_ATTEMPTS} times each)"
        notes.append(f"note: {failed} replicate refit(s) failed (a component collapsed or a covariance became "
                     f"singular) and were {redo}")
    if lost and req.kind != "jk":
        notes.append(f"warning: {lost} replicate(s) failed {MAX_ATTEMPTS} times and were left out")
    if not_converged:
        notes.append(f"warning: {not_converged} replicate(s) stopped at --max-iter {req.max_iter} before converging "
                     "(kept; raise --max-iter)")
    return tuple(notes)
