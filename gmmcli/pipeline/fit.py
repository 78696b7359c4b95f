"""`gmmcli fit`: read → scale → engine → EM restarts → model file."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Callable, Optional

import numpy as np

from gmmcli.core.diagnostics import COLLAPSE_FACTOR, collapsed_components, inner_loop_report, min_variances
from gmmcli.core.em import EMResult, run_em
from gmmcli.core.init import INIT_METHODS, initialize
from gmmcli.core.missing import ImputedSource, block_statistics_missing, row_log_likelihood_missing
from gmmcli.core.models import DEFAULT_MODEL, MODEL_NAMES, get_model
from gmmcli.core.params import GaussianMixtureParams, NoiseTerm, permute_components
from gmmcli.core.prior import Prior, default_prior, map_m_step, supported_models
from gmmcli.core.stats import block_statistics, m_step, one_group_block
from gmmcli.errors import ConvergenceError, NumericalError, UsageError
from gmmcli.io.atomic import output_file
from gmmcli.io.columnar import columnar_kind
from gmmcli.io.model_file import Model, read_model, write_model
from gmmcli.pipeline import compare
from gmmcli.pipeline.data import DataRequest, TrainingData, load_training_data, refuse_overwriting_input
from gmmcli.pipeline.noise import NoiseSetup, noise_setup, noise_start
from gmmcli.scaler import jacobian_block

# Levels of the training log-likelihood quantiles stored in the model (for outlier flags).
QUANTILE_LEVELS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
# A component whose responsibilities add up to less than this many rows has
# effectively died; it is reported, and recorded in the model's diagnostics.
DEAD_COMPONENT_ROWS = 1.0
QUANTILE_ROWS = 1_000_000


@dataclass(frozen=True)
class FitRequest:
    """Everything ``gmmcli fit`` needs: the data (a nested :class:`DataRequest`) and EM's settings."""

    data: DataRequest = field(default_factory=DataRequest)
    output: Optional[str] = None
    n_components: Optional[int] = 1  # None: the --init-model's
    covariance_type: Optional[str] = DEFAULT_MODEL  # None: the --init-model's (else the default)
    reg_covar: float = 1e-6
    tol: float = 1e-3
    max_iter: int = 100
    n_init: int = 1
    init: str = "kmeans++"
    init_model: Optional[str] = None
    seed: int = 0
    strict: bool = False
    align_to: Optional[str] = None
    prior: bool = False  # MAP EM under mclust's default conjugate prior
    noise: bool = False  # a uniform noise component over the data's hypervolume
    hypervolume: Optional[float] = None  # the noise's volume in original units (default: mclust's hypvol)
    noise_init: Optional[str] = None  # a 0/1 column: the rows that start as noise (default: NNclean)


@dataclass(frozen=True)
class FitResult:
    model: Model
    document: bytes
    notes: tuple = ()
    seconds: float = 0.0


def validate_fit_request(req: FitRequest) -> None:
    """Raise UsageError naming the first invalid option."""
    data = req.data
    checks = [
        (req.n_components >= 1, f"-k/--components must be at least 1 (got {req.n_components})"),
        (math.isfinite(req.tol) and req.tol >= 0, f"--tol must be a finite number >= 0 (got {req.tol})"),
        (req.max_iter >= 0, f"--max-iter must be >= 0 (got {req.max_iter})"),
        (math.isfinite(req.reg_covar) and req.reg_covar >= 0,
         f"--reg-covar must be a finite number >= 0 (got {req.reg_covar})"),
        (req.n_init >= 1, f"--n-init must be at least 1 (got {req.n_init})"),
        (req.covariance_type in MODEL_NAMES,
         f"--covariance must be one of {', '.join(MODEL_NAMES)} (got {req.covariance_type!r})"),
        (req.init in INIT_METHODS, f"--init must be one of {', '.join(INIT_METHODS)} (got {req.init!r})"),
        (req.seed >= 0, f"--seed must be >= 0 (got {req.seed})"),
        (req.init_model is None or req.n_init == 1, "--n-init cannot be combined with --init-model"),
        (not req.prior or req.covariance_type in supported_models(),
         f"--prior: mclust has no prior for {req.covariance_type} (it has one for {', '.join(supported_models())})"),
        (data.dtype in ("float64", "float32"), f"--dtype must be float64 or float32 (got {data.dtype!r})"),
        (data.missing in ("error", "marginalize"), f"fit --missing must be error or marginalize (got {data.missing!r})"),
        (data.engine in ("memory", "dask"), f"--engine must be memory or dask (got {data.engine!r})"),
        (data.max_memory is None or data.max_memory > 0, "--max-memory must be positive"),
        (req.output is None or columnar_kind(req.output) is None,
         f"-o {req.output}: a model file is JSON; give it a .json name"),
        (not req.noise or data.missing == "error",
         "--noise cannot be combined with --missing marginalize (the noise has no marginal density)"),
    ]
    for ok, message in checks:
        if not ok:
            raise UsageError(message)


