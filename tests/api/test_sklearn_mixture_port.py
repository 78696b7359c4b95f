"""scikit-learn's own mixture tests, run against gmmcli.GaussianMixture.

Ported from scikit-learn 1.9, sklearn/mixture/tests/test_gaussian_mixture.py
(BSD-3-Clause, the scikit-learn developers). Each test keeps its name and its data; where a test
reached into scikit-learn's private functions, its port checks the same property on gmmcli's
core (named in the docstring). Changes, and the tests that cannot apply, are listed in
/tmp/api_helper/CHANGES.md ("Ported scikit-learn tests").
"""

import copy
import itertools
import re
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_almost_equal, assert_array_almost_equal, assert_array_equal
from scipy import linalg, stats

from gmmcli import ConvergenceWarning, GaussianMixture, NotFittedError
from gmmcli.core.models import MODELS
from gmmcli.core.params import make_params
from gmmcli.core.stats import accumulate_statistics, estimate_weighted_log_prob, m_step

COVARIANCE_TYPE = ["full", "tied", "diag", "spherical"]
SEEDS = (0, 1, 42)  # scikit-learn's global_random_seed, a few of its values


def make_spd_matrix(n_dim, random_state):
    """scikit-learn's make_spd_matrix (datasets), as a test helper."""
    A = random_state.uniform(size=(n_dim, n_dim))
    U, _, Vt = linalg.svd(np.dot(A.T, A))
    return np.dot(np.dot(U, 1.0 + np.diag(random_state.uniform(size=n_dim))), Vt)


def adjusted_rand_score(labels_true, labels_pred):
    """The adjusted Rand index (Hubert & Arabie), without scikit-learn."""
    _, true = np.unique(labels_true, return_inverse=True)
    _, pred = np.unique(labels_pred, return_inverse=True)
    table = np.zeros((true.max() + 1, pred.max() + 1))
    np.add.at(table, (true, pred), 1)
    pairs = lambda x: (x * (x - 1) / 2).sum()  # noqa: E731
    index, rows, cols = pairs(table), pairs(table.sum(1)), pairs(table.sum(0))
    expected = rows * cols / pairs(np.array([len(true)]))
    return (index - expected) / (0.5 * (rows + cols) - expected)


def generate_data(n_samples, n_features, weights, means, precisions, covariance_type):
    rng = np.random.RandomState(0)
    X = []
    if covariance_type == "spherical":
        for w, m, c in zip(weights, means, precisions["spherical"]):
            X.append(rng.multivariate_normal(m, c * np.eye(n_features), int(np.round(w * n_samples))))
    if covariance_type == "diag":
        for w, m, c in zip(weights, means, precisions["diag"]):
            X.append(rng.multivariate_normal(m, np.diag(c), int(np.round(w * n_samples))))
    if covariance_type == "tied":
        for w, m in zip(weights, means):
            X.append(rng.multivariate_normal(m, precisions["tied"], int(np.round(w * n_samples))))
    if covariance_type == "full":
        for w, m, c in zip(weights, means, precisions["full"]):
            X.append(rng.multivariate_normal(m, c, int(np.round(w * n_samples))))
    return np.vstack(X)


class RandomData:
    def __init__(self, rng, n_samples=200, n_components=2, n_features=2, scale=50):
        self.n_samples = n_samples
        self.n_components = n_components
        self.n_features = n_features
        self.weights = rng.rand(n_components)
        self.weights = self.weights / self.weights.sum()
        self.means = rng.rand(n_components, n_features) * scale
        self.covariances = {
            "spherical": 0.5 + rng.rand(n_components),
            "diag": (0.5 + rng.rand(n_components, n_features)) ** 2,
            "tied": make_spd_matrix(n_features, random_state=rng),
            "full": np.array([make_spd_matrix(n_features, random_state=rng) * 0.5 for _ in range(n_components)]),
        }
        self.precisions = {
            "spherical": 1.0 / self.covariances["spherical"],
            "diag": 1.0 / self.covariances["diag"],
            "tied": linalg.inv(self.covariances["tied"]),
            "full": np.array([linalg.inv(covariance) for covariance in self.covariances["full"]]),
        }
        self.X = {t: generate_data(n_samples, n_features, self.weights, self.means, self.covariances, t)
                  for t in COVARIANCE_TYPE}
        self.Y = np.hstack([np.full(int(np.round(w * n_samples)), k, dtype=int) for k, w in enumerate(self.weights)])


def test_gaussian_mixture_attributes():
    rng = np.random.RandomState(0)
    X = rng.rand(10, 2)
    n_components, tol, n_init, max_iter, reg_covar = 2, 1e-4, 3, 30, 1e-1
    covariance_type, init_params = "full", "random"
    gmm = GaussianMixture(n_components=n_components, tol=tol, n_init=n_init, max_iter=max_iter, reg_covar=reg_covar,
                          covariance_type=covariance_type, init_params=init_params).fit(X)
    assert gmm.n_components == n_components
    assert gmm.covariance_type == covariance_type
    assert gmm.tol == tol
    assert gmm.reg_covar == reg_covar
    assert gmm.max_iter == max_iter
    assert gmm.n_init == n_init
    assert gmm.init_params == init_params


