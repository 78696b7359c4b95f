"""`select --lrt`: the sequential bootstrap likelihood-ratio test for the number of components.

mclust's ``mclustBootstrapLRT``, per covariance model: the statistic 2 (ℓ_{k+1} − ℓ_k) of the
grid's fits; N samples of n rows drawn from the k-component fit (the null); on each, EM from
the k fit's parameters and from the (k + 1) fit's parameters; the p-value
(1 + #{bootstrap statistics ≥ observed}) / (N + 1). Tests go up from the smallest k and stop
at the first that is not rejected (p above the level), unless every k is asked for.

The grid's ks need not be consecutive: each k is tested against the next fitted k of the grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from gmmcli.core.bootstrap import MAX_ATTEMPTS, lrt_p_value, lrt_statistic, replicate_rng
from gmmcli.core.params import GaussianMixtureParams
from gmmcli.errors import NumericalError
from gmmcli.pipeline.replicates import NoiseSampler, RefitSettings, ReplicateRunner, refit, simulated

DEFAULT_LEVEL = 0.05  # mclust's `level`


@dataclass(frozen=True)
class LrtOptions:
    replicates: int = 999
    level: float = DEFAULT_LEVEL
    all: bool = False  # test every k, not stopping at the first not rejected
    seed: int = 0
    jobs: int = 1
    dask: bool = False
    scheduler: Optional[str] = None
    settings: RefitSettings = RefitSettings()


@dataclass(frozen=True)
class LrtOutcome:
    """The test of k against ``k_next`` components of one covariance model."""

    covariance_type: str
    k: int
    k_next: int
    statistic: float
    p_value: float
    replicates: int
    failed: int  # refits that failed and were redrawn


@dataclass(frozen=True)
class LrtContext:
    """What every replicate of one test reads."""

    null: GaussianMixtureParams         # the k fit (fitted space)
    alternative: GaussianMixtureParams  # the next k's fit
    n_samples: int
    shift: np.ndarray
    settings: RefitSettings
    seed: int
    key: tuple  # (position of the covariance model in the grid, k): its replicates' own streams
    noise_sampler: Optional[NoiseSampler] = None


@dataclass(frozen=True)
class LrtReplicate:
    statistic: Optional[float]  # None: every attempt failed
    failures: int


def run_lrt_replicate(context: LrtContext, index: int) -> LrtReplicate:
    """One bootstrap statistic: rows drawn from the null fit, both fits refitted from their
    parameters; a sample on which either refit fails is redrawn (as mclust does on an NA)."""
    for attempt in range(MAX_ATTEMPTS):
        rng = replicate_rng(context.seed, *context.key, index, attempt)
        engine = simulated(context.null, context.n_samples, rng, context.noise_sampler)
        try:
            null = refit(engine, context.null, context.shift, context.settings)
            alternative = refit(engine, context.alternative, context.shift, context.settings)
        except NumericalError:
            continue
        return LrtReplicate(lrt_statistic(null.final_log_likelihood, alternative.final_log_likelihood), attempt)
    return LrtReplicate(None, MAX_ATTEMPTS)


def sequential_lrt(fits: dict, n_samples: int, shift: np.ndarray, options: LrtOptions,
                   noise_sampler: Optional[NoiseSampler] = None, on_progress: Optional[Callable] = None) -> list:
    """Every test, covariance model by covariance model (in the grid's order).

    Parameters
    ----------
    fits : dict of covariance type -> list of (k, log-likelihood, params), k increasing
        The grid's fitted cells (failed cells left out).
    on_progress : callable(label, done, total), optional

    Returns
    -------
    list of LrtOutcome
    """
    outcomes = []
    with ReplicateRunner(options.jobs, dask=options.dask, scheduler=options.scheduler) as runner:
        for position, (covariance_type, cells) in enumerate(fits.items()):
            for (k, ll, params), (k_next, ll_next, params_next) in zip(cells, cells[1:]):
                context = LrtContext(params, params_next, n_samples, shift, options.settings, options.seed,
                                     (position, k), noise_sampler)
                label = f"LRT {covariance_type} k={k} vs {k_next}"
                done = None if on_progress is None else (lambda d, t, label=label: on_progress(label, d, t))
                boot = runner.run(run_lrt_replicate, context, range(options.replicates), done)
                outcome = lrt_outcome(covariance_type, k, k_next, lrt_statistic(ll, ll_next), boot)
                outcomes.append(outcome)
                if not options.all and outcome.p_value > options.level:
                    break
    return outcomes


def lrt_outcome(covariance_type: str, k: int, k_next: int, observed: float, boot: list) -> LrtOutcome:
    """The p-value from the replicates that could be refitted."""
    statistics = np.array([b.statistic for b in boot if b.statistic is not None])
    if len(statistics) == 0:
        raise NumericalError(f"--lrt: no bootstrap sample of {covariance_type} k={k} could be refitted")
    return LrtOutcome(covariance_type, k, k_next, observed, lrt_p_value(observed, statistics), len(statistics),
                      sum(b.failures for b in boot))