def fit(req: FitRequest, on_iteration: Optional[Callable[[int, int, float], None]] = None,
        on_note: Optional[Callable[[str], None]] = None) -> FitResult:
    """Fit a mixture to the request's data; write the model to ``req.output`` or return it.

    ``on_iteration(restart, n_iter, mean_log_likelihood)`` is called after every E-step (the
    log-likelihood per row in original units); ``on_note(text)`` as soon as there is something
    to tell (e.g. the Dask dashboard's link).
    """
    started = time.perf_counter()
    init_model = read_model(req.init_model) if req.init_model else None
    req = with_init_model_k(req, init_model)
    validate_fit_request(req)
    req = replace(req, data=with_noise_column(with_model_scaling(req.data, (req.covariance_type,)), req))
    refuse_overwriting_input(req.data.inputs, req.output)
    with output_file(req.output) as out:
        align_model = read_model(req.align_to) if req.align_to else None
        with load_training_data(req.data, n_components=req.n_components, covariance_type=req.covariance_type,
                                init_model=init_model, on_note=on_note) as data:
            prepare_data(req, data)
            start = None if init_model is None else warm_start(init_model, data, req.covariance_type)
            model, notes = fit_data(req, data, start, component_order(req, data, align_model, start), on_iteration)
            model, compare_notes = compare_with_earlier(model, data, init_model, align_model)
        if req.strict:
            enforce_strict(req, model)
        document = write_model(out, model)
    notes = data.notes + rows_per_component_warnings(req, data) + notes + compare_notes
    return FitResult(model, document, notes, time.perf_counter() - started)


def prepare_data(req: FitRequest, data: TrainingData) -> None:
    """Check the model fits the columns, and measure the noise component's hypervolume (--noise)."""
    check_model_fits_columns(req.covariance_type, len(data.names))
    data.noise = noise_setup(data, req.hypervolume) if req.noise else None


def fit_data(req: FitRequest, data: TrainingData, start: Optional[GaussianMixtureParams] = None, order=None,
             on_iteration=None):
    """EM's restarts on prepared training data and the model they make: (model, notes).

    ``start``: one start for every restart (a warm start), else ``req.init``'s; ``order``: see
    :func:`build_model`. The one path of ``gmmcli fit`` and of the Python API.
    """
    jacobian = original_units_jacobian(data)
    prior = data_prior(data, req.n_components) if req.prior else None
    runs = run_restarts(req, data.engine, data.shift, start, on_iteration, data.has_missing, jacobian,
                        prior=prior, noise=data.noise)
    return build_model(req, data, runs, order=order, jacobian=jacobian)


def with_init_model_k(req: FitRequest, init_model: Optional[Model]) -> FitRequest:
    """-k, --covariance and --noise default to the --init-model's; -k may not contradict it."""
    if init_model is None:
        if req.n_components is None:
            raise UsageError("-k/--components is required (to choose k, run: gmmcli select INPUT)")
        return replace(req, covariance_type=req.covariance_type or DEFAULT_MODEL)
    if req.n_components is not None and req.n_components != init_model.n_components:
        raise UsageError(f"-k {req.n_components} contradicts --init-model, which has {init_model.n_components} "
                         "components (leave -k out to use its k)")
    if req.noise and init_model.params.noise is None:
        raise UsageError("--noise: the --init-model has no noise component to start from")
    return replace(req, n_components=init_model.n_components, noise=init_model.params.noise is not None,
                   covariance_type=req.covariance_type or init_model.params.covariance_type)


