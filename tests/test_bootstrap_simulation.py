"""Simulations: bootstrap standard errors against the spread of estimates over independent
samples, and the LRT's p-values under its null. Small and seeded, so they cannot flake.

SE design: a known 2-D mixture (k = 2, VVV, weights 0.35/0.65, n = 400). The "true" SD of each
estimate is its standard deviation over 200 independent samples (each fitted by EM from the
true parameters to 1e-9). The bootstrap SE of each is averaged over the first 6 of those samples
(200 replicates each). Each must be within 20% of the SD.

LRT design: 30 samples of n = 120 rows from one Gaussian (1-D, model V); on each, the observed
statistic 2(ℓ₂ − ℓ₁) with the k = 2 fit the best of three k-means++ starts, and its p-value from
19 parametric replicates (EM to 1e-5 per row, about mclust's tolerance). benchmarks/bootstrap_bench.py
runs a larger version (200 samples, 99 replicates). Under the null the p-values are roughly uniform on {1/20, …, 1}:
a Kolmogorov–Smirnov test at a lenient level, the mean near 1/2 and about 10% at most 0.1.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from gmmcli.core.bootstrap import lrt_statistic, summarize_replicates
from gmmcli.core.em import run_em
from gmmcli.core.init import initialize
from gmmcli.core.params import make_params
from gmmcli.core.sampling import sample
from gmmcli.core.stats import block_statistics
from gmmcli.engines.memory import MemoryEngine
from gmmcli.pipeline.bootstrap import BootstrapContext, run_replicate
from gmmcli.pipeline.lrt import LrtContext, lrt_outcome, run_lrt_replicate
from gmmcli.pipeline.replicates import RefitSettings, ReplicateRunner
from gmmcli.scaler import Scaler

TRUTH = make_params([0.35, 0.65], [[0.0, 0.0], [4.0, 2.0]],
                    [[[1.0, 0.3], [0.3, 0.6]], [[0.8, -0.2], [-0.2, 1.2]]], "full")
SETTINGS = RefitSettings(tol=1e-9, max_iter=2000)
N_ROWS, N_SAMPLES, N_BOOTSTRAPPED, N_REPLICATES = 400, 200, 6, 200
N_TRIALS, LRT_ROWS, LRT_REPLICATES = 30, 120, 19
LRT_SETTINGS = RefitSettings(tol=1e-5, max_iter=300)  # about mclust's relative 1e-5 at n = 120


def fit_from(X, start, settings=SETTINGS):
    engine = MemoryEngine(X, n_threads=1)
    shift = np.zeros(X.shape[1])
    return run_em(lambda p: engine.reduce(partial(block_statistics, params=p, shift=shift)), start,
                  reg_covar=settings.reg_covar, tol=settings.tol, max_iter=settings.max_iter)


def weights_and_means(params):
    return np.concatenate([params.weights, params.means.ravel()])


def bootstrap_se(X, kind, seed):
    """(weights, means) bootstrap SEs of one sample, through the pipeline's replicates."""
    start = fit_from(X, TRUTH).params
    context = BootstrapContext(kind, MemoryEngine(X, n_threads=1), start, np.zeros(2), Scaler.identity(2),
                               SETTINGS, seed)
    with ReplicateRunner(jobs=2) as runner:
        replicates = runner.run(run_replicate, context, range(N_REPLICATES))
    values = np.vstack([r.values for r in replicates])
    se, _, _ = summarize_replicates(kind, values, 0.95)
    keep = [0, 1 + 0, 1 + 1, 6 + 0, 6 + 1, 6 + 1 + 1]  # weight, mean x, mean y of each component
    return se[keep]


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(20260101)
    return [sample(TRUTH, N_ROWS, rng)[0] for _ in range(N_SAMPLES)]


@pytest.mark.parametrize("kind", ["bs", "pb"])
def test_bootstrap_se_matches_the_spread_over_independent_samples(samples, kind):
    estimates = np.array([weights_and_means(fit_from(X, TRUTH).params) for X in samples])
    true_sd = estimates.std(axis=0, ddof=1)[[0, 2, 3, 1, 4, 5]]  # the order of bootstrap_se's columns
    boot = np.mean([bootstrap_se(X, kind, seed) for seed, X in enumerate(samples[:N_BOOTSTRAPPED])], axis=0)
    ratio = boot / true_sd
    assert np.all(np.abs(ratio - 1) < 0.20), f"bootstrap SE / SD over samples: {np.round(ratio, 3)}"


def test_lrt_p_values_are_roughly_uniform_under_the_null():
    from scipy.stats import kstest

    rng = np.random.default_rng(7)
    contexts, observed = [], []
    for trial in range(N_TRIALS):
        X = rng.normal(size=(LRT_ROWS, 1))
        one = fit_from(X, make_params([1.0], [X.mean(axis=0)], [[[X.var()]]], "V"), LRT_SETTINGS)
        two = max((fit_from(X, initialize(MemoryEngine(X), 2, "V", "kmeans++", rng, 1e-6, np.zeros(1)), LRT_SETTINGS)
                   for _ in range(3)), key=lambda r: r.final_log_likelihood)
        contexts.append(LrtContext(one.params, two.params, LRT_ROWS, np.zeros(1), LRT_SETTINGS, trial, (0, 1)))
        observed.append(lrt_statistic(one.final_log_likelihood, two.final_log_likelihood))
    with ReplicateRunner(jobs=2) as runner:  # every trial's replicates in one batch
        boot = runner.run(trial_replicate, tuple(contexts), range(N_TRIALS * LRT_REPLICATES))
    p = np.array([lrt_outcome("V", 1, 2, observed[t], boot[t * LRT_REPLICATES:(t + 1) * LRT_REPLICATES]).p_value
                  for t in range(N_TRIALS)])
    assert kstest(p, "uniform").pvalue > 0.01, np.sort(p)
    assert 0.35 < p.mean() < 0.65 and np.mean(p <= 0.1) < 0.25


def trial_replicate(contexts: tuple, index: int):
    """Replicate ``index`` of the batch: trial index // LRT_REPLICATES."""
    return run_lrt_replicate(contexts[index // LRT_REPLICATES], index % LRT_REPLICATES)