def test_check_weights():
    """scikit-learn's range message swaps min and max; gmmcli's names them right."""
    rng = np.random.RandomState(0)
    rand_data = RandomData(rng)
    n_components = rand_data.n_components
    X = rand_data.X["full"]
    g = GaussianMixture(n_components=n_components)

    weights_bad_shape = rng.rand(n_components, 1)
    g.weights_init = weights_bad_shape
    msg = re.escape(f"The parameter 'weights' should have the shape of ({n_components},), but got "
                    f"{weights_bad_shape.shape}")
    with pytest.raises(ValueError, match=msg):
        g.fit(X)

    weights_bad_range = rng.rand(n_components) + 1
    g.weights_init = weights_bad_range
    msg = re.escape(f"The parameter 'weights' should be in the range [0, 1], but got min value "
                    f"{np.min(weights_bad_range):.5f}, max value {np.max(weights_bad_range):.5f}")
    with pytest.raises(ValueError, match=msg):
        g.fit(X)

    weights_bad_norm = rng.rand(n_components)
    weights_bad_norm = weights_bad_norm / (weights_bad_norm.sum() + 1)
    g.weights_init = weights_bad_norm
    msg = re.escape(f"The parameter 'weights' should be normalized, but got sum(weights) = "
                    f"{np.sum(weights_bad_norm):.5f}")
    with pytest.raises(ValueError, match=msg):
        g.fit(X)

    weights = rand_data.weights
    g = GaussianMixture(weights_init=weights, n_components=n_components)
    g.fit(X)
    assert_array_equal(weights, g.weights_init)


def test_check_means():
    rng = np.random.RandomState(0)
    rand_data = RandomData(rng)
    n_components, n_features = rand_data.n_components, rand_data.n_features
    X = rand_data.X["full"]
    g = GaussianMixture(n_components=n_components)
    g.means_init = rng.rand(n_components + 1, n_features)
    with pytest.raises(ValueError, match="The parameter 'means' should have the shape of "):
        g.fit(X)
    means = rand_data.means
    g.means_init = means
    g.fit(X)
    assert_array_equal(means, g.means_init)


def test_check_precisions():
    rng = np.random.RandomState(0)
    rand_data = RandomData(rng)
    n_components, n_features = rand_data.n_components, rand_data.n_features
    precisions_bad_shape = {
        "full": np.ones((n_components + 1, n_features, n_features)),
        "tied": np.ones((n_features + 1, n_features + 1)),
        "diag": np.ones((n_components + 1, n_features)),
        "spherical": np.ones((n_components + 1)),
    }
    precisions_not_pos = np.ones((n_components, n_features, n_features))
    precisions_not_pos[0] = np.eye(n_features)
    precisions_not_pos[0, 0, 0] = -1.0
    precisions_not_positive = {
        "full": precisions_not_pos,
        "tied": precisions_not_pos[0],
        "diag": np.full((n_components, n_features), -1.0),
        "spherical": np.full(n_components, -1.0),
    }
    not_positive_errors = {"full": "symmetric, positive-definite", "tied": "symmetric, positive-definite",
                           "diag": "positive", "spherical": "positive"}
    for covar_type in COVARIANCE_TYPE:
        X = RandomData(rng).X[covar_type]
        g = GaussianMixture(n_components=n_components, covariance_type=covar_type, random_state=rng)
        g.precisions_init = precisions_bad_shape[covar_type]
        with pytest.raises(ValueError, match=f"The parameter '{covar_type} precision' should have the shape of"):
            g.fit(X)
        g.precisions_init = precisions_not_positive[covar_type]
        with pytest.raises(ValueError, match=f"'{covar_type} precision' should be {not_positive_errors[covar_type]}"):
            g.fit(X)
        g.precisions_init = rand_data.precisions[covar_type]
        g.fit(X)
        assert_array_equal(rand_data.precisions[covar_type], g.precisions_init)


def _covariances_from_resp(X, resp, covariance_type, reg_covar=0.0):
    """gmmcli's M-step from the summed statistics (what _estimate_gaussian_covariances_* compute)."""
    shift = X.mean(axis=0)
    stats_ = accumulate_statistics(X - shift, resp, shift, covariance_type)
    return m_step(stats_, reg_covar)


def test_suffstat_sk_full():
    """Ported to gmmcli's core: the full M-step from summed statistics is the weighted covariance."""
    rng = np.random.RandomState(0)
    n_samples, n_features = 500, 2
    X = rng.rand(n_samples, n_features)
    resp = rng.rand(n_samples, 1)
    params = _covariances_from_resp(X, resp, "full")
    weighted_mean = resp[:, 0] @ X / resp.sum()
    expected = (resp * (X - weighted_mean)).T @ (X - weighted_mean) / resp.sum()
    assert_almost_equal(params.covariances[0], expected)
    precs_pred = params.precisions_chol[0] @ params.precisions_chol[0].T
    assert_array_almost_equal(linalg.inv(params.covariances[0]), precs_pred)

    params = _covariances_from_resp(X, np.ones((n_samples, 1)), "full")
    assert_almost_equal(params.covariances[0], np.cov(X.T, bias=True))