def with_noise_column(data: DataRequest, req: FitRequest) -> DataRequest:
    """--noise-init's column is read with the data (and is never a feature)."""
    return replace(data, noise_column=req.noise_init)


def warm_start(model: Model, data: TrainingData, covariance_type: str) -> GaussianMixtureParams:
    """The init model's parameters moved into this fit's (standardized) space; its noise keeps
    its proportion, over this data's hypervolume."""
    if model.params.covariance_type != covariance_type:
        raise UsageError(
            f"--init-model has covariance type {model.params.covariance_type!r}, "
            f"but --covariance is {covariance_type!r}"
        )
    params = compare.in_space_of(model, data.scaler)
    if params.noise is None:
        return params
    return replace(params, noise=NoiseTerm(params.noise.weight, data.noise.log_density))


def with_model_scaling(data: DataRequest, models) -> DataRequest:
    """Standardize with one scale for every column when a model would change under per-column
    scaling (EII, VII, EEV, VEV, EVE, VVE): the fit is then the model mclust means."""
    uniform = data.standardize and not all(get_model(m).scale_invariant for m in models)
    return replace(data, uniform_scale=uniform)


def check_model_fits_columns(covariance_type: str, n_features: int) -> None:
    """mclust's one-column models (E, V) take one column only."""
    only = get_model(covariance_type).n_features_only
    if only and only != n_features:
        raise UsageError(f"--covariance {covariance_type} is a one-column model, but the data have {n_features} columns "
                         "(choose the column with -c)")


def rows_per_component_warnings(req: FitRequest, data: TrainingData) -> tuple:
    """A matrix per component estimated from at most D rows each is mostly --reg-covar."""
    n, d, k = data.engine.n_samples, len(data.names), req.n_components
    own_matrix = get_model(req.covariance_type).n_cov_parameters(k, d) >= k * d * (d + 1) // 2
    if own_matrix and n / k <= d:
        return (f"warning: {n} rows for {k} {req.covariance_type}-covariance component(s) of {d} "
                "columns: each covariance is mostly --reg-covar (try --covariance diag or lower -k)",)
    return ()


def original_units_jacobian(data: TrainingData) -> float:
    """What turns the total log-likelihood in the fitted (standardized) space into original units.

    It does not depend on the parameters; with missing cells each row counts only its observed ones.
    """
    if data.has_missing:
        return float(data.engine.reduce(partial(jacobian_block, scaler=data.scaler)))
    w = data.engine.sample_weight
    n = data.engine.n_samples if w is None else float(w.sum())
    return n * data.scaler.log_jacobian


def row_log_likelihood_original(X, sample_weight, start, *, params, scaler) -> np.ndarray:
    """log p(x) per row in the data's own units (a block function for an engine's ``map_rows``)."""
    return scaler.to_original_units(row_log_likelihood_missing(X, sample_weight, start, params=params), X)


def _strided(fn, stride, X, sample_weight, start):
    """``fn`` on the rows whose global index is a multiple of ``stride``."""
    first = (-start) % stride
    rows = X[first::stride]
    return fn(rows, None if sample_weight is None else sample_weight[first::stride], start)


def training_quantiles(row_ll: np.ndarray, weights: Optional[np.ndarray]) -> dict:
    """Quantiles of the training rows' log-likelihood (weighted: rows of weight 0 do not count)."""
    if weights is None:
        values = np.quantile(row_ll, QUANTILE_LEVELS)
    else:
        keep = weights > 0
        values = np.quantile(row_ll[keep], QUANTILE_LEVELS, weights=weights[keep], method="inverted_cdf")
    return {f"{q:g}": float(v) for q, v in zip(QUANTILE_LEVELS, values)}


