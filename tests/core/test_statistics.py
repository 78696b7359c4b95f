"""EM as additive statistics: chunked equals whole; EM never decreases the likelihood."""

from functools import partial

import numpy as np
import pytest

from gmmcli.core.em import run_em
from gmmcli.core.init import initialize
from gmmcli.core.stats import block_statistics, m_step
from gmmcli.engines.memory import MemoryEngine
from tests.helpers import COVARIANCE_TYPES, blobs, random_params, em_on


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_chunked_statistics_equal_whole(rng, covariance_type):
    X = blobs(rng, n=101, d=3)
    params = random_params(rng, covariance_type, k=3, d=3)
    shift = X.mean(axis=0)
    whole = block_statistics(X, None, 0, params=params, shift=shift)
    for rows in (1, 7, len(X) - 1, len(X)):
        parts = MemoryEngine(X, block_rows=rows).reduce(partial(block_statistics, params=params, shift=shift))
        assert parts.weight == whole.weight
        for name in ("nk", "sx", "moment"):
            np.testing.assert_allclose(getattr(parts, name), getattr(whole, name), rtol=1e-12, atol=1e-12)
        assert parts.log_likelihood == pytest.approx(whole.log_likelihood, rel=1e-13)
        np.testing.assert_allclose(m_step(parts, 1e-6).covariances, m_step(whole, 1e-6).covariances, rtol=1e-10)


def test_statistics_of_different_shifts_do_not_add(rng):
    X = blobs(rng, n=20)
    params = random_params(rng, "full")
    a = block_statistics(X, None, 0, params=params, shift=np.zeros(2))
    b = block_statistics(X, None, 0, params=params, shift=np.ones(2))
    with pytest.raises(ValueError):
        a + b


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_log_likelihood_never_decreases(rng, covariance_type):
    X = blobs(rng, n=400, d=2, k=4)
    engine = MemoryEngine(X, block_rows=64)
    shift = X.mean(axis=0)
    params = initialize(engine, 4, covariance_type, "random", rng, 1e-6, shift)
    result = em_on(engine, params, shift, max_iter=60, reg_covar=1e-6, tol=0.0)
    assert result.n_iter == 60 and not result.converged
    steps = np.diff(result.log_likelihood)
    # EM with reg_covar is not exactly monotone in theory; the loss allowed here
    # is tiny against the scale of the likelihood.
    assert steps.min() >= -1e-9 * abs(result.log_likelihood[-1])


def test_tol_zero_runs_exactly_max_iter_and_history_ends_with_returned_params(rng):
    X = blobs(rng, n=300)
    engine = MemoryEngine(X)
    shift = X.mean(axis=0)
    params = initialize(engine, 3, "full", "kmeans++", rng, 1e-6, shift)
    compute = lambda p: engine.reduce(partial(block_statistics, params=p, shift=shift))  # noqa: E731
    result = run_em(compute, params, reg_covar=1e-6, tol=0.0, max_iter=7)
    assert result.n_iter == 7 and len(result.log_likelihood) == 8
    assert compute(result.params).log_likelihood == result.log_likelihood[-1]


def test_offset_data_is_fitted_exactly(rng):
    """Statistics are taken about a shift, so data far from the origin lose nothing."""
    X = blobs(rng, n=500, d=2)
    results = []
    for offset in (0.0, 1e8):
        Y = X + offset
        engine = MemoryEngine(Y)
        shift = Y.mean(axis=0)
        params = initialize(engine, 3, "diag", "kmeans++", np.random.default_rng(1), 1e-6, shift)
        res = em_on(engine, params, shift, max_iter=20, reg_covar=1e-6, tol=0)
        results.append(res.params)
    np.testing.assert_allclose(results[1].covariances, results[0].covariances, rtol=1e-6)
    np.testing.assert_allclose(results[1].means - 1e8, results[0].means, atol=1e-6)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("offset", [0.0, 50.0])
def test_fast_kernel_equals_plain_kernel(rng, covariance_type, offset):
    from tests.core.reference import block_statistics_plain

    X = blobs(rng, n=300, d=4, k=3) + offset
    params = random_params(rng, covariance_type, k=3, d=4)
    params = type(params)(params.weights, params.means + offset, params.covariances,
                          params.covariance_type, params.precisions_chol)
    shift = X.mean(axis=0)
    weights = rng.uniform(0.5, 2.0, size=len(X))
    for w in (None, weights):
        fast = block_statistics(X, w, 0, params=params, shift=shift)
        plain = block_statistics_plain(X, w, 0, params=params, shift=shift)
        assert fast.weight == pytest.approx(plain.weight, rel=1e-14)
        assert fast.log_likelihood == pytest.approx(plain.log_likelihood, rel=1e-12)
        for name in ("nk", "sx", "moment"):
            np.testing.assert_allclose(getattr(fast, name), getattr(plain, name), rtol=1e-10, atol=1e-9)


def test_thread_count_does_not_change_a_bit(rng):
    X = blobs(rng, n=5000, d=3)
    params = random_params(rng, "full", k=3, d=3)
    fn = partial(block_statistics, params=params, shift=np.zeros(3))
    one = MemoryEngine(X, block_rows=512, n_threads=1).reduce(fn)
    two = MemoryEngine(X, block_rows=512, n_threads=2).reduce(fn)
    assert one.log_likelihood == two.log_likelihood
    for name in ("nk", "sx", "moment"):
        assert np.array_equal(getattr(one, name), getattr(two, name))
