"""mclust's closed-form covariance models (EII, EEI, EVI, EEV, EVV, E, V).

Each estimate is checked to lie in its model's family, to maximise the complete-data
log-likelihood ℓ(Σ) = −½ Σ_k [n_k log|Σ_k| + tr(W_k Σ_k⁻¹)] over that family (against
scipy.optimize over a parametrisation of it), to reduce to the simpler models where the
algebra says so, to count mclust's parameters, and to drive EM uphill through the core.
"""

import numpy as np
import pytest
from scipy.optimize import minimize

from gmmcli.core import models
from gmmcli.core.models import e, eei, eev, eii, evi, evv, v
from gmmcli.engines.memory import MemoryEngine
from tests.core.likelihood import log_likelihood, scatter_of, volumes
from tests.helpers import blobs, em_on

MODULES = {"EII": eii, "EEI": eei, "EVI": evi, "EEV": eev, "EVV": evv, "E": e, "V": v}
MULTI = ("EII", "EEI", "EVI", "EEV", "EVV")


def _estimate(name, W, nk):
    """The entry's M-step on statistics whose scatter matrices are exactly W (means at the shift)."""
    k, d, _ = W.shape
    return MODULES[name].MODEL.m_step(W.copy(), nk, np.zeros((k, d)), 0.0, None)


def random_scatter(rng, k, d, n_rows=40):
    """Scatter matrices of random data, one random linear map per component, and their weights."""
    maps = rng.normal(size=(k, d, d)) + 2.0 * np.eye(d)
    Z = rng.normal(size=(k, n_rows, d)) @ maps.transpose(0, 2, 1)
    return scatter_of(Z, rng.uniform(0.2, 1.0, size=(k, n_rows)))


def is_diagonal(cov):
    return np.array_equal(cov, np.eye(cov.shape[1]) * cov)


# ---------------------------------------------------------------- each family, parametrised freely
def _rotations(theta, k, d):
    """Rotations by the Cayley transform (I − S)⁻¹(I + S) of skew-symmetric S."""
    skew = np.zeros((k, d, d))
    rows, cols = np.triu_indices(d, 1)
    skew[:, rows, cols] = theta.reshape(k, -1)
    skew -= skew.transpose(0, 2, 1)
    return np.linalg.solve(np.eye(d) - skew, np.eye(d) + skew)


def _unit_det(theta, k, d):
    """Symmetric positive definite matrices of determinant 1 from lower-triangular factors."""
    L = np.zeros((k, d, d))
    rows, cols = np.tril_indices(d)
    L[:, rows, cols] = theta.reshape(k, -1)
    idx = np.arange(d)
    L[:, idx, idx] = np.exp(L[:, idx, idx])
    M = L @ L.transpose(0, 2, 1)
    return M / volumes(M)[:, None, None]