def component_order(req: FitRequest, data: TrainingData, align_model: Optional[Model], start):
    """How the fitted components are numbered: as --align-to's, as --init-model's, or canonically."""
    if align_model is not None:
        compare.check_same_columns(align_model, data.names, "--align-to")
        return lambda params: compare.align_order(align_model, params, data.scaler)
    if start is not None:
        return lambda params: np.arange(params.n_components)
    return None


def mean_log_likelihood(data: TrainingData, params) -> float:
    """The (weighted) mean log-likelihood per row of the training data, in original units."""
    rows = data.engine.map_rows(partial(row_log_likelihood_original, params=params, scaler=data.scaler))
    w = data.engine.sample_weight
    return float(rows.mean() if w is None else rows @ w / w.sum())


def compare_with_earlier(model: Model, data: TrainingData, init_model: Optional[Model], align_model: Optional[Model]):
    """Alignment and drift reports: lines for stderr, and records in the model's diagnostics."""
    diagnostics = dict(model.diagnostics)
    notes = []
    if align_model is not None:
        rows = compare.component_report(align_model, model.params, data.scaler)
        diagnostics["alignment"] = rows
        notes += [f"note: aligned to --align-to: {line}" for line in compare.describe(rows)]
    if init_model is not None:
        old_ll = mean_log_likelihood(data, compare.in_space_of(init_model, data.scaler))
        new_ll = model.log_likelihood["mean_original_units"]
        rows = compare.component_report(init_model, model.params, data.scaler) if \
            init_model.n_components == model.n_components else []
        diagnostics["drift"] = {"components": rows, "mean_log_likelihood_old_model": old_ll,
                                "mean_log_likelihood_new_model": new_ll}
        notes += [f"note: drift from --init-model: {line}" for line in compare.describe(rows)]
        notes.append(f"note: drift from --init-model: mean log-likelihood of this data {old_ll:.6f} under the old "
                     f"model, {new_ll:.6f} under the new one")
    return replace(model, diagnostics=diagnostics), tuple(notes)


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


@dataclass(frozen=True)
class Restart:
    seed: int
    result: Optional[EMResult]
    error: Optional[str] = None


def run_restarts(req: FitRequest, engine, shift, start, on_iteration, missing: bool = False,
                 jacobian: float = 0.0, prior: Optional[Prior] = None, noise: Optional[NoiseSetup] = None) -> list:
    """Run ``n_init`` EM restarts; a restart that fails numerically is recorded, not fatal.

    With ``missing`` (NaN cells), initialization sees them filled with the data centre
    and EM takes their conditional expectations. ``on_iteration`` sees the mean
    log-likelihood per row in original units (``jacobian``: see original_units_jacobian).
    With a ``prior``, every M-step is the MAP step (the log-likelihood recorded is still the data's).
    With ``noise``, every restart starts with a noise component (see pipeline.noise.noise_start).
    """
    source = ImputedSource(engine, shift) if missing else engine
    total_weight = engine.n_samples if engine.sample_weight is None else float(engine.sample_weight.sum())
    e_step = block_statistics_missing if missing else block_statistics
    seeds = restart_seeds(req)
    runs = []
    for restart, seed in enumerate(seeds):
        rng = np.random.default_rng(int(seed))
        callback = None if on_iteration is None else partial(_report, on_iteration, restart, total_weight, jacobian)
        try:
            params = start if start is not None else starting_point(
                req, source, shift, restart_init(req.init, restart), rng, noise)
            result = run_em(
                lambda p: engine.reduce(partial(e_step, params=p, shift=shift)),
                params, reg_covar=req.reg_covar, tol=req.tol, max_iter=req.max_iter,
                on_iteration=callback, maximize=m_step if prior is None else partial(_map_step, prior=prior),
            )
            if not np.isfinite(result.final_log_likelihood):
                raise NumericalError("the log-likelihood is not finite")
            runs.append(Restart(int(seed), result))
        except NumericalError as exc:
            runs.append(Restart(int(seed), None, str(exc)))
    if all(r.result is None for r in runs):
        raise NumericalError(runs[0].error if len(runs) == 1 else f"all {len(runs)} restarts failed: {runs[0].error}")
    return runs