def test_suffstat_sk_tied():
    """Ported to gmmcli's core: Σ_tied = Σ_k n_k Σ_k / n."""
    rng = np.random.RandomState(0)
    n_samples, n_features, n_components = 500, 2, 2
    resp = rng.rand(n_samples, n_components)
    resp = resp / resp.sum(axis=1)[:, np.newaxis]
    X = rng.rand(n_samples, n_features)
    nk = resp.sum(axis=0)
    full = _covariances_from_resp(X, resp, "full").covariances
    tied = _covariances_from_resp(X, resp, "tied")
    assert_almost_equal(tied.covariances, np.sum(nk[:, None, None] * full, 0) / n_samples)
    assert_array_almost_equal(linalg.inv(tied.covariances), tied.precisions_chol @ tied.precisions_chol.T)


def test_suffstat_sk_diag():
    """Ported to gmmcli's core: diag is the diagonal of full; its precision factor is 1/√σ²."""
    rng = np.random.RandomState(0)
    n_samples, n_features, n_components = 500, 2, 2
    resp = rng.rand(n_samples, n_components)
    resp = resp / resp.sum(axis=1)[:, np.newaxis]
    X = rng.rand(n_samples, n_features)
    full = _covariances_from_resp(X, resp, "full").covariances
    diag = _covariances_from_resp(X, resp, "diag")
    assert_almost_equal(diag.covariances, np.diagonal(full, axis1=1, axis2=2))
    assert_almost_equal(diag.covariances, 1.0 / diag.precisions_chol**2)


def test_gaussian_suffstat_sk_spherical():
    """Ported to gmmcli's core: spherical = the variance of the flattened centred data."""
    rng = np.random.RandomState(0)
    n_samples, n_features = 500, 2
    X = rng.rand(n_samples, n_features)
    X = X - X.mean()
    spherical = _covariances_from_resp(X, np.ones((n_samples, 1)), "spherical")
    Xc = X - X.mean(axis=0)
    assert_almost_equal(spherical.covariances, np.dot(Xc.flatten(), Xc.flatten()) / (n_features * n_samples))
    assert_almost_equal(spherical.covariances, 1.0 / spherical.precisions_chol**2)


def test_compute_log_det_cholesky():
    """Ported to gmmcli's model table: log_det of the precision factors is −½ log|Σ|."""
    n_features = 2
    rand_data = RandomData(np.random.RandomState(0))
    for covar_type in COVARIANCE_TYPE:
        covariance = rand_data.covariances[covar_type]
        if covar_type == "full":
            predicted_det = np.array([linalg.det(cov) for cov in covariance])
        elif covar_type == "tied":
            predicted_det = linalg.det(covariance)
        elif covar_type == "diag":
            predicted_det = np.array([np.prod(cov) for cov in covariance])
        else:
            predicted_det = covariance**n_features
        model = MODELS[covar_type]
        log_det = model.log_det(model.precisions_chol(covariance), rand_data.n_components, n_features)
        assert_array_almost_equal(log_det, -0.5 * np.log(predicted_det))


def _naive_lmvnpdf_diag(X, means, covars):
    resp = np.empty((len(X), len(means)))
    stds = np.sqrt(covars)
    for i, (mean, std) in enumerate(zip(means, stds)):
        resp[:, i] = stats.norm.logpdf(X, mean, std).sum(axis=1)
    return resp


def test_gaussian_mixture_log_probabilities():
    """Ported to gmmcli's core: estimate_weighted_log_prob minus log weights against scipy."""
    rng = np.random.RandomState(0)
    rand_data = RandomData(rng)
    n_samples, n_features, n_components = 500, rand_data.n_features, rand_data.n_components
    means = rand_data.means
    covars_diag = rng.rand(n_components, n_features)
    X = rng.rand(n_samples, n_features)
    weights = np.full(n_components, 1.0 / n_components)

    def log_prob(covariances, covariance_type):
        params = make_params(weights, means, covariances, covariance_type)
        return estimate_weighted_log_prob(X, params) - np.log(weights)

    naive = _naive_lmvnpdf_diag(X, means, covars_diag)
    assert_array_almost_equal(log_prob(np.array([np.diag(c) for c in covars_diag]), "full"), naive)
    assert_array_almost_equal(log_prob(covars_diag, "diag"), naive)
    covars_tied = covars_diag.mean(axis=0)
    naive = _naive_lmvnpdf_diag(X, means, [covars_tied] * n_components)
    assert_array_almost_equal(log_prob(np.diag(covars_tied), "tied"), naive)
    covars_spherical = covars_diag.mean(axis=1)
    naive = _naive_lmvnpdf_diag(X, means, [[k] * n_features for k in covars_spherical])
    assert_array_almost_equal(log_prob(covars_spherical, "spherical"), naive)


