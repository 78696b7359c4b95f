"""`gmmcli select`: fit a grid of (k, covariance type) cells and choose one by a criterion."""

from __future__ import annotations

import math
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import Optional

import numpy as np

from gmmcli.core.criteria import CRITERIA, aic, bic, entropy_block, icl
from gmmcli.core.models import SKLEARN_MODELS, get_model, resolve_model_names
from gmmcli.core.params import n_parameters
from gmmcli.errors import ConvergenceError, NumericalError, UsageError
from gmmcli.io.atomic import output_file
from gmmcli.io.model_file import Model, write_model
from gmmcli.pipeline.data import TrainingData, load_training_data, refuse_overwriting_input
from gmmcli.core.prior import supported_models
from gmmcli.pipeline.fit import (
    FitRequest, build_model, choose_restart, data_prior, enforce_strict, first_start, one_gaussian_log_likelihood,
    row_log_likelihood_original, run_restarts, validate_fit_request, with_model_scaling, with_noise_column,
)
from gmmcli.pipeline.lrt import DEFAULT_LEVEL, LrtOptions, sequential_lrt
from gmmcli.pipeline.noise import NoiseSetup, noise_setup
from gmmcli.pipeline.replicates import NoiseSampler, RefitSettings

NOISE_ONLY = "noise"  # the covariance_type column of the k = 0 cell
# The screening pass (see fitted_cells): one start per cell, EM to mclust's tolerance and at most
# SCREEN_MAX_ITER iterations. mclust stops when the total log-likelihood changes by less than a
# relative 1e-5 (of 1 + |L|, in the data's units): a mean per-row change of 1e-5 times the size
# of a row's log-likelihood, taken here from the one-Gaussian fit, and at least SCREEN_TOL.
SCREEN_RTOL = 1e-5
SCREEN_TOL = 1e-5
SCREEN_MAX_ITER = 200
DEFAULT_POLISH_WITHIN = 10.0  # criterion units: a BIC difference of 10 is "very strong" evidence (Kass & Raftery)


@dataclass(frozen=True)
class SelectRequest:
    """``gmmcli select``: the data and EM settings of ``fit``, and the grid."""

    fit: FitRequest
    components: tuple = (1, 2, 3)
    covariance_types: tuple = SKLEARN_MODELS  # names in any spelling, or "all" (resolved with the data's columns)
    criterion: str = "bic"
    holdout: Optional[float] = None
    cv: Optional[int] = None
    seeds: int = 1
    jobs: int = 1
    lrt: bool = False  # the sequential bootstrap likelihood-ratio test of k per covariance model
    lrt_replicates: int = 999
    lrt_all: bool = False
    lrt_level: float = DEFAULT_LEVEL
    polish_within: float = DEFAULT_POLISH_WITHIN  # fully fit the screened cells this close to the best; inf: all

    @property
    def scheduler_engine(self) -> bool:
        """Cells go to a Dask cluster (the data are still read here)."""
        return self.fit.data.engine == "dask"


@dataclass(frozen=True)
class Cell:
    """One fitted (k, covariance type) cell. Criteria are lower-is-better; holdout is a mean log-likelihood."""

    k: int
    covariance_type: str
    seed: int
    log_likelihood: Optional[float] = None
    n_parameters: Optional[int] = None
    bic: Optional[float] = None
    aic: Optional[float] = None
    icl: Optional[float] = None
    holdout: Optional[float] = None
    converged: Optional[bool] = None
    n_iter: Optional[int] = None
    seconds: float = 0.0
    error: Optional[str] = None
    model: Optional[Model] = None
    notes: tuple = ()  # the fit's warnings (collapsed or dead components, failed restarts)
    screened: bool = False  # only the screening fit (one start, mclust's tolerance): shown, never chosen
    lrt_statistic: Optional[float] = None  # with --lrt: 2 (loglik of the next k - this loglik), if tested
    lrt_p_value: Optional[float] = None

    def score(self, criterion: str) -> float:
        """What is minimised (failed cells: +inf, never chosen)."""
        if self.error is not None:
            return math.inf
        return -self.holdout if criterion == "holdout" else getattr(self, criterion)

    def row(self) -> dict:
        """The cell as a table row (no model, no timing)."""
        keys = ("k", "covariance_type", "seed", "log_likelihood", "n_parameters", "bic", "aic", "icl",
                "holdout", "converged", "n_iter", "screened", "error")
        return {key: getattr(self, key) for key in keys}