def restart_seeds(req: FitRequest) -> np.ndarray:
    """One seed per restart (a prefix of the same stream whatever ``n_init``)."""
    return np.random.SeedSequence(req.seed).generate_state(req.n_init, dtype=np.uint64)


def first_start(req: FitRequest, data: TrainingData) -> GaussianMixtureParams:
    """The first restart's start, exactly as :func:`run_restarts` makes it (select builds it before
    its workers fork, so that they inherit the hierarchical tree it caches)."""
    source = ImputedSource(data.engine, data.shift) if data.has_missing else data.engine
    rng = np.random.default_rng(int(restart_seeds(req)[0]))
    return starting_point(req, source, data.shift, restart_init(req.init, 0), rng, data.noise)


def starting_point(req: FitRequest, source, shift, method: str, rng, noise: Optional[NoiseSetup]):
    """One restart's start, by ``method``; with a noise component when ``noise`` is given."""
    if noise is not None:
        return noise_start(source, noise, req.n_components, req.covariance_type, method, rng, req.reg_covar, shift)
    return initialize(source, req.n_components, req.covariance_type, method, rng, req.reg_covar, shift)


def restart_init(init: str, restart: int) -> str:
    """hc is deterministic: it starts the first restart, and k-means++ the others."""
    return "kmeans++" if init == "hc" and restart > 0 else init


def _map_step(stats, reg_covar, previous=None, *, prior):
    return map_m_step(stats, prior, reg_covar, previous)


def data_prior(data: TrainingData, n_components: int) -> Prior:
    """mclust's default prior from the training rows' column means and covariance (fitted space)."""
    n, mean, scatter = column_moments(data)
    cov = scatter / max(n - 1.0, 1.0)  # R's var: n − 1
    return default_prior(mean + data.shift, cov, n_components, n_samples=int(n))


def column_moments(data: TrainingData):
    """(n, mean about the shift, scatter matrix) of the training rows as one group (fitted space)."""
    source = ImputedSource(data.engine, data.shift) if data.has_missing else data.engine
    stats = source.reduce(partial(one_group_block, shift=data.shift))
    n = stats.weight
    mean = stats.sx[0] / n
    return n, mean, stats.moment[0] - n * np.outer(mean, mean)


def one_gaussian_log_likelihood(data: TrainingData) -> float:
    """The mean per-row log-likelihood, in original units, of one Gaussian with the rows' mean and
    covariance (the k = 1 full fit, computed directly; select scales its screening tolerance by it)."""
    n, mean, scatter = column_moments(data)
    cov = scatter / n
    sign, log_det = np.linalg.slogdet(cov + 1e-12 * np.trace(cov) / len(cov) * np.eye(len(cov)))
    d = len(mean)
    per_row = -0.5 * (d * np.log(2 * np.pi) + log_det + d)
    return float(per_row + original_units_jacobian(data) / n) if sign > 0 else float("nan")


def _report(callback, restart, n_samples, jacobian, n_iter, total):
    callback(restart, n_iter, (total + jacobian) / n_samples)


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


def build_model(req: FitRequest, data: TrainingData, runs, order=None, jacobian: Optional[float] = None):
    """Assemble the model document from the chosen restart: (model, notes).

    ``order(params) -> permutation`` sets the component order (default: canonical);
    ``jacobian``: see original_units_jacobian (computed here when not given).
    """
    chosen = choose_restart(runs, req.reg_covar)
    result = runs[chosen].result
    params = permute_components(result.params, (order or canonical_order)(result.params))
    n = result.statistics.weight  # Σ weights (the number of rows when unweighted)
    total = result.final_log_likelihood
    total_original = total + (original_units_jacobian(data) if jacobian is None else jacobian)
    weighted = data.engine.sample_weight is not None
    diagnostics, notes = fit_diagnostics(req, params, result, runs)
    model = Model(
        params=params, feature_names=tuple(data.names), has_header=req.data.fmt.has_header,
        scaler=data.scaler, settings=fit_settings(req), n_samples=int(n), converged=result.converged,
        n_iter=result.n_iter, history=restart_history(runs, chosen),
        log_likelihood={
            "total": total, "mean": total / n, "total_original_units": total_original,
            "mean_original_units": total_original / n, **({"total_weight": n} if weighted else {}),
        },
        log_likelihood_quantiles=training_log_likelihood_quantiles(data, params),
        diagnostics=diagnostics, noise_box=None if params.noise is None else data.noise.box,
    )
    return model, notes + noise_notes(model)


