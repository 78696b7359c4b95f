"""mclust's iteratively estimated covariance models (VEI, VEV, VEE, EVE, VVE).

Each estimate is checked to lie in its model's family, to maximise the complete-data
log-likelihood ℓ(Σ) = −½ Σ_k [n_k log|Σ_k| + tr(W_k Σ_k⁻¹)] over that family (random
perturbations within it, closed-form members of it, and scipy.optimize over a
parametrisation of it), to come from an inner loop whose −ℓ never rises and which
converges, to be reached again (in fewer steps) from a warm start, to count mclust's
parameters, to stay finite on degenerate components, and to drive EM uphill.
"""

import numpy as np
import pytest
from scipy.optimize import minimize

from gmmcli.core import models
from gmmcli.core.models import eve, iterative, vee, vei, vev, vve
from gmmcli.core.params import make_params
from gmmcli.engines.memory import MemoryEngine
from tests.core.likelihood import log_likelihood, scatter_of, volumes
from tests.helpers import blobs, em_on

MODULES = {"VEI": vei, "VEV": vev, "VEE": vee, "EVE": eve, "VVE": vve}
NAMES = tuple(MODULES)
SHAPES = [(d, k) for d in (1, 2, 4) for k in (1, 3)]


# ---------------------------------------------------------------- data
def random_scatter(rng, k, d, n_rows=60):
    """Scatter matrices of random data (a random linear map per component, so orientations,
    shapes and volumes all differ) with random responsibilities, and their weights."""
    maps = rng.normal(size=(k, d, d)) * np.exp(rng.uniform(-1, 1, size=(k, 1, 1))) + np.eye(d)
    Z = rng.normal(size=(k, n_rows, d)) @ maps.transpose(0, 2, 1)
    return scatter_of(Z, rng.uniform(0.2, 1.0, size=(k, n_rows)))


def well_conditioned_scatter(rng, k, d, n_rows=400):
    """Scatter matrices of data near the EVE/VVE family: one orientation, shapes with well
    separated axes (3^0 … 3^(d−1) in a random order), volumes within a factor e of each other."""
    D = np.linalg.qr(rng.normal(size=(d, d)))[0]
    shapes = np.stack([3.0 ** rng.permutation(d) for _ in range(k)]) * np.exp(rng.uniform(-0.5, 0.5, size=(k, 1)))
    Z = rng.normal(size=(k, n_rows, d)) * np.sqrt(shapes)[:, None, :] @ D.T
    return scatter_of(Z, rng.uniform(0.5, 1.0, size=(k, n_rows)))


def seeded(*key):
    return np.random.default_rng([sum(map(ord, str(part))) for part in key])


# ---------------------------------------------------------------- each family, parametrised freely
def _rotations(theta, k, d):
    """Rotations by the Cayley transform (I − S)⁻¹(I + S) of skew-symmetric S, shape (k, d, d)."""
    skew = np.zeros((k, d, d))
    rows, cols = np.triu_indices(d, 1)
    skew[:, rows, cols] = np.reshape(theta, (k, -1))
    skew -= skew.transpose(0, 2, 1)
    return np.linalg.solve(np.eye(d) - skew, np.eye(d) + skew)


def _unit_det(theta, d):
    """A symmetric positive definite matrix of determinant 1 from a lower-triangular factor."""
    L = np.zeros((d, d))
    L[np.tril_indices(d)] = theta
    idx = np.arange(d)
    L[idx, idx] = np.exp(L[idx, idx])
    M = L @ L.T
    return M / volumes(M[None])[0]


def _unit(log_values):
    return np.exp(log_values - log_values.mean(axis=-1, keepdims=True))


def _rotate(R, diagonals):
    """R_k diag(a_k) R_kᵀ for rotations R (k or 1, d, d) and diagonals (k, d)."""
    R = np.broadcast_to(R, diagonals.shape + diagonals.shape[-1:])
    return np.einsum("kij,kj,klj->kil", R, diagonals, R)