@dataclass(frozen=True)
class SelectResult:
    cells: tuple        # the main seed's cells, in grid order
    best: int           # index into cells
    wins: dict          # (k, covariance_type) -> how many seeds chose it
    model: Model
    document: bytes
    seconds: float
    notes: tuple = ()   # the chosen cell's warnings
    grid_notes: tuple = ()  # what people should know about the grid (e.g. a log-likelihood falling with k)
    lrt: Optional[dict] = None  # with --lrt: its settings (the model file's selection.lrt)


def validate_select_request(req: SelectRequest) -> None:
    if min(req.components) == 0 and not req.fit.noise:
        raise UsageError("-k 0 is the noise alone: it needs --noise")
    if max(req.components) == 0:
        raise UsageError("-k 0 alone fits nothing: give k above 0 too (the k = 0 row comes with --noise)")
    validate_fit_request(replace(req.fit, n_components=max(req.components)))
    checks = [
        (req.criterion in CRITERIA, f"--criterion must be one of {', '.join(CRITERIA)} (got {req.criterion!r})"),
        (req.holdout is None or 0 < req.holdout < 1, f"--holdout must be a fraction between 0 and 1 (got {req.holdout})"),
        (req.cv is None or req.cv >= 2, f"--cv must be at least 2 folds (got {req.cv})"),
        (req.holdout is None or req.cv is None, "--holdout and --cv cannot be combined"),
        (req.criterion != "holdout" or req.holdout or req.cv, "--criterion holdout needs --holdout FRACTION or --cv FOLDS"),
        (req.seeds >= 1, f"--seeds must be at least 1 (got {req.seeds})"),

        (req.jobs >= 1, f"--jobs must be at least 1 (got {req.jobs})"),
        (req.polish_within >= 0, f"--polish-within must be at least 0 (got {req.polish_within})"),
        (req.fit.init_model is None, "select does not take --init-model"),
        (req.fit.data.engine == "memory" or req.fit.data.max_memory is None,
         "select --engine dask does not take --max-memory"),
        (req.fit.data.weight_column is None or not (req.holdout or req.cv),
         "--holdout and --cv do not take --weight-column"),
        (req.fit.data.missing == "error" or not (req.holdout or req.cv), "--holdout and --cv do not take --missing"),
    ] + lrt_checks(req)
    for ok, message in checks:
        if not ok:
            raise UsageError(message)


def lrt_checks(req: SelectRequest) -> list:
    """(ok, message) of --lrt's options: the test compares likelihoods of unweighted, complete rows."""
    if not req.lrt:
        return []
    return [
        (req.lrt_replicates >= 1, f"--replicates must be at least 1 (got {req.lrt_replicates})"),
        (0 < req.lrt_level < 1, f"--lrt-level must be between 0 and 1 (got {req.lrt_level})"),
        (not req.fit.prior, "--lrt compares likelihoods: it does not take --prior"),
        (req.fit.data.weight_column is None, "--lrt does not take --weight-column (it simulates unweighted rows)"),
        (req.fit.data.missing == "error", "--lrt does not take --missing"),
    ]


# The training data of the cells in a worker process (set by the executor's initializer).
_WORKER_DATA: Optional[TrainingData] = None
_WORKER_BLAS_LIMIT = None  # the worker's one-thread BLAS limit, kept for the process's lifetime


def _set_worker_data(data: TrainingData) -> None:
    """A worker's set-up: the parsed data, and BLAS limited to one thread for its lifetime (one
    process per CPU already; each with BLAS's own threads, whose spin-waits then contend for the
    cores, made small M-steps up to 100 times slower)."""
    global _WORKER_DATA, _WORKER_BLAS_LIMIT
    from gmmcli.parallel import single_threaded_blas

    _WORKER_DATA = data
    _WORKER_BLAS_LIMIT = single_threaded_blas()


def select(req: SelectRequest, on_cell=None, on_lrt=None) -> SelectResult:
    """Fit every cell of the grid (for every seed), choose by the criterion, return the chosen model.

    ``on_cell(done, total)`` is called as cells finish, ``on_lrt(label, done, total)`` as --lrt's
    replicates do (for progress displays).
    """
    started = time.perf_counter()
    validate_select_request(req)
    refuse_overwriting_input(req.fit.data.inputs, req.fit.output)
    with output_file(req.fit.output) as out:
        # the rows are read here even for --engine dask, whose workers get them as they are
        data_req = with_model_scaling(replace(req.fit.data, engine="memory"), grid_models(req.covariance_types, None))
        with load_training_data(with_noise_column(data_req, req.fit), n_components=max(req.components),
                                covariance_type=req.fit.covariance_type) as data:
            result = select_data(req, data, on_cell, on_lrt)
        document = write_model(out, result.model)
    return replace(result, document=document, seconds=time.perf_counter() - started)