FAMILIES = {
    # name: (number of free values for (k, d), values -> covariances (k, d, d))
    "EII": (lambda k, d: 1, lambda t, k, d: np.exp(t[0]) * np.broadcast_to(np.eye(d), (k, d, d))),
    "EEI": (lambda k, d: d, lambda t, k, d: np.broadcast_to(np.diag(np.exp(t)), (k, d, d))),
    "EVI": (lambda k, d: 1 + k * d,
            lambda t, k, d: np.exp(t[0]) * np.stack([np.diag(np.exp(a - a.mean())) for a in t[1:].reshape(k, d)])),
    "EEV": (lambda k, d: d + k * d * (d - 1) // 2,
            lambda t, k, d: (lambda R: (R * np.exp(t[:d])) @ R.transpose(0, 2, 1))(_rotations(t[d:], k, d))),
    "EVV": (lambda k, d: 1 + k * d * (d + 1) // 2, lambda t, k, d: np.exp(t[0]) * _unit_det(t[1:], k, d)),
    "E": (lambda k, d: 1, lambda t, k, d: np.full((k, 1, 1), np.exp(t[0]))),
    "V": (lambda k, d: k, lambda t, k, d: np.exp(t).reshape(k, 1, 1)),
}


def best_in_family(name, W, nk, rng, n_starts=3):
    k, d, _ = W.shape
    n_free, build = FAMILIES[name]
    objective = lambda t: -log_likelihood(build(t, k, d), W, nk)  # noqa: E731
    fits = [minimize(objective, rng.normal(scale=0.5, size=n_free(k, d)), method="BFGS",
                     options={"gtol": 1e-10, "maxiter": 5000}) for _ in range(n_starts)]
    return -min(fit.fun for fit in fits)


# ---------------------------------------------------------------- the tests
def assert_in_family(name, cov, W=None, nk=None):
    """The covariances satisfy ``name``'s constraint and are symmetric positive definite
    (for V, which constrains nothing, they equal W_k / n_k when W and nk are given)."""
    assert np.all(np.isfinite(cov))
    np.testing.assert_array_equal(cov, cov.transpose(0, 2, 1))
    assert np.linalg.eigvalsh(cov).min() > 0
    k, d, _ = cov.shape
    if name in ("EII", "E"):
        np.testing.assert_allclose(cov, cov[0, 0, 0] * np.broadcast_to(np.eye(d), cov.shape), rtol=1e-13)
    if name == "EEI":
        assert is_diagonal(cov) and all(np.array_equal(c, cov[0]) for c in cov)
    if name == "EVI":
        assert is_diagonal(cov)
    if name == "EEV":
        np.testing.assert_allclose(np.linalg.eigvalsh(cov), np.linalg.eigvalsh(cov[:1]).repeat(k, axis=0), rtol=1e-12)
    if name in ("EVI", "EVV"):
        np.testing.assert_allclose(volumes(cov), volumes(cov)[0], rtol=1e-12)
    if name == "V" and W is not None:
        np.testing.assert_allclose(cov, W / nk[:, None, None], rtol=1e-15)


@pytest.mark.parametrize("name", MULTI)
def test_estimate_lies_in_its_family(rng, name):
    W, nk = random_scatter(rng, k=3, d=4)
    cov = _estimate(name, W, nk)
    assert_in_family(name, cov, W, nk)
    # and the family is not smaller than the model says: what is free does vary
    if name in ("EVI", "EVV"):
        assert np.ptp(np.linalg.eigvalsh(cov), axis=0).max() > 1e-3
    if name == "EEV":
        assert np.abs(cov[0] - cov[1]).max() > 1e-3


@pytest.mark.parametrize("name", ("E", "V"))
def test_one_column_estimate_lies_in_its_family(rng, name):
    W, nk = random_scatter(rng, k=3, d=1)
    assert_in_family(name, _estimate(name, W, nk), W, nk)


@pytest.mark.parametrize("name", MULTI + ("E", "V"))
def test_estimate_maximises_the_likelihood_over_its_family(rng, name):
    d = 1 if name in ("E", "V") else 3
    W, nk = random_scatter(rng, k=3, d=d)
    at_estimate = log_likelihood(_estimate(name, W, nk), W, nk)
    best = best_in_family(name, W, nk, rng)
    scale = abs(at_estimate)
    assert best <= at_estimate + 1e-9 * scale  # nothing in the family does better …
    assert best >= at_estimate - 1e-6 * scale  # … and the optimizer does reach it


def test_the_optimizer_beats_a_wrong_estimate(rng):
    """The maximisation test has teeth: EEV with its eigenvalues paired the wrong way round loses."""
    W, nk = random_scatter(rng, k=3, d=3)
    values, vectors = np.linalg.eigh(W)
    shape = values.sum(axis=0)[::-1] / nk.sum()  # largest of A on each W_k's smallest direction
    wrong = (vectors * shape) @ vectors.transpose(0, 2, 1)
    assert best_in_family("EEV", W, nk, rng) > log_likelihood(wrong, W, nk) + 1.0


def test_one_component_reduces_to_the_unconstrained_models(rng):
    W, nk = random_scatter(rng, k=1, d=4)
    n, d = nk.sum(), 4
    for name in ("EEV", "EVV"):  # K = 1: VVV, W / n
        np.testing.assert_allclose(_estimate(name, W, nk), W / n, rtol=1e-12)
    for name in ("EVI", "EEI"):  # K = 1: VVI, diag(W) / n
        np.testing.assert_allclose(_estimate(name, W, nk), np.diag(np.diag(W[0]))[None] / n, rtol=1e-12, atol=0)
    np.testing.assert_allclose(_estimate("EII", W, nk), np.trace(W[0]) / (n * d) * np.eye(d)[None], rtol=1e-13)


def test_equal_scatter_matrices_reduce_to_eee(rng):
    """With W_k all equal, equal volumes and any orientations: the pooled EEE, Σ_k W_k / n."""
    W1, _ = random_scatter(rng, k=1, d=3)
    W, nk = np.repeat(W1, 3, axis=0), np.array([5.0, 12.0, 30.0])
    for name in ("EEV", "EVV"):
        np.testing.assert_allclose(_estimate(name, W, nk), np.broadcast_to(W.sum(axis=0) / nk.sum(), W.shape),
                                   rtol=1e-12)


def test_diagonal_scatter_matrices_make_evv_equal_evi(rng):
    W, nk = random_scatter(rng, k=3, d=3)
    W = W * np.eye(3)
    np.testing.assert_allclose(_estimate("EVV", W, nk), _estimate("EVI", W, nk), rtol=1e-12, atol=1e-15)


def test_one_column_models_agree(rng):
    """For one column every E model is E (σ² = Σ W_k / n); V is σ_k² = W_k / n_k."""
    W, nk = random_scatter(rng, k=3, d=1)
    pooled = np.full((3, 1, 1), W.sum() / nk.sum())
    for name in MULTI + ("E",):
        np.testing.assert_allclose(_estimate(name, W, nk), pooled, rtol=1e-12)
    np.testing.assert_allclose(_estimate("V", W, nk), W / nk[:, None, None], rtol=1e-15)


@pytest.mark.parametrize("name", MULTI)
def test_scale_far_beyond_a_determinant_overflow(rng, name):
    """Σ(c²W) = c²Σ(W) even where |W_k| overflows a double (log space throughout)."""
    W, nk = random_scatter(rng, k=3, d=4)
    c2 = 1e150  # |c² W_k| ~ 1e600
    big = _estimate(name, c2 * W, nk)
    assert np.all(np.isfinite(big))
    np.testing.assert_allclose(big / c2, _estimate(name, W, nk), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("name", MULTI)
def test_empty_and_singular_components_stay_finite(rng, name):
    """A component with n_k ≈ 0 and W_k = 0 next to one with a rank-one W_k: no overflow,
    division by zero or NaN; symmetric positive definite; and the other components as if the
    empty one were absent (it adds nothing to any pooled sum or volume)."""
    W, nk = random_scatter(rng, k=3, d=3)
    x = rng.normal(size=3)
    W[1] = np.outer(x, x)
    W[2], nk[2] = 0.0, 10 * np.finfo(float).eps
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        cov = _estimate(name, W, nk)
        without = _estimate(name, W[:2], nk[:2])
    assert np.all(np.isfinite(cov))
    np.testing.assert_array_equal(cov, cov.transpose(0, 2, 1))
    assert np.linalg.eigvalsh(cov).min() > 0
    np.testing.assert_allclose(cov[:2], without, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name, expected", [
    # (k, d): mclust's nVarParams, from MCLUST_NOTES.md's table
    ("EII", {(1, 1): 1, (3, 2): 1, (4, 5): 1}),
    ("EEI", {(1, 1): 1, (3, 2): 2, (4, 5): 5}),
    ("EVI", {(1, 1): 1, (3, 2): 4, (4, 5): 17}),
    ("EEV", {(1, 1): 1, (3, 2): 5, (4, 5): 45}),
    ("EVV", {(1, 1): 1, (3, 2): 7, (4, 5): 57}),
    ("E", {(1, 1): 1, (3, 1): 1}),
    ("V", {(1, 1): 1, (3, 1): 3}),
])
def test_parameter_counts(name, expected):
    model = MODULES[name].MODEL
    assert {kd: model.n_cov_parameters(*kd) for kd in expected} == expected


@pytest.fixture
def registered(monkeypatch):
    """The models in the table for this test, if the lead has not added them yet.

    ``params`` and ``stats`` hold the table's dict from their import, so the entries are
    added to that same dict (and removed again afterwards by monkeypatch).
    """
    missing = tuple(n for n in MODULES if n not in models.MODEL_NAMES)
    if missing:
        monkeypatch.setattr(models, "MODEL_NAMES", models.MODEL_NAMES + missing)
        table = models.MODELS
        for name in missing:
            monkeypatch.setitem(table, name, MODULES[name].MODEL)


@pytest.mark.parametrize("name", MULTI + ("E", "V"))
def test_em_never_decreases_the_log_likelihood(rng, registered, name):
    from gmmcli.core.init import initialize

    d = 1 if name in ("E", "V") else 3
    X = blobs(rng, n=400, d=d, k=3, spread=3.0)
    engine = MemoryEngine(X, block_rows=128)
    shift = X.mean(axis=0)
    params = initialize(engine, 3, name, "kmeans++", rng, 0.0, shift)
    result = em_on(engine, params, shift, max_iter=30, reg_covar=0.0, tol=0.0)
    assert result.n_iter == 30 and result.params.covariance_type == name
    steps = np.diff(result.log_likelihood)
    assert steps.min() >= -1e-10 * abs(result.log_likelihood[-1])
    assert result.log_likelihood[-1] > result.log_likelihood[0]
    assert_in_family(name, result.params.covariances)