def test_gaussian_mixture_estimate_log_prob_resp():
    rng = np.random.RandomState(0)
    rand_data = RandomData(rng, scale=5)
    n_samples, n_components = rand_data.n_samples, rand_data.n_components
    X = rng.rand(n_samples, rand_data.n_features)
    for covar_type in COVARIANCE_TYPE:
        weights, means = rand_data.weights, rand_data.means
        precisions = rand_data.precisions[covar_type]
        g = GaussianMixture(n_components=n_components, random_state=rng, weights_init=weights, means_init=means,
                            precisions_init=precisions, covariance_type=covar_type)
        g.fit(X)
        resp = g.predict_proba(X)
        assert_array_almost_equal(resp.sum(axis=1), np.ones(n_samples))
        assert_array_equal(g.weights_init, weights)
        assert_array_equal(g.means_init, means)
        assert_array_equal(g.precisions_init, precisions)


def test_gaussian_mixture_predict_predict_proba():
    rng = np.random.RandomState(0)
    rand_data = RandomData(rng)
    for covar_type in COVARIANCE_TYPE:
        X, Y = rand_data.X[covar_type], rand_data.Y
        g = GaussianMixture(n_components=rand_data.n_components, random_state=rng, weights_init=rand_data.weights,
                            means_init=rand_data.means, precisions_init=rand_data.precisions[covar_type],
                            covariance_type=covar_type)
        msg = ("This GaussianMixture instance is not fitted yet. Call 'fit' with appropriate arguments before "
               "using this estimator.")
        with pytest.raises(NotFittedError, match=msg):
            g.predict(X)
        g.fit(X)
        Y_pred = g.predict(X)
        assert_array_equal(Y_pred, g.predict_proba(X).argmax(axis=1))
        assert adjusted_rand_score(Y, Y_pred) > 0.95


@pytest.mark.filterwarnings("ignore:.*did not converge.*")
@pytest.mark.parametrize("seed, max_iter, tol", [(0, 2, 1e-7), (1, 2, 1e-1), (3, 300, 1e-7), (4, 300, 1e-1)])
def test_gaussian_mixture_fit_predict(seed, max_iter, tol):
    rng = np.random.RandomState(seed)
    rand_data = RandomData(rng)
    for covar_type in COVARIANCE_TYPE:
        X, Y = rand_data.X[covar_type], rand_data.Y
        g = GaussianMixture(n_components=rand_data.n_components, random_state=rng, weights_init=rand_data.weights,
                            means_init=rand_data.means, precisions_init=rand_data.precisions[covar_type],
                            covariance_type=covar_type, max_iter=max_iter, tol=tol)
        f = copy.deepcopy(g)
        Y_pred1 = f.fit(X).predict(X)
        Y_pred2 = g.fit_predict(X)
        assert_array_equal(Y_pred1, Y_pred2)
        assert adjusted_rand_score(Y, Y_pred2) > 0.95
        assert g.means_.dtype == g.weights_.dtype == g.precisions_.dtype == np.float64


def test_gaussian_mixture_fit_predict_n_init():
    X = np.random.RandomState(0).randn(1000, 5)
    gm = GaussianMixture(n_components=5, n_init=5, random_state=0)
    assert_array_equal(gm.fit_predict(X), gm.predict(X))


def test_gaussian_mixture_fit():
    rng = np.random.RandomState(0)
    rand_data = RandomData(rng)
    n_features, n_components = rand_data.n_features, rand_data.n_components
    for covar_type in COVARIANCE_TYPE:
        X = rand_data.X[covar_type]
        g = GaussianMixture(n_components=n_components, n_init=20, reg_covar=0, random_state=rng,
                            covariance_type=covar_type)
        g.fit(X)
        assert_allclose(np.sort(g.weights_), np.sort(rand_data.weights), rtol=0.1, atol=1e-2)
        arg_idx1 = g.means_[:, 0].argsort()
        arg_idx2 = rand_data.means[:, 0].argsort()
        assert_allclose(g.means_[arg_idx1], rand_data.means[arg_idx2], rtol=0.1, atol=1e-2)
        if covar_type == "full":
            prec_pred, prec_test = g.precisions_, rand_data.precisions["full"]
        elif covar_type == "tied":
            prec_pred = np.array([g.precisions_] * n_components)
            prec_test = np.array([rand_data.precisions["tied"]] * n_components)
        elif covar_type == "spherical":
            prec_pred = np.array([np.eye(n_features) * c for c in g.precisions_])
            prec_test = np.array([np.eye(n_features) * c for c in rand_data.precisions["spherical"]])
        else:
            prec_pred = np.array([np.diag(d) for d in g.precisions_])
            prec_test = np.array([np.diag(d) for d in rand_data.precisions["diag"]])
        arg_idx1 = np.trace(prec_pred, axis1=1, axis2=2).argsort()
        arg_idx2 = np.trace(prec_test, axis1=1, axis2=2).argsort()
        for k, h in zip(arg_idx1, arg_idx2):
            # EmpiricalCovariance.error_norm: the squared Frobenius norm of the difference, per feature
            assert_allclose(np.sum((prec_pred[k] - prec_test[h]) ** 2) / n_features, 0, atol=0.15)