def noise_notes(model: Model) -> tuple:
    """What the noise component took: its share of the rows and its volume, in the data's units."""
    if model.params.noise is None:
        return ()
    return (f"note: noise component: proportion {model.params.noise.weight:.4g} over a hypervolume of "
            f"{model.hypervolume:.6g} (product of the columns' units)",)


def training_log_likelihood_quantiles(data: TrainingData, params: GaussianMixtureParams) -> dict:
    """Quantiles of the training rows' log-likelihood in original units, from every row up to
    1e6 rows, else from every k-th row (bounded memory)."""
    engine = data.engine
    stride = max(1, -(-engine.n_samples // QUANTILE_ROWS))
    row_ll = engine.map_rows(partial(_strided, partial(row_log_likelihood_original, params=params,
                                                       scaler=data.scaler), stride))
    return training_quantiles(row_ll, None if engine.sample_weight is None else engine.sample_weight[::stride])


def fit_settings(req: FitRequest) -> dict:
    """The settings a model file records (what reproduces the fit)."""
    data = req.data
    return {
        "n_components": req.n_components, "covariance_type": req.covariance_type,
        "tol": req.tol, "reg_covar": req.reg_covar, "max_iter": req.max_iter,
        "n_init": req.n_init, "init": "model" if req.init_model else req.init,
        "seed": req.seed, "standardize": data.standardize, "dtype": data.dtype,
        **({} if data.weight_column is None else {"weight_column": data.weight_column}),
        **({} if data.missing == "error" else {"missing": data.missing}),
        **({"prior": True} if req.prior else {}),
        **({"noise": True} if req.noise else {}),
        **({} if req.hypervolume is None else {"hypervolume": req.hypervolume}),
        **({} if req.noise_init is None else {"noise_init": req.noise_init}),
    }


def restart_history(runs: list, chosen: int) -> dict:
    """Every restart's log-likelihood per iteration (fitted space), and which was chosen."""
    return {
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
    }


def fit_diagnostics(req: FitRequest, params: GaussianMixtureParams, result: EMResult, runs: list):
    """(diagnostics for the model file, warnings for people): dead and collapsed components,
    failed restarts."""
    nk = np.sort(result.statistics.nk)
    dead = int((nk < DEAD_COMPONENT_ROWS).sum())
    collapsed = [int(c) for c in collapsed_components(params, req.reg_covar)]
    failed = [i for i, r in enumerate(runs) if r.result is None]
    notes = []
    if dead:
        notes.append(f"warning: {dead} component(s) hold fewer than {DEAD_COMPONENT_ROWS:g} row(s) of weight "
                     "(too many components for the data?)")
    if collapsed:
        notes.append(f"warning: component(s) {', '.join(map(str, collapsed))} collapsed: their variance in some "
                     f"direction is no more than {COLLAPSE_FACTOR:g} x --reg-covar (duplicated rows, or more "
                     "components than the data support?)")
    if failed:
        notes.append(f"warning: {len(failed)} of {len(runs)} restart(s) failed numerically and were skipped")
    diagnostics = {
        "min_component_rows": float(nk[0]), "dead_components": dead, "collapsed_components": collapsed,
        "min_variances": [float(v) for v in min_variances(params)], "failed_restarts": len(failed),
    }
    inner = inner_loop_report(result.statistics, result.params)  # the unpermuted order of the statistics
    if inner is not None:
        diagnostics["inner_loop"] = inner
        if not inner["converged"]:
            notes.append(f"warning: the {req.covariance_type} M-step's inner loop did not converge in "
                         f"{inner['iterations']} iterations at the final parameters (raise --max-iter)")
    return diagnostics, tuple(notes)
