"""The Newton steps of EVE's and VVE's inner loop (iterative.fit_orientation) against the
majorization–minimization (MM) steps they replace near a minimum.

The MM-only loop (Browne & McNicholas 2014, mclust's mseve) is what the inner loop was before
the Newton steps: it is rebuilt here by making every Newton try fail, so the comparisons run the
same code otherwise. Checked: the gradient and Hessian against finite differences; that the
loop reaches the MM fixed point (or a lower −ℓ), to rounding, on random and degenerate inputs;
that −ℓ never increases; and that it converges in a handful of steps on problems where MM
stops at its cap of 100.
"""

import numpy as np
import pytest

from gmmcli.core.models import eve, iterative, vve
from tests.core.likelihood import log_likelihood, scatter_of
from tests.core.test_models_iterative import random_scatter, seeded, well_conditioned_scatter

MODULES = {"EVE": eve, "VVE": vve}
NAMES = tuple(MODULES)


def correlated_scatter(rng, k, d, n_rows=50):
    """One correlated cloud split among k components by random soft responsibilities, as in
    EM's first iterations on data like wine: the components differ little, so the common
    orientation is weakly determined and MM crawls."""
    L = rng.normal(size=(d, d)) / np.sqrt(d) + np.eye(d)
    Z = np.broadcast_to(rng.normal(size=(n_rows * k, d)) @ L.T, (k, n_rows * k, d))
    return scatter_of(Z, rng.dirichlet(np.full(k, 0.5), size=n_rows * k).T)


@pytest.fixture
def mm_only(monkeypatch):
    """A function running the MM-only loop (every Newton try fails) with a given cap."""
    def run(name, W, nk, previous=None, cap=iterative.MAX_MM_ITER):
        with monkeypatch.context() as patch:
            patch.setattr(iterative, "newton_orientation", lambda *args, **kwargs: (None, True))
            patch.setattr(iterative, "MAX_MM_ITER", cap)
            return MODULES[name].fit(W, nk, previous, record=True)
    return run


def neg_ll(cov, W, nk):
    return -log_likelihood(cov, W, nk)


# ---------------------------------------------------------------- the derivatives
def _skew(theta, d):
    S = np.zeros((d, d))
    S[np.triu_indices(d, 1)] = theta
    return S - S.T


def _pullback(W, D, theta, phi):
    """φ(diag(Rᵀ Dᵀ W_k D R)) at R = exp(S(θ)): the function whose derivatives are checked."""
    DR = D @ _expm_skew(_skew(theta, len(D)))
    return phi(np.einsum("ji,kji->ki", DR, W @ DR))


def _expm_skew(S):
    """exp(S) by scaling and squaring of a Taylor series (S small and skew)."""
    A = S / 2.0 ** 8
    E, term = np.eye(len(S)), np.eye(len(S))
    for i in range(1, 20):
        term = term @ A / i
        E = E + term
    for _ in range(8):
        E = E @ E
    return E


@pytest.mark.parametrize("name", NAMES)
def test_gradient_and_hessian_match_finite_differences(name):
    rng = seeded("hessian", name)
    k, d = 3, 4
    W, nk = random_scatter(rng, k, d)
    D = np.linalg.qr(rng.normal(size=(d, d)))[0]
    if name == "VVE":  # Σ_k ½ n_k Σ_j log x_kj, and its derivatives in x
        phi = lambda x: 0.5 * float(np.sum(nk[:, None] * np.log(x)))  # noqa: E731
        derivatives = lambda x: (0.5 * nk[:, None] / x, -0.5 * nk[:, None] / x ** 2)  # noqa: E731
    else:  # d Σ_k (Π_j x_kj)^{1/d}: a diagonal and a rank-one part
        phi = lambda x: d * float(np.sum(np.exp(np.mean(np.log(x), axis=1))))  # noqa: E731

        def derivatives(x):
            g = np.exp(np.mean(np.log(x), axis=1))
            return g[:, None] / x, -g[:, None] / x ** 2, g / d, 1.0 / x
    B = D.T @ W @ D
    gradient, hessian = iterative.orientation_hessian(B, *derivatives(np.einsum("kii->ki", B)))
    n = d * (d - 1) // 2
    f = lambda t: _pullback(W, D, t, phi)  # noqa: E731
    h = 1e-5
    numeric = np.array([(f(h * e) - f(-h * e)) / (2 * h) for e in np.eye(n)])
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6, atol=1e-6 * np.abs(gradient).max())
    h = 1e-4
    second = np.array([[(f(h * (a + b)) - f(h * (a - b)) - f(h * (b - a)) + f(-h * (a + b))) / (4 * h * h)
                        for b in np.eye(n)] for a in np.eye(n)])
    np.testing.assert_allclose(hessian, second, rtol=1e-5, atol=1e-5 * np.abs(hessian).max())
    np.testing.assert_allclose(hessian, hessian.T, rtol=0, atol=1e-14 * np.abs(hessian).max())