def test_gaussian_mixture_fit_best_params():
    """n_init restarts keep the best; the score kept is at least the best of n_init single fits
    (scikit-learn asserts it equals their minimum, which compares its own restarts' seeds)."""
    rng = np.random.RandomState(0)
    rand_data = RandomData(rng)
    n_components, n_init = rand_data.n_components, 10
    for covar_type in COVARIANCE_TYPE:
        X = rand_data.X[covar_type]
        scores = [GaussianMixture(n_components=n_components, reg_covar=0, random_state=seed,
                                  covariance_type=covar_type, init_params="random").fit(X).score(X)
                  for seed in range(n_init)]
        g_best = GaussianMixture(n_components=n_components, n_init=n_init, reg_covar=0, random_state=0,
                                 covariance_type=covar_type, init_params="random").fit(X)
        assert g_best.score(X) >= min(scores) - 1e-9
        history = g_best._model.history["restarts"]
        finals = [r["log_likelihood"][-1] for r in history if r["log_likelihood"]]
        assert_almost_equal(g_best._model.log_likelihood["total"], max(finals))


def test_gaussian_mixture_fit_convergence_warning():
    rng = np.random.RandomState(0)
    rand_data = RandomData(rng, scale=1)
    for covar_type in COVARIANCE_TYPE:
        X = rand_data.X[covar_type]
        g = GaussianMixture(n_components=rand_data.n_components, n_init=1, max_iter=1, reg_covar=0, random_state=rng,
                            covariance_type=covar_type)
        msg = ("Best performing initialization did not converge. Try different init parameters, or increase "
               "max_iter, tol, or check for degenerate data.")
        with pytest.warns(ConvergenceWarning, match=msg):
            g.fit(X)


def test_multiple_init():
    rng = np.random.RandomState(0)
    n_samples, n_features, n_components = 50, 5, 2
    X = rng.randn(n_samples, n_features)
    for cv_type in COVARIANCE_TYPE:
        train1 = GaussianMixture(n_components=n_components, covariance_type=cv_type, random_state=0).fit(X).score(X)
        train2 = GaussianMixture(n_components=n_components, covariance_type=cv_type, random_state=0,
                                 n_init=5).fit(X).score(X)
        assert train2 >= train1


def test_gaussian_mixture_n_parameters():
    rng = np.random.RandomState(0)
    n_samples, n_features, n_components = 50, 5, 2
    X = rng.randn(n_samples, n_features)
    n_params = {"spherical": 13, "diag": 21, "tied": 26, "full": 41}
    for cv_type in COVARIANCE_TYPE:
        g = GaussianMixture(n_components=n_components, covariance_type=cv_type, random_state=rng).fit(X)
        assert g._n_parameters() == n_params[cv_type]


def test_bic_1d_1component():
    rng = np.random.RandomState(0)
    X = rng.randn(100, 1)
    bic_full = GaussianMixture(n_components=1, covariance_type="full", random_state=rng).fit(X).bic(X)
    for covariance_type in ["tied", "diag", "spherical", "E", "V", "EII", "VVV"]:
        bic = GaussianMixture(n_components=1, covariance_type=covariance_type, random_state=rng).fit(X).bic(X)
        assert_almost_equal(bic_full, bic)


def test_gaussian_mixture_aic_bic():
    rng = np.random.RandomState(0)
    n_samples, n_features, n_components = 50, 3, 2
    X = rng.randn(n_samples, n_features)
    sgh = 0.5 * (np.linalg.slogdet(np.cov(X.T, bias=1))[1] + n_features * (1 + np.log(2 * np.pi)))
    for cv_type in COVARIANCE_TYPE:
        g = GaussianMixture(n_components=n_components, covariance_type=cv_type, random_state=rng, max_iter=200)
        g.fit(X)
        aic = 2 * n_samples * sgh + 2 * g._n_parameters()
        bic = 2 * n_samples * sgh + np.log(n_samples) * g._n_parameters()
        bound = n_features / np.sqrt(n_samples)
        assert (g.aic(X) - aic) / n_samples < bound
        assert (g.bic(X) - bic) / n_samples < bound