def _vei(t, k, d):
    return _rotate(np.eye(d)[None], np.exp(t[:k])[:, None] * _unit(t[k:k + d])[None])


def _vev(t, k, d):
    shape = np.exp(t[k:k + d] - t[k:k + d].mean())
    return _rotate(_rotations(t[k + d:], k, d), np.exp(t[:k])[:, None] * shape[None])


def _vee(t, k, d):
    return np.exp(t[:k])[:, None, None] * _unit_det(t[k:], d)[None]


def _eve(t, k, d):
    shapes = _unit(t[1:1 + k * d].reshape(k, d))
    return _rotate(_rotations(t[1 + k * d:], 1, d), np.exp(t[0]) * shapes)


def _vve(t, k, d):
    return _rotate(_rotations(t[k * d:], 1, d), np.exp(t[:k * d]).reshape(k, d))


FAMILIES = {  # name: (number of free values for (k, d), values -> covariances (k, d, d))
    "VEI": (lambda k, d: k + d, _vei),
    "VEV": (lambda k, d: k + d + k * d * (d - 1) // 2, _vev),
    "VEE": (lambda k, d: k + d * (d + 1) // 2, _vee),
    "EVE": (lambda k, d: 1 + k * d + d * (d - 1) // 2, _eve),
    "VVE": (lambda k, d: k * d + d * (d - 1) // 2, _vve),
}


def around_estimate(name, cov):
    """(n, build): a map from n free values to covariances of the family, the estimate at 0
    (volumes and shapes move by factors e^t, orientations by Cayley rotations)."""
    k, d, _ = cov.shape
    vol = volumes(cov)
    n_rot = d * (d - 1) // 2
    if name == "VEI":
        shape = np.diagonal(cov[0]) / vol[0]
        return k + d, lambda t: _rotate(np.eye(d)[None], (vol * np.exp(t[:k]))[:, None] * (shape * _unit(t[k:]))[None])
    if name == "VEE":
        L = np.linalg.cholesky(cov[0] / vol[0])

        def build(t):
            M = L @ _unit_det(t[k:], d) @ L.T
            return (vol * np.exp(t[:k]))[:, None, None] * (M / volumes(M[None])[0])[None]

        return k + d * (d + 1) // 2, build
    if name == "VEV":
        values, vectors = np.linalg.eigh(cov)
        shape = values[0] / vol[0]

        def build(t):
            R = vectors @ _rotations(t[k + d:], k, d)
            return _rotate(R, (vol * np.exp(t[:k]))[:, None] * (shape * _unit(t[k:k + d]))[None])

        return k + d + k * n_rot, build
    # EVE, VVE: the common orientation from a generic combination of the (commuting) covariances
    mix = np.einsum("k,kij->ij", 1.0 + np.arange(k) * np.pi % 1.7, cov / np.trace(cov, axis1=1, axis2=2)[:, None, None])
    D = np.linalg.eigh(mix)[1]
    diagonals = np.einsum("ji,kjl,li->ki", D, cov, D)
    if name == "EVE":
        def build(t):
            shapes = diagonals / vol[0] * _unit(t[1:1 + k * d].reshape(k, d))
            return _rotate(D @ _rotations(t[1 + k * d:], 1, d), vol[0] * np.exp(t[0]) * shapes)

        return 1 + k * d + n_rot, build

    def build(t):
        return _rotate(D @ _rotations(t[k * d:], 1, d), diagonals * np.exp(t[:k * d]).reshape(k, d))

    return k * d + n_rot, build


def assert_in_family(name, cov):
    """The covariances satisfy ``name``'s constraint and are symmetric positive definite."""
    assert np.all(np.isfinite(cov))
    np.testing.assert_array_equal(cov, cov.transpose(0, 2, 1))
    assert np.linalg.eigvalsh(cov).min() > 0
    k, d, _ = cov.shape
    unit = cov / volumes(cov)[:, None, None]
    size = np.abs(cov).max()
    if name == "VEI":  # diagonal, one shape
        assert np.array_equal(cov, cov * np.eye(d))
        np.testing.assert_allclose(unit, np.broadcast_to(unit[0], unit.shape), rtol=1e-12)
    if name == "VEE":  # one matrix up to scale
        np.testing.assert_allclose(unit, np.broadcast_to(unit[0], unit.shape), rtol=1e-10, atol=1e-12)
    if name == "VEV":  # one shape (the normalised eigenvalues)
        shapes = np.linalg.eigvalsh(unit)
        np.testing.assert_allclose(shapes, np.broadcast_to(shapes[0], shapes.shape), rtol=1e-10)
    if name == "EVE":  # one volume
        np.testing.assert_allclose(volumes(cov), volumes(cov)[0], rtol=1e-12)
    if name in ("EVE", "VVE"):  # one orientation: the covariances commute
        for i in range(k):
            for j in range(i):
                np.testing.assert_allclose(cov[i] @ cov[j], cov[j] @ cov[i], rtol=0, atol=1e-12 * size ** 2)


def fit(name, W, nk, previous=None):
    return MODULES[name].fit(W, nk, previous, record=True)


# ---------------------------------------------------------------- the tests
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("d,k", SHAPES)
def test_estimate_lies_in_its_family(name, d, k):
    W, nk = random_scatter(seeded(name, d, k), k, d)
    cov = MODULES[name].estimate(W, nk, None)
    assert_in_family(name, cov)
    if k > 1 and d > 1:  # and what the model leaves free does vary
        if name in ("VEI", "VEE", "VEV", "VVE"):
            assert np.ptp(np.log(volumes(cov))) > 1e-3
        if name in ("EVE", "VVE"):
            assert np.ptp(np.linalg.eigvalsh(cov / volumes(cov)[:, None, None]), axis=0).max() > 1e-3
        if name == "VEV":
            assert np.abs(np.linalg.eigh(cov)[1][0] @ np.linalg.eigh(cov)[1][1].T).max() < 1 - 1e-3


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("d,k", SHAPES)
def test_no_perturbation_within_the_family_does_better(name, d, k):
    rng = seeded("max", name, d, k)
    W, nk = well_conditioned_scatter(rng, k, d)
    result = fit(name, W, nk)
    assert result.converged
    at_estimate = log_likelihood(result.covariances, W, nk)
    n_free, build = around_estimate(name, result.covariances)
    np.testing.assert_allclose(build(np.zeros(n_free)), result.covariances, rtol=1e-9, atol=1e-12)
    slack = 1e-10 * abs(at_estimate)
    for step in (1e-1, 1e-2, 1e-3, 1e-4):
        for _ in range(10):
            direction = rng.normal(size=n_free)
            assert log_likelihood(build(step * direction / np.linalg.norm(direction)), W, nk) <= at_estimate + slack


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("d,k", SHAPES)
def test_estimate_beats_closed_form_members_of_its_family(name, d, k):
    W, nk = random_scatter(seeded("closed", name, d, k), k, d)
    result = fit(name, W, nk)
    at_estimate = log_likelihood(result.covariances, W, nk)
    pooled = W.sum(axis=0) / nk.sum()
    per_component = (np.trace(W, axis1=1, axis2=2) / (d * nk))[:, None, None]
    spherical = np.trace(pooled) / d if name == "EVE" else per_component
    candidates = {  # closed-form members of the family
        "pooled (EEE; EEI for VEI)": pooled * np.eye(d) if name == "VEI" else pooled,
        "spherical (VII; EII for EVE)": spherical * np.eye(d),
    }
    for label, candidate in candidates.items():
        cov = np.broadcast_to(candidate, W.shape).copy()
        assert at_estimate >= log_likelihood(cov, W, nk) - 1e-12 * abs(at_estimate), label
    # and the inner loop's own (closed-form) starting point is no better
    assert result.history[-1] <= result.history[0] + 1e-12 * abs(result.history[0])


@pytest.mark.parametrize("name", NAMES)
def test_estimate_maximises_the_likelihood_over_its_family(name):
    """scipy.optimize over the whole family, from random starts, finds nothing better."""
    rng = seeded("bfgs", name)
    k, d = 3, 3
    W, nk = well_conditioned_scatter(rng, k, d, n_rows=60)
    at_estimate = log_likelihood(fit(name, W, nk).covariances, W, nk)
    n_free, build = FAMILIES[name]
    objective = lambda t: -log_likelihood(build(t, k, d), W, nk)  # noqa: E731
    best = -min(minimize(objective, rng.normal(scale=0.5, size=n_free(k, d)), method="BFGS",
                         options={"gtol": 1e-9, "maxiter": 3000}).fun for _ in range(3))
    scale = abs(at_estimate)
    assert best <= at_estimate + 1e-9 * scale  # nothing in the family does better …
    assert best >= at_estimate - 1e-5 * scale  # … and the optimizer does reach it


def test_vve_weights_its_orientation_steps_by_the_volumes():
    """mclust's msvve weights the MM steps by A_k⁻¹ alone (EVE's objective): with unequal
    volumes its fixed point is not VVE's maximum; ours (by (λ_k A_k)⁻¹) does better."""
    W, nk = well_conditioned_scatter(seeded("vve-volumes"), 3, 3)
    W[1] *= 20.0
    D = iterative.sorted_eigh(W.sum(axis=0))[1]
    omega = np.linalg.eigvalsh(W)[:, -1]
    for _ in range(2000):
        D = iterative.mm_orientation(W, omega, D, iterative.normalize_positive(iterative.rotated_diagonals(W, D)))
    mclust_like = np.einsum("ij,kj,lj->kil", D, iterative.rotated_diagonals(W, D) / nk[:, None], D)
    assert log_likelihood(vve.estimate(W, nk), W, nk) > log_likelihood(mclust_like, W, nk) + 0.1


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("d,k", SHAPES)
def test_inner_objective_never_increases(name, d, k):
    for W, nk in (random_scatter(seeded("mono", name, d, k), k, d),
                  well_conditioned_scatter(seeded("mono-well", name, d, k), k, d)):
        history = np.array(fit(name, W, nk).history)
        assert len(history) >= 2 and np.all(np.isfinite(history))
        assert np.all(np.diff(history) <= 1e-12 * np.abs(history[1:])), np.diff(history).max()
        # the recorded objective is −ℓ of the returned estimate
        np.testing.assert_allclose(history[-1], -log_likelihood(fit(name, W, nk).covariances, W, nk), rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("d,k", SHAPES)
def test_inner_loop_converges_within_its_cap(name, d, k):
    W, nk = well_conditioned_scatter(seeded("conv", name, d, k), k, d)
    result = fit(name, W, nk)
    cap = iterative.MAX_MM_ITER if name in ("EVE", "VVE") else iterative.MAX_ITER
    assert result.converged and result.n_iter < cap
    assert len(result.history) == result.n_iter + 1
    if k == 1:  # one component: every model is VVV (VEI: VVI), reached in the first steps
        expected = W / nk[:, None, None]
        np.testing.assert_allclose(result.covariances, expected * np.eye(d) if name == "VEI" else expected,
                                   rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("d,k", SHAPES)
def test_warm_start_reaches_the_same_estimate_in_no_more_steps(name, d, k):
    W, nk = well_conditioned_scatter(seeded("warm", name, d, k), k, d)
    cold = fit(name, W, nk)
    warm = fit(name, W, nk, previous=cold.covariances)
    assert warm.converged and warm.n_iter <= cold.n_iter
    assert_same_estimate(warm.covariances, cold.covariances, W, nk)
    # and from the estimate for slightly different scatter matrices (EM's case)
    nearby = MODULES[name].estimate(W * np.exp(seeded("near", name).uniform(-1e-3, 1e-3, size=(k, 1, 1))), nk)
    again = fit(name, W, nk, previous=nearby)
    assert again.converged and again.n_iter <= cold.n_iter
    assert_same_estimate(again.covariances, cold.covariances, W, nk)


def assert_same_estimate(cov, expected, W, nk):
    """Equal to what a loop stopping at a relative change of √eps ≈ 1.5e-8 can promise: the
    log-likelihood to 1e-12 (it is flat at the maximum), the covariances to 1e-7 of their scale."""
    np.testing.assert_allclose(log_likelihood(cov, W, nk), log_likelihood(expected, W, nk), rtol=1e-12)
    assert np.abs(cov - expected).max() <= 1e-7 * np.abs(expected).max()


def test_one_column_models_agree():
    """For one column VEI, VEV, VEE and VVE are V (σ_k² = W_k / n_k) and EVE is E (Σ W_k / n)."""
    W, nk = random_scatter(seeded("one column"), 3, 1)
    for name in ("VEI", "VEV", "VEE", "VVE"):
        np.testing.assert_allclose(MODULES[name].estimate(W, nk), W / nk[:, None, None], rtol=1e-12)
    np.testing.assert_allclose(eve.estimate(W, nk), np.full((3, 1, 1), W.sum() / nk.sum()), rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_scale_far_beyond_a_determinant_overflow(name):
    """Σ(c²W) = c²Σ(W) where |W_k| overflows a double (log space throughout)."""
    W, nk = well_conditioned_scatter(seeded("scale", name), 3, 4)
    c2 = 1e150  # |c² W_k| ~ 1e600
    big = MODULES[name].estimate(c2 * W, nk)
    assert np.all(np.isfinite(big))
    np.testing.assert_allclose(big / c2, MODULES[name].estimate(W, nk), rtol=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_degenerate_components_stay_finite(name):
    """An empty component (n_k ≈ 0, W_k = 0), a singular W_k, and no spread at all."""
    W, nk = random_scatter(seeded("degenerate", name), 3, 4)
    x = seeded("rank one", name).normal(size=4)
    cases = [
        (np.stack([W[0], np.zeros((4, 4)), W[2]]), np.array([nk[0], 10 * np.finfo(float).eps, nk[2]])),
        (np.stack([W[0], np.outer(x, x), W[2]]), np.array([nk[0], 1.0, nk[2]])),
        (np.zeros((2, 4, 4)), np.array([3.0, 10 * np.finfo(float).eps])),
    ]
    for W_case, nk_case in cases:
        for previous in (None, MODULES[name].estimate(W_case, nk_case)):
            result = fit(name, W_case, nk_case, previous)
            cov = result.covariances
            assert np.all(np.isfinite(cov)) and np.all(np.isfinite(result.history))
            np.testing.assert_array_equal(cov, cov.transpose(0, 2, 1))
            assert np.linalg.eigvalsh(cov).min() >= -1e-9 * np.abs(cov).max()


def test_parameter_counts_are_mclusts():
    """nVarParams as in MCLUST_NOTES.md's table, and by hand for G = 3 components, d = 4."""
    table = {
        "VEI": lambda g, d: g + d - 1,
        "VEE": lambda g, d: g + (d - 1) + d * (d - 1) // 2,
        "EVE": lambda g, d: 1 + g * (d - 1) + d * (d - 1) // 2,
        "VVE": lambda g, d: g + g * (d - 1) + d * (d - 1) // 2,
        "VEV": lambda g, d: g + (d - 1) + g * d * (d - 1) // 2,
    }
    for name, count in table.items():
        for g in (1, 2, 3, 7):
            for d in (1, 2, 3, 5):
                assert MODULES[name].MODEL.n_cov_parameters(g, d) == count(g, d), (name, g, d)
    assert {name: MODULES[name].MODEL.n_cov_parameters(3, 4) for name in NAMES} == {
        "VEI": 6, "VEV": 24, "VEE": 12, "EVE": 16, "VVE": 18}


@pytest.mark.parametrize("name", NAMES)
def test_entry_m_step_regularizes_the_scatter_matrices(name):
    """reg_covar enters W_k as n_k·reg·I before the constrained fit (not added to its result)."""
    W, nk = random_scatter(seeded("entry", name), 3, 3)
    entry = MODULES[name].MODEL
    assert entry.name == entry.mclust_name == name and not entry.shared
    covariances = entry.m_step(W.copy(), nk, np.zeros((3, 3)), 1e-3, None)
    regularized = W + 1e-3 * nk[:, None, None] * np.eye(3)
    np.testing.assert_allclose(covariances, MODULES[name].estimate(regularized, nk), rtol=1e-12)
    assert np.all(np.linalg.eigvalsh(covariances) >= 1e-3 * (1 - 1e-9))  # still at least reg_covar


@pytest.mark.parametrize("name", ["VEI", "VEV", "VEE", "EVE", "VVE"])
def test_singular_component_does_not_make_em_fall(name):
    """A component with fewer rows than columns (singular W_k): the constrained fit of the
    regularized W_k keeps EM's log-likelihood rising (adding reg_covar to an estimate that had
    put a zero variance on W_k's null space did not: wine, VVE, k = 7 fell from −16.3 to −33)."""
    from gmmcli.core.params import make_params
    from gmmcli.core.stats import block_statistics, m_step

    rng = seeded("singular em", name)
    X = np.vstack([rng.normal(size=(60, 5)), rng.normal(size=(4, 5)) * 0.3 + 3.0])  # 4 rows < 5 columns
    labels = np.r_[np.zeros(60, int), np.ones(4, int)]
    resp = np.eye(2)[labels]
    means = np.array([X[labels == j].mean(axis=0) for j in range(2)])
    params = make_params(resp.mean(axis=0), means, np.stack([np.cov(X.T)] * 2), name)
    history = []
    for _ in range(30):
        stats = block_statistics(X, None, 0, params=params, shift=np.zeros(5))
        history.append(stats.log_likelihood)
        params = m_step(stats, 1e-6, previous=params)
    assert np.all(np.diff(history) >= -1e-9 * np.abs(history[1:])), history


# ---------------------------------------------------------------- through EM
@pytest.fixture
def registered(monkeypatch):
    """The five entries in the table for this test only (the lead adds them to MODEL_NAMES).

    The table ``MODELS`` is built once and the core modules that imported it (stats, params,
    the engines) hold that dict, so the entries go into it; rebuilding it instead (deleting
    the cached ``models.MODELS``) would leave their references stale. monkeypatch restores
    MODEL_NAMES, the cached attribute and the dict's keys afterwards.
    """
    from gmmcli.core import params, stats
    from gmmcli.engines import memory

    table = stats.MODELS
    assert params.MODELS is table and memory.MODELS is table
    missing = tuple(name for name in NAMES if name not in models.MODEL_NAMES)
    monkeypatch.setattr(models, "MODEL_NAMES", models.MODEL_NAMES + missing)
    monkeypatch.setitem(models.__dict__, "MODELS", table)
    for name in NAMES:
        monkeypatch.setitem(table, name, MODULES[name].MODEL)
    return table


@pytest.mark.parametrize("name", NAMES)
def test_em_never_decreases_the_log_likelihood(registered, name):
    rng = seeded("em", name)
    X = blobs(rng, n=600, d=3, k=3)
    shift = X.mean(axis=0)
    engine = MemoryEngine(X, block_rows=128, covariance_type=name)
    # identity covariances lie in every family, so EM's first M-step warm-starts from a member
    params = make_params(np.full(3, 1 / 3), X[rng.choice(len(X), 3, replace=False)], np.stack([np.eye(3)] * 3), name)
    assert registered[name] is MODULES[name].MODEL and name in models.MODEL_NAMES
    result = em_on(engine, params, shift, max_iter=30, reg_covar=0.0, tol=0.0)
    history = np.array(result.log_likelihood)
    assert len(history) == 31 and np.all(np.isfinite(history))
    assert np.all(np.diff(history) >= -1e-9 * np.abs(history[1:])), np.diff(history).min()
    assert history[-1] > history[0] + 1.0
    assert_in_family(name, result.params.covariances)