def select_data(req: SelectRequest, data: TrainingData, on_cell=None, on_lrt=None) -> SelectResult:
    """Fit the grid on loaded training data and choose (the document is not written here).

    The one path of ``gmmcli select`` and of the Python API.
    """
    req = replace(req, covariance_types=grid_models(req.covariance_types, len(data.names)))
    data.noise = noise_setup(data, req.fit.hypervolume) if req.fit.noise else None
    tasks = [(k, cov, req.fit.seed + s) for s in range(req.seeds) for cov in req.covariance_types
             for k in req.components if k > 0]  # k = 0, the noise alone, needs no fit
    screen_tol = screen_tolerance(data) if screens(req) else None
    cells = with_noise_only_cells(req, data, fitted_cells(req, data, tasks, on_cell, screen_tol))
    per_seed = len(cells) // req.seeds
    main = with_lrt(req, data, cells[:per_seed], on_lrt) if req.lrt else cells[:per_seed]
    best = _choose(main, req.criterion)
    if best is None:
        raise NumericalError("every cell of the grid failed; see the table with --format csv")
    written, notes = cell_to_write(main, best, req.criterion)
    model = replace(main[written].model, selection=selection_record(req, main, screen_tol))
    return SelectResult(tuple(replace(c, model=None) for c in main), best, _count_wins(cells, per_seed, req.criterion),
                        model, b"", 0.0, main[written].notes + notes, falling_likelihood_notes(main),
                        lrt_record(req))


def fitted_cells(req: SelectRequest, data: TrainingData, tasks: list, on_cell=None,
                 screen_tol: Optional[float] = None) -> list:
    """The grid's cells, in task order: screened first when that saves work (see screens).

    Screening (``screen_tol`` given: see screen_tolerance) fits every cell from one start (the
    first restart's: mclust's hierarchical start by default) to ``screen_tol`` and at most
    SCREEN_MAX_ITER iterations, as mclust fits every cell. Then only the cells whose criterion
    is within ``polish_within`` of their seed's best get the full fit (every restart, --tol,
    --max-iter), which is what is chosen from. The other cells keep their screening fit (``screened``): they are shown, never
    chosen. Most of a grid is far from the best, and the restarts and the last digits of
    a far cell's log-likelihood cannot change the choice; they were most of the time.
    """
    if screen_tol is None:
        return list(_run_cells(req, data, tasks, on_cell))
    screen = screen_request(req, screen_tol)
    cells = [replace(c, screened=True) for c in _run_cells(screen, data, tasks, on_cell)]
    chosen = cells_to_polish(cells, req.seeds, req.criterion, req.polish_within)
    polished = _run_cells(req, data, [tasks[i] for i in chosen], on_cell)
    for i, cell in zip(chosen, polished):
        cells[i] = cell
    return cells


def screens(req: SelectRequest) -> bool:
    """Whether the grid is screened: not when every cell is fully fitted anyway (polish_within
    inf), nor when screening would not be cheaper, nor for what needs every cell's full fit
    (held-out scores, the LRT's sequence of fits)."""
    cheaper = req.fit.n_init > 1 or req.fit.tol < SCREEN_TOL or req.fit.max_iter > SCREEN_MAX_ITER
    return (math.isfinite(req.polish_within) and cheaper and req.criterion != "holdout"
            and not (req.holdout or req.cv or req.lrt))


def screen_tolerance(data: TrainingData) -> float:
    """mclust's relative 1e-5 as a mean per-row change (see SCREEN_RTOL), at least SCREEN_TOL."""
    per_row = one_gaussian_log_likelihood(data)
    return max(SCREEN_TOL, SCREEN_RTOL * abs(per_row)) if math.isfinite(per_row) else SCREEN_TOL


def screen_request(req: SelectRequest, tol: float) -> SelectRequest:
    """The screening pass's settings: the first restart only, ``tol`` (or --tol if looser),
    SCREEN_MAX_ITER, never strict."""
    fit_req = replace(req.fit, n_init=1, tol=max(req.fit.tol, tol),
                      max_iter=min(req.fit.max_iter, SCREEN_MAX_ITER), strict=False)
    return replace(req, fit=fit_req)