@pytest.mark.filterwarnings("ignore:.*did not converge.*")
@pytest.mark.parametrize("seed", (0, 1, 2))
def test_warm_start(seed):
    rng = np.random.RandomState(seed)
    n_samples, n_features, n_components = 500, 2, 2
    X = rng.rand(n_samples, n_features)
    g = GaussianMixture(n_components=n_components, n_init=1, max_iter=2, reg_covar=0, random_state=seed,
                        warm_start=False)
    h = GaussianMixture(n_components=n_components, n_init=1, max_iter=1, reg_covar=0, random_state=seed,
                        warm_start=True)
    g.fit(X)
    score1 = h.fit(X).score(X)
    score2 = h.fit(X).score(X)
    # gmmcli numbers components by decreasing weight after a cold fit and keeps the order on a warm one
    order_g, order_h = np.argsort(g.means_[:, 0]), np.argsort(h.means_[:, 0])
    assert_almost_equal(g.weights_[order_g], h.weights_[order_h])
    assert_almost_equal(g.means_[order_g], h.means_[order_h])
    assert_almost_equal(g.precisions_[order_g], h.precisions_[order_h])
    assert score2 > score1

    g = GaussianMixture(n_components=n_components, n_init=1, max_iter=5, reg_covar=0, random_state=seed,
                        warm_start=False, tol=1e-6)
    h = GaussianMixture(n_components=n_components, n_init=1, max_iter=5, reg_covar=0, random_state=seed,
                        warm_start=True, tol=1e-6)
    g.fit(X)
    assert not g.converged_
    h.fit(X)
    for _ in range(1000):
        h.fit(X)
        if h.converged_:
            break
    assert h.converged_


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_convergence_detected_with_warm_start():
    rng = np.random.RandomState(0)
    rand_data = RandomData(rng)
    X = rand_data.X["full"]
    for max_iter in (1, 2, 50):
        gmm = GaussianMixture(n_components=rand_data.n_components, warm_start=True, max_iter=max_iter,
                              random_state=rng)
        for _ in range(100):
            gmm.fit(X)
            if gmm.converged_:
                break
        assert gmm.converged_
        assert max_iter >= gmm.n_iter_