def test_cayley_is_a_rotation_agreeing_with_exp_to_second_order():
    rng = seeded("cayley")
    d = 5
    theta = 1e-3 * rng.normal(size=d * (d - 1) // 2)
    R = iterative.cayley(theta, d)
    np.testing.assert_allclose(R.T @ R, np.eye(d), atol=1e-15)
    assert np.abs(R - _expm_skew(_skew(theta, d))).max() < 1e-8  # O(|S|³) ≈ 1e-9, while |S|² ≈ 1e-5


# ---------------------------------------------------------------- the fixed point
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("maker", [well_conditioned_scatter, correlated_scatter], ids=["well", "correlated"])
@pytest.mark.parametrize("d,k", [(3, 2), (4, 3), (6, 3), (8, 4)])
def test_reaches_the_mm_fixed_point(mm_only, name, maker, d, k):
    """Newton's fixed point is MM's run to convergence (up to 20000 steps), to rounding in −ℓ,
    and closer to it than MM stopped at √eps is: MM's last step is √eps but it converges
    linearly, so it stops further from the fixed point than that."""
    W, nk = maker(seeded("fixed point", name, maker.__name__, d, k), k, d)
    new = MODULES[name].fit(W, nk, record=True)
    reference = mm_only(name, W, nk, cap=20000)
    assert new.converged and reference.converged
    at_reference = neg_ll(reference.covariances, W, nk)
    assert neg_ll(new.covariances, W, nk) <= at_reference + 1e-10 * abs(at_reference)
    assert new.n_iter <= 25 and new.n_iter < reference.n_iter
    # polished: Newton again from its own estimate moves it by less than rounding allows for
    again = MODULES[name].fit(W, nk, new.covariances)
    assert again.n_iter <= 2
    scale = np.abs(new.covariances).max()
    assert np.abs(again.covariances - new.covariances).max() <= 1e-9 * scale


@pytest.mark.parametrize("name", NAMES)
def test_converges_where_mm_needs_its_cap(mm_only, name):
    """On weakly determined orientations (d = 8) MM stops at its cap of 100 steps, far from the
    minimum; the Newton steps reach it in at most 8 and to a lower −ℓ."""
    for seed in range(3):
        W, nk = correlated_scatter(seeded("cap", name, seed), 4, 8)
        old = mm_only(name, W, nk)
        new = MODULES[name].fit(W, nk, record=True)
        assert not old.converged and old.n_iter == iterative.MAX_MM_ITER
        assert new.converged and new.n_iter <= 8, new.n_iter
        assert neg_ll(new.covariances, W, nk) < neg_ll(old.covariances, W, nk)


@pytest.mark.parametrize("name", NAMES)
def test_warm_start_at_the_minimum_stops_at_once(name):
    W, nk = correlated_scatter(seeded("warm", name), 3, 6)
    cold = MODULES[name].fit(W, nk)
    warm = MODULES[name].fit(W, nk, cold.covariances)
    assert warm.converged and warm.n_iter <= 2
    np.testing.assert_allclose(warm.covariances, cold.covariances, rtol=0, atol=1e-9 * np.abs(cold.covariances).max())


# ---------------------------------------------------------------- monotone and no worse than MM
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("maker", [well_conditioned_scatter, random_scatter, correlated_scatter],
                         ids=["well", "random", "correlated"])
def test_never_increases_and_ends_no_worse_than_mm(mm_only, name, maker):
    """Over many problems (d up to 8, cold and warm starts): −ℓ never rises along the inner loop
    (beyond its rounding), and ends no higher than MM's 100 steps from the same start."""
    for d, k, rep in [(d, k, rep) for d in (2, 5, 8) for k in (2, 4) for rep in range(2)]:
        W, nk = maker(seeded("monotone", name, maker.__name__, d, k, rep), k, d)
        near = MODULES[name].estimate(W * np.exp(seeded("near", d, k, rep).uniform(-0.05, 0.05, (k, 1, 1))), nk)
        for previous in (None, near):
            new = MODULES[name].fit(W, nk, previous, record=True)
            history = np.array(new.history)
            assert len(history) == new.n_iter + 1 and np.all(np.isfinite(history))
            assert np.all(np.diff(history) <= 1e-12 * np.abs(history[1:])), (d, k, rep, np.diff(history).max())
            old = mm_only(name, W, nk, previous)
            if old.converged and new.converged:  # both at a fixed point from the same start
                assert history[-1] <= old.history[-1] + 1e-10 * abs(old.history[-1]), (d, k, rep)


@pytest.mark.parametrize("name", NAMES)
def test_degenerate_inputs_match_mm(mm_only, name):
    """An empty component (n_k ≈ 0, W_k = 0) and a singular W_k: −ℓ has no minimum inside the
    floors, and the loop takes MM's steps alone, as before; a nearly empty component with a
    regular W_k is solved by Newton to no worse than MM's −ℓ."""
    W, nk = random_scatter(seeded("degenerate", name), 3, 4)
    x = seeded("rank one", name).normal(size=4)
    tiny = 10 * np.finfo(float).eps
    singular = [
        (np.stack([W[0], np.zeros((4, 4)), W[2]]), np.array([nk[0], tiny, nk[2]])),
        (np.stack([W[0], np.outer(x, x), W[2]]), np.array([nk[0], 1.0, nk[2]])),
    ]
    for W_case, nk_case in singular:
        new, old = MODULES[name].fit(W_case, nk_case, record=True), mm_only(name, W_case, nk_case)
        np.testing.assert_array_equal(new.covariances, old.covariances)
        assert new.history == old.history
    # nearly empty but regular: a thousandth of a row, spread like the others
    W_small = np.stack([W[0], 1e-3 * W[1] / nk[1], W[2]])
    nk_small = np.array([nk[0], 1e-3, nk[2]])
    new, old = MODULES[name].fit(W_small, nk_small, record=True), mm_only(name, W_small, nk_small, cap=20000)
    assert new.converged and np.all(np.isfinite(new.covariances))
    assert np.all(np.diff(new.history) <= 1e-12 * np.abs(np.array(new.history[1:])))
    assert new.history[-1] <= old.history[-1] + 1e-10 * abs(old.history[-1])


@pytest.mark.parametrize("name", NAMES)
def test_recording_does_not_change_the_estimate(name):
    W, nk = correlated_scatter(seeded("record", name), 3, 5)
    recorded, plain = MODULES[name].fit(W, nk, record=True), MODULES[name].fit(W, nk)
    np.testing.assert_array_equal(recorded.covariances, plain.covariances)
    assert plain.history == () and len(recorded.history) == recorded.n_iter + 1
    np.testing.assert_allclose(recorded.history[-1], neg_ll(recorded.covariances, W, nk), rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_wide_data_take_mm_steps_only(mm_only, monkeypatch, name):
    """Beyond NEWTON_MAX_COLUMNS the Hessian (d(d−1)/2 square, built through a d⁴ array) is
    not built at all: the loop is MM's, bit for bit."""
    monkeypatch.setattr(iterative, "NEWTON_MAX_COLUMNS", 5)
    W, nk = correlated_scatter(seeded("wide", name), 3, 6)
    new, old = MODULES[name].fit(W, nk, record=True), mm_only(name, W, nk)
    np.testing.assert_array_equal(new.covariances, old.covariances)
    assert new.history == old.history
    monkeypatch.setattr(iterative, "NEWTON_MAX_COLUMNS", 6)
    assert MODULES[name].fit(W, nk).n_iter < old.n_iter  # Newton again at the limit itself
