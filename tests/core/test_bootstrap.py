"""The pure pieces of the bootstrap (gmmcli.core.bootstrap): row weights, generators, the
parameter vector in original units, and what the replicates sum up to, against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from gmmcli.core.bootstrap import (
    bootstrap_se, jackknife_se, lrt_p_value, lrt_statistic, parameter_labels, parameter_vector,
    percentile_interval, replicate_rng, resampling_weights, summarize_replicates,
)
from gmmcli.core.params import NoiseTerm, make_params


def test_jackknife_se_of_the_mean_is_the_standard_error_of_the_mean():
    """Leave-one-out means x̄₍ᵢ₎ = (n x̄ − xᵢ)/(n − 1): the jackknife SE is exactly s/√n (s with n − 1)."""
    x = np.random.default_rng(3).gamma(2.0, size=(57, 3))
    n = len(x)
    loo_means = (x.sum(axis=0) - x) / (n - 1)
    np.testing.assert_allclose(jackknife_se(loo_means), x.std(axis=0, ddof=1) / np.sqrt(n), rtol=1e-12)


def test_jackknife_se_is_mclusts_formula():
    """mclust: sqrt(sd² (m − 1)² / m) with R's sd (n − 1)."""
    values = np.random.default_rng(4).normal(size=(40, 5))
    m = len(values)
    mclust = np.sqrt(values.std(axis=0, ddof=1) ** 2 * (m - 1) ** 2 / m)
    np.testing.assert_allclose(jackknife_se(values), mclust, rtol=1e-12)


def test_bootstrap_se_is_rs_sd():
    values = np.array([[1.0, 2.0], [2.0, 4.0], [4.0, 8.0]])
    np.testing.assert_allclose(bootstrap_se(values), [np.sqrt(7 / 3), 2 * np.sqrt(7 / 3)], rtol=1e-12)


def test_percentile_interval_is_rs_type_7_quantile():
    """R: quantile(1:10, c(0.025, 0.975)) is 1.225 and 9.775."""
    lower, upper = percentile_interval(np.arange(1.0, 11.0)[:, None], 0.95)
    assert lower[0] == pytest.approx(1.225) and upper[0] == pytest.approx(9.775)


def test_jackknife_interval_is_mclusts_normal_interval():
    values = np.random.default_rng(5).normal(size=(30, 2))
    se, lower, upper = summarize_replicates("jk", values, 0.9)
    np.testing.assert_allclose((upper - lower) / 2, 1.6448536269514722 * se, rtol=1e-12)
    np.testing.assert_allclose((upper + lower) / 2, values.mean(axis=0), rtol=1e-12)


def test_lrt_p_value_counts_ties_and_never_reaches_zero():
    boot = np.array([1.0, 2.0, 3.0, 3.0, 10.0])
    assert lrt_p_value(3.0, boot) == pytest.approx(4 / 6)
    assert lrt_p_value(100.0, boot) == pytest.approx(1 / 6)
    assert lrt_statistic(-10.0, -7.5) == 5.0


def test_resampling_weights():
    rng = np.random.default_rng(0)
    counts = resampling_weights("bs", 50, rng, 0)
    assert counts.sum() == 50 and np.all(counts == np.round(counts)) and (counts == 0).any()
    wlbs = resampling_weights("wlbs", 50, rng, 0)
    assert wlbs.max() == 1.0 and (wlbs > 0).all()
    jk = resampling_weights("jk", 5, rng, 3)
    assert jk.tolist() == [1.0, 1.0, 1.0, 0.0, 1.0]
    with pytest.raises(ValueError):
        resampling_weights("pb", 5, rng, 0)


def test_replicate_generators_are_seedsequence_children():
    """Replicate i, attempt a draws from SeedSequence(seed).spawn(...)[i].spawn(...)[a]."""
    child = np.random.SeedSequence(7).spawn(3)[2].spawn(2)[1]
    expected = np.random.default_rng(child).random(4)
    np.testing.assert_array_equal(replicate_rng(7, 2, 1).random(4), expected)
    assert not np.array_equal(replicate_rng(7, 2, 0).random(4), expected)


def test_parameter_vector_in_original_units_follows_its_labels():
    params = make_params([0.3, 0.7], [[0.0, 1.0], [2.0, -1.0]],
                         [[[1.0, 0.5], [0.5, 2.0]], [[0.5, 0.1], [0.1, 0.3]]], "full")
    scale, mean = np.array([2.0, 10.0]), np.array([5.0, -3.0])
    values = parameter_vector(params, scale, mean)
    labels = parameter_labels(2, ["a", "b"])
    got = dict(zip(labels, values))
    assert got[("weight", 1, None)] == 0.7
    assert got[("mean", 1, "b")] == pytest.approx(-1.0 * 10 - 3)
    assert got[("variance", 0, "b")] == pytest.approx(2.0 * 100)
    assert got[("covariance", 0, "a:b")] == pytest.approx(0.5 * 20)
    assert len(values) == len(labels) == 2 * (1 + 2 + 2 + 1)


def test_parameter_vector_ends_with_the_noise_weight():
    params = make_params([0.6], [[0.0]], [[[1.0]]], "full", noise=NoiseTerm(0.4, -2.0))
    assert parameter_labels(1, ["x"], noise=True)[-1] == ("weight", "noise", None)
    assert parameter_vector(params, np.ones(1), np.zeros(1))[-1] == 0.4