def test_score():
    covar_type = "full"
    rng = np.random.RandomState(0)
    rand_data = RandomData(rng, scale=7)
    X = rand_data.X[covar_type]
    gmm1 = GaussianMixture(n_components=rand_data.n_components, n_init=1, max_iter=1, reg_covar=0, random_state=rng,
                           covariance_type=covar_type)
    msg = ("This GaussianMixture instance is not fitted yet. Call 'fit' with appropriate arguments before using "
           "this estimator.")
    with pytest.raises(NotFittedError, match=msg):
        gmm1.score(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm1.fit(X)
    assert gmm1.means_.dtype == gmm1.covariances_.dtype == np.float64
    gmm_score = gmm1.score(X)
    gmm_score_proba = gmm1.score_samples(X).mean()
    assert_almost_equal(gmm_score, gmm_score_proba)
    gmm2 = GaussianMixture(n_components=rand_data.n_components, n_init=1, reg_covar=0, random_state=rng,
                           covariance_type=covar_type).fit(X)
    assert gmm2.score(X) > gmm1.score(X)


def test_score_samples():
    rng = np.random.RandomState(0)
    rand_data = RandomData(rng, scale=7)
    X = rand_data.X["full"]
    gmm = GaussianMixture(n_components=rand_data.n_components, n_init=1, reg_covar=0, random_state=rng,
                          covariance_type="full")
    with pytest.raises(NotFittedError, match="This GaussianMixture instance is not fitted yet"):
        gmm.score_samples(X)
    assert gmm.fit(X).score_samples(X).shape[0] == rand_data.n_samples


def test_monotonic_likelihood():
    rng = np.random.RandomState(0)
    rand_data = RandomData(rng, scale=7)
    for covar_type in COVARIANCE_TYPE:
        X = rand_data.X[covar_type]
        gmm = GaussianMixture(n_components=rand_data.n_components, covariance_type=covar_type, reg_covar=0,
                              warm_start=True, max_iter=1, random_state=rng, tol=1e-7)
        current_log_likelihood = -np.inf
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for _ in range(600):
                prev_log_likelihood = current_log_likelihood
                current_log_likelihood = gmm.fit(X).score(X)
                assert current_log_likelihood >= prev_log_likelihood
                if gmm.converged_:
                    break
            assert gmm.converged_


def test_regularisation():
    rng = np.random.RandomState(0)
    n_samples, n_features = 10, 5
    X = np.vstack((np.ones((n_samples // 2, n_features)), np.zeros((n_samples // 2, n_features))))
    for covar_type in COVARIANCE_TYPE:
        gmm = GaussianMixture(n_components=n_samples, reg_covar=0, covariance_type=covar_type, random_state=rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UserWarning)  # collapsed components, as the CLI warns
            msg = re.escape("Fitting the mixture model failed because some components have ill-defined empirical "
                            "covariance (for instance caused by singleton or collapsed samples). Try to decrease "
                            "the number of components, increase reg_covar, or scale the input data.")
            with pytest.raises(ValueError, match=msg):
                gmm.fit(X)
            gmm.set_params(reg_covar=1e-6).fit(X)


@pytest.mark.parametrize("covar_type", COVARIANCE_TYPE)
def test_fitted_precision_covariance_concistency(covar_type):
    rng = np.random.RandomState(0)
    rand_data = RandomData(rng, scale=7)
    gmm = GaussianMixture(n_components=rand_data.n_components, covariance_type=covar_type, random_state=rng,
                          n_init=5)
    gmm.fit(rand_data.X[covar_type])
    if covar_type == "full":
        for prec, covar in zip(gmm.precisions_, gmm.covariances_):
            assert_array_almost_equal(linalg.inv(prec), covar)
    elif covar_type == "tied":
        assert_array_almost_equal(linalg.inv(gmm.precisions_), gmm.covariances_)
    else:
        assert_array_almost_equal(gmm.precisions_, 1.0 / gmm.covariances_)


def test_sample():
    rng = np.random.RandomState(0)
    rand_data = RandomData(rng, scale=7, n_components=3)
    n_features, n_components = rand_data.n_features, rand_data.n_components
    for covar_type in COVARIANCE_TYPE:
        X = rand_data.X[covar_type]
        gmm = GaussianMixture(n_components=n_components, covariance_type=covar_type, random_state=rng)
        with pytest.raises(NotFittedError, match="This GaussianMixture instance is not fitted"):
            gmm.sample(0)
        gmm.fit(X)
        with pytest.raises(ValueError, match="Invalid value for 'n_samples'"):
            gmm.sample(0)
        n_samples = 20000
        X_s, y_s = gmm.sample(n_samples)
        for k in range(n_components):
            if covar_type == "full":
                assert_array_almost_equal(gmm.covariances_[k], np.cov(X_s[y_s == k].T), decimal=1)
            elif covar_type == "tied":
                assert_array_almost_equal(gmm.covariances_, np.cov(X_s[y_s == k].T), decimal=1)
            elif covar_type == "diag":
                assert_array_almost_equal(gmm.covariances_[k], np.diag(np.cov(X_s[y_s == k].T)), decimal=1)
            else:
                assert_array_almost_equal(gmm.covariances_[k], np.var(X_s[y_s == k] - gmm.means_[k]), decimal=1)
        means_s = np.array([np.mean(X_s[y_s == k], 0) for k in range(n_components)])
        assert_array_almost_equal(gmm.means_, means_s, decimal=1)
        assert X_s.shape == (n_samples, n_features)
        for sample_size in range(1, 100):
            X_s, _ = gmm.sample(sample_size)
            assert X_s.shape == (sample_size, n_features)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_init():
    for random_state in range(15):
        rand_data = RandomData(np.random.RandomState(random_state), n_samples=50, scale=1)
        X = rand_data.X["full"]
        gmm1 = GaussianMixture(n_components=rand_data.n_components, n_init=1, max_iter=1,
                               random_state=random_state).fit(X)
        gmm2 = GaussianMixture(n_components=rand_data.n_components, n_init=10, max_iter=1,
                               random_state=random_state).fit(X)
        assert gmm2.lower_bound_ >= gmm1.lower_bound_


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_gaussian_mixture_setting_best_params():
    rnd = np.random.RandomState(0)
    X = rnd.uniform(size=(30, 3))
    means_init = np.array([
        [0.670637869618158, 0.21038256107384043, 0.12892629765485303],
        [0.09394051075844147, 0.5759464955561779, 0.929296197576212],
        [0.5033230372781258, 0.9569852381759425, 0.08654043447295741],
        [0.18578301420435747, 0.5531158970919143, 0.19388943970532435],
        [0.4548589928173794, 0.35182513658825276, 0.568146063202464],
        [0.609279894978321, 0.7929063819678847, 0.9620097270828052],
    ])
    precisions_init = np.array([999999.999604483, 999999.9990869573, 553.7603944542167, 204.78596008931834,
                                15.867423501783637, 85.4595728389735])
    weights_init = [0.03333333333333341, 0.03333333333333341, 0.06666666666666674, 0.06666666666666674,
                    0.7000000000000001, 0.10000000000000007]
    gmm = GaussianMixture(covariance_type="spherical", reg_covar=0, means_init=means_init, weights_init=weights_init,
                          random_state=rnd, n_components=len(weights_init), precisions_init=precisions_init,
                          max_iter=1)
    gmm.fit(X)
    assert not gmm.converged_
    for attr in ["weights_", "means_", "covariances_", "precisions_cholesky_", "n_iter_", "lower_bound_",
                 "lower_bounds_"]:
        assert hasattr(gmm, attr)


@pytest.mark.parametrize("init_params", ["random", "random_from_data", "k-means++", "kmeans", "hc"])
@pytest.mark.parametrize("seed", SEEDS)
def test_init_means_not_duplicated(init_params, seed):
    rng = np.random.RandomState(seed)
    rand_data = RandomData(rng, scale=5)
    X = rand_data.X["full"]
    gmm = GaussianMixture(n_components=rand_data.n_components, init_params=init_params, random_state=rng, max_iter=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm.fit(X)
    for i_mean, j_mean in itertools.combinations(gmm.means_, r=2):
        assert not np.allclose(i_mean, j_mean)


@pytest.mark.parametrize("init_params", ["random", "random_from_data", "k-means++", "kmeans", "hc"])
@pytest.mark.parametrize("seed", SEEDS)
def test_means_for_all_inits(init_params, seed):
    rng = np.random.RandomState(seed)
    rand_data = RandomData(rng, scale=5)
    X = rand_data.X["full"]
    gmm = GaussianMixture(n_components=rand_data.n_components, init_params=init_params, random_state=rng)
    gmm.fit(X)
    assert gmm.means_.shape == (rand_data.n_components, X.shape[1])
    assert np.all(X.min(axis=0) <= gmm.means_)
    assert np.all(gmm.means_ <= X.max(axis=0))
    assert gmm.converged_


def test_max_iter_zero():
    rng = np.random.RandomState(0)
    rand_data = RandomData(rng, scale=5)
    X = rand_data.X["full"]
    means_init = [[20, 30], [30, 25]]
    gmm = GaussianMixture(n_components=rand_data.n_components, random_state=rng, means_init=means_init, tol=1e-06,
                          max_iter=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm.fit(X)
    assert_allclose(gmm.means_, means_init)


def test_gaussian_mixture_precisions_init_diag():
    """Starting from the precisions (and weights and means) the initialisation computes gives the
    same fit in as many iterations (#16944: diag precisions_init were turned into wrong Cholesky
    factors). scikit-learn builds the start with its KMeans; here it is gmmcli's own, read back from
    a max_iter=0 fit (all three parts, as the fit numbers its components in its own order)."""
    n_samples = 300
    rng = np.random.RandomState(0)
    shifted_gaussian = rng.randn(n_samples, 2) + np.array([20, 20])
    C = np.array([[0.0, -0.7], [3.5, 0.7]])
    stretched_gaussian = np.dot(rng.randn(n_samples, 2), C)
    X = np.vstack([shifted_gaussian, stretched_gaussian])
    settings = dict(n_components=2, covariance_type="diag", reg_covar=1e-6, random_state=0)
    start = GaussianMixture(max_iter=0, **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start.fit(X)
    gm_with_init = GaussianMixture(weights_init=start.weights_, means_init=start.means_,
                                   precisions_init=start.precisions_, **settings).fit(X)
    gm_without_init = GaussianMixture(**settings).fit(X)
    assert gm_without_init.n_iter_ == gm_with_init.n_iter_
    a, b = np.argsort(gm_with_init.means_[:, 0]), np.argsort(gm_without_init.means_[:, 0])
    assert_allclose(gm_with_init.precisions_cholesky_[a], gm_without_init.precisions_cholesky_[b], rtol=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPE)
@pytest.mark.parametrize("seed", SEEDS)
def test_gaussian_mixture_precisions_init(covariance_type, seed):
    """Ported without scikit-learn's private _initialize: a max_iter=0 fit from given precisions
    returns them, with their Cholesky factors (#26415)."""
    rs = np.random.RandomState(seed)
    X = rs.random_sample((100, 3))
    fitted = GaussianMixture(n_components=4, covariance_type=covariance_type, random_state=seed).fit(X)
    gmm = GaussianMixture(n_components=4, covariance_type=covariance_type, weights_init=fitted.weights_,
                          means_init=fitted.means_, precisions_init=fitted.precisions_, max_iter=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm.fit(X)
    assert_allclose(gmm.precisions_, fitted.precisions_, rtol=1e-10)
    assert_allclose(gmm.precisions_cholesky_, fitted.precisions_cholesky_, rtol=1e-10, atol=1e-12)


def test_gaussian_mixture_single_component_stable():
    rng = np.random.RandomState(0)
    X = rng.multivariate_normal(np.zeros(2), np.identity(2), size=3)
    gm = GaussianMixture(n_components=1)
    gm.fit(X).sample()


def test_gaussian_mixture_all_init_does_not_estimate_gaussian_parameters(monkeypatch):
    """Ported: with every starting value given, no initialisation method runs (gmmcli's initialize
    is made to fail) and EM starts from them."""
    import gmmcli.core.init
    import gmmcli.pipeline.arrays
    import gmmcli.pipeline.fit

    def refuse(*args, **kwargs):
        raise AssertionError("the initialisation ran although every starting value was given")

    for module in (gmmcli.pipeline.arrays, gmmcli.pipeline.fit, gmmcli.core.init):
        monkeypatch.setattr(module, "initialize", refuse, raising=False)
    rng = np.random.RandomState(0)
    rand_data = RandomData(rng)
    gm = GaussianMixture(n_components=rand_data.n_components, weights_init=rand_data.weights,
                         means_init=rand_data.means, precisions_init=rand_data.precisions["full"], random_state=rng)
    gm.fit(rand_data.X["full"])
    assert gm.converged_