def cells_to_polish(cells: list, seeds: int, criterion: str, within: float) -> list:
    """Indices of the screened cells within ``within`` of their seed's best score (each seed's
    cells are a contiguous run of the task list)."""
    per_seed = len(cells) // seeds
    chosen = []
    for start in range(0, len(cells), per_seed):
        scores = np.array([c.score(criterion) for c in cells[start:start + per_seed]])
        finite = np.isfinite(scores)
        if finite.any():
            best = scores[finite].min()
            chosen += [start + int(i) for i in np.flatnonzero(finite & (scores <= best + within))]
    return chosen


def with_lrt(req: SelectRequest, data: TrainingData, cells: list, on_lrt=None) -> list:
    """The cells with the sequential bootstrap LRT's statistic and p-value on each k tested
    (against the next fitted k of its covariance model); parametric samples as many rows as the data."""
    fits: dict = {}
    for cell in sorted((c for c in cells if c.k > 0 and c.error is None), key=lambda c: c.k):
        fits.setdefault(cell.covariance_type, []).append((cell.k, cell.log_likelihood, cell.model.params))
    fits = {t: fits[t] for t in req.covariance_types if t in fits}  # the grid's order
    options = LrtOptions(req.lrt_replicates, req.lrt_level, req.lrt_all, req.fit.seed, req.jobs,
                         req.scheduler_engine, req.fit.data.scheduler,
                         RefitSettings(req.fit.reg_covar, req.fit.tol, req.fit.max_iter))
    sampler = None if data.noise is None else NoiseSampler(data.noise.box, data.scaler)
    outcomes = sequential_lrt(fits, data.engine.n_samples, data.shift, options, sampler, on_lrt)
    tested = {(o.covariance_type, o.k): o for o in outcomes}
    return [replace(c, lrt_statistic=tested[(c.covariance_type, c.k)].statistic,
                    lrt_p_value=tested[(c.covariance_type, c.k)].p_value)
            if (c.covariance_type, c.k) in tested else c for c in cells]


def lrt_record(req: SelectRequest) -> Optional[dict]:
    """--lrt's settings as the model file's ``selection.lrt`` records them (None without --lrt)."""
    if not req.lrt:
        return None
    return {"replicates": req.lrt_replicates, "level": req.lrt_level, "all": req.lrt_all}


def with_noise_only_cells(req: SelectRequest, data: TrainingData, cells: list) -> list:
    """With --noise, each seed's cells start with k = 0 (whether or not -k lists it): the noise
    alone (as mclust's G = 0), whose log-likelihood n·log(1/V) needs no fitting and whose one
    parameter is V."""
    if data.noise is None:
        return cells
    per_seed = len(cells) // req.seeds
    out = []
    for s in range(req.seeds):
        out.append(noise_only_cell(req, data, req.fit.seed + s))
        out.extend(cells[s * per_seed:(s + 1) * per_seed])
    return out


def noise_only_cell(req: SelectRequest, data: TrainingData, seed: int) -> Cell:
    w = data.engine.sample_weight
    n = data.engine.n_samples if w is None else float(w.sum())
    per_row = -math.log(data.noise.hypervolume)  # log(1/V), original units
    ll, p = n * per_row, 1
    holdout = per_row if (req.holdout or req.cv) else None
    return Cell(0, NOISE_ONLY, seed, ll, p, bic(ll, p, n), aic(ll, p), bic(ll, p, n), holdout, True, 0)


def cell_to_write(cells: list, best: int, criterion: str):
    """(index of the cell whose model is written, notes): the chosen one, unless it is the noise
    alone, which has no model file: then the best cell with components, and a warning."""
    if cells[best].k > 0:
        return best, ()
    fitted = [c if c.k > 0 else replace(c, error="noise only") for c in cells]
    written = _choose(fitted, criterion)
    if written is None:
        raise NumericalError("the noise alone (k=0) is the best cell and every cell with components failed")
    return written, (f"warning: the noise alone (k=0) has the best {criterion}: the rows look like uniform "
                     f"background with no cluster; the model written is the best with clusters "
                     f"(k={cells[written].k}, {cells[written].covariance_type})",)


def grid_models(names: tuple, n_features: Optional[int]) -> tuple:
    """The models of the grid: any spelling and ``all`` resolved; one-column models only for one
    column (not checked while ``n_features`` is not known yet)."""
    try:
        models = resolve_model_names(",".join(names), n_features)
    except ValueError as exc:
        raise UsageError(f"--covariance: {exc}") from None
    wrong = [m for m in models if n_features is not None and get_model(m).n_features_only not in (0, n_features)]
    if wrong:
        raise UsageError(f"--covariance {', '.join(wrong)}: one-column model(s), but the data have {n_features} columns")
    return models


def falling_likelihood_notes(cells: list) -> tuple:
    """A model's log-likelihood should not fall as k grows (k + 1 components can always do as well
    as k); where EM found a worse optimum for the larger k, say so instead of showing it silently."""
    notes = []
    by_model: dict = {}
    for cell in sorted((c for c in cells if c.error is None), key=lambda c: c.k):
        earlier = by_model.get(cell.covariance_type)
        if earlier is not None and cell.log_likelihood < earlier.log_likelihood - 1e-9 * abs(earlier.log_likelihood):
            notes.append(f"note: {cell.covariance_type}: k={cell.k} reached a lower log-likelihood "
                         f"({cell.log_likelihood:.4f}) than k={earlier.k} ({earlier.log_likelihood:.4f}): EM stopped "
                         "at a worse local optimum; more restarts (--n-init) may find a better one")
        if earlier is None or cell.log_likelihood > earlier.log_likelihood:
            by_model[cell.covariance_type] = cell
    return tuple(notes)


def selection_record(req: SelectRequest, cells: list, screen_tol: Optional[float] = None) -> dict:
    """What the chosen model file records of the grid (and --lrt's outcome, when it ran)."""
    record = {
        "criterion": req.criterion, "components": list(req.components),
        "covariance_types": list(req.covariance_types), "seeds": req.seeds,
        "holdout": req.holdout, "cv": req.cv,
    }
    if req.lrt:
        record["lrt"] = lrt_record(req)
    if screen_tol is not None:
        screen = screen_request(req, screen_tol).fit
        record["screening"] = {"tol": screen.tol, "max_iter": screen.max_iter, "polish_within": req.polish_within}
    record["rows"] = [_json_row(c, req.lrt) for c in cells]
    return record


def _run_cells(req: SelectRequest, data: TrainingData, tasks: list, on_cell):
    if req.scheduler_engine:
        yield from _run_cells_on_dask(req, data, tasks, on_cell)
        return
    if req.jobs == 1 or len(tasks) == 1:
        results = map(partial(_fit_cell, req, data=data), tasks)
    else:
        build_hc_tree(req, data, tasks)
        # fork: the workers inherit the parsed data instead of re-reading it; one thread each
        single = replace(data, engine=data.engine.with_threads(1))
        pool = ProcessPoolExecutor(min(req.jobs, len(tasks)), mp_context=multiprocessing.get_context("fork"),
                                   initializer=_set_worker_data, initargs=(single,))
        results = pool.map(partial(_fit_cell, req), tasks)
    try:
        for done, cell in enumerate(results, 1):
            if on_cell is not None:
                on_cell(done, len(tasks))
            yield cell
    finally:
        if req.jobs > 1 and len(tasks) > 1:
            pool.shutdown(cancel_futures=True)


def build_hc_tree(req: SelectRequest, data: TrainingData, tasks: list) -> None:
    """With --init hc, build the hierarchical tree once, here, before the workers fork: every
    cell of a seed cuts the same tree (init.hc_start caches it), and each worker would otherwise
    build its own (2 s for 2 000 rows). A failure is left for the cells to report."""
    if req.fit.init != "hc":
        return
    k, covariance_type, seed = max(tasks, key=lambda task: task[0])
    try:
        first_start(replace(req.fit, n_components=k, covariance_type=covariance_type, seed=seed), data)
    except (NumericalError, ConvergenceError):
        pass


def _run_cells_on_dask(req: SelectRequest, data: TrainingData, tasks: list, on_cell):
    """Cells as tasks on a Dask cluster: the parsed data are broadcast to the workers once."""
    from distributed import as_completed

    from gmmcli.engines import dask_engine

    client = dask_engine.connect(req.fit.data.scheduler)
    try:
        shared = client.scatter(replace(data, engine=data.engine.with_threads(1)), broadcast=True)
        futures = client.map(_fit_cell, [req] * len(tasks), tasks, data=shared, pure=False)
        for done, _ in enumerate(as_completed(futures), 1):
            if on_cell is not None:
                on_cell(done, len(tasks))
        yield from client.gather(futures)  # grid order, whatever order they finished in
    finally:
        dask_engine.close_client(client)


def _fit_cell(req: SelectRequest, task, data: Optional[TrainingData] = None) -> Cell:
    k, covariance_type, seed = task
    started = time.perf_counter()
    data = data or _WORKER_DATA
    fit_req = replace(req.fit, n_components=k, covariance_type=covariance_type, seed=seed, output=None)
    if fit_req.prior and covariance_type not in supported_models():
        return Cell(k, covariance_type, seed, error="not fitted: mclust has no prior for this model")
    try:
        prior = data_prior(data, k) if fit_req.prior else None
        runs = run_restarts(fit_req, data.engine, data.shift, None, None, data.has_missing, prior=prior,
                            noise=data.noise)
        model, notes = build_model(fit_req, data, runs)
        if fit_req.strict:  # a cell that would fail `fit --strict` is a failed cell, never chosen
            enforce_strict(fit_req, model)
    except (NumericalError, ConvergenceError) as exc:
        return Cell(k, covariance_type, seed, error=str(exc), seconds=time.perf_counter() - started)
    n = model.log_likelihood.get("total_weight", data.engine.n_samples)
    ll = model.log_likelihood["total_original_units"]
    p = n_parameters(covariance_type, k, len(data.names), noise=data.noise is not None)
    bic_value = bic(ll, p, n)
    entropy = data.engine.reduce(partial(entropy_block, params=model.params))
    holdout = _held_out(req, fit_req, data) if (req.holdout or req.cv) else None
    return Cell(k, covariance_type, seed, ll, p, bic_value, aic(ll, p), icl(bic_value, entropy), holdout,
                model.converged, model.n_iter, time.perf_counter() - started, None, model, notes)


def _held_out(req: SelectRequest, fit_req: FitRequest, data: TrainingData) -> float:
    """Mean held-out log-likelihood per row (original units), from a split or k folds.

    Each training part keeps the restart ``fit`` would keep (choose_restart), so a collapsed
    spike is not preferred here either.
    """
    n = data.engine.n_samples
    order = np.random.default_rng(fit_req.seed).permutation(n)
    if req.cv:
        folds = np.array_split(order, req.cv)
    else:
        folds = [order[: max(1, int(round(req.holdout * n)))]]
    total, count = 0.0, 0
    for test in folds:
        train = np.setdiff1d(order, test)
        if len(train) < fit_req.n_components:
            raise NumericalError(f"too few training rows for k={fit_req.n_components} in a fold")
        part = data.engine.subset(train)
        runs = run_restarts(fit_req, part, data.shift, None, None, noise=noise_of_rows(data.noise, train))
        best = runs[choose_restart(runs, fit_req.reg_covar)].result
        scores = data.engine.subset(test).map_rows(partial(row_log_likelihood_original, params=best.params,
                                                           scaler=data.scaler))
        total += float(scores.sum())
        count += len(test)
    return total / count


def noise_of_rows(noise: Optional[NoiseSetup], rows: np.ndarray) -> Optional[NoiseSetup]:
    """The noise set-up of a subset of the rows (its --noise-init flags follow the rows)."""
    if noise is None or noise.flags is None:
        return noise
    return replace(noise, flags=noise.flags[rows])


def _choose(cells, criterion) -> Optional[int]:
    """The best fully fitted cell (screened ones are never chosen: see fitted_cells)."""
    scores = [math.inf if c.screened else c.score(criterion) for c in cells]
    best = int(np.argmin(scores))
    return None if not np.isfinite(scores[best]) else best


def _count_wins(cells, per_seed, criterion) -> dict:
    wins: dict = {}
    for s in range(len(cells) // per_seed):
        group = cells[s * per_seed:(s + 1) * per_seed]
        best = _choose(group, criterion)
        if best is not None:
            key = (group[best].k, group[best].covariance_type)
            wins[key] = wins.get(key, 0) + 1
    return wins


def _json_row(cell: Cell, lrt: bool = False) -> dict:
    row = {key: value for key, value in cell.row().items() if key != "seed"}
    if lrt:
        row.update(lrt_statistic=cell.lrt_statistic, lrt_p_value=cell.lrt_p_value)
    return row
