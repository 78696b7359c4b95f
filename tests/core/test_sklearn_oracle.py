"""From the same start, gmmcli's EM equals scikit-learn's GaussianMixture to 1e-8.

scikit-learn is a test-only oracle; gmmcli never imports it.
"""


import numpy as np
import pytest

from gmmcli.core.init import initialize
from gmmcli.engines.memory import MemoryEngine
from tests.helpers import COVARIANCE_TYPES, blobs, gmmcli, write_csv, write_model, em_on

sklearn_mixture = pytest.importorskip("sklearn.mixture")

N_ITER = 25


def precisions(params):
    if params.covariance_type in ("full", "tied"):
        return np.linalg.inv(params.covariances)
    return 1.0 / params.covariances


def sklearn_fit(X, params, n_iter=N_ITER, reg_covar=1e-6):
    gm = sklearn_mixture.GaussianMixture(
        params.n_components, covariance_type=params.covariance_type, weights_init=params.weights,
        means_init=params.means, precisions_init=precisions(params), tol=0, max_iter=n_iter,
        reg_covar=reg_covar, random_state=0,
    )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gm.fit(X)


def assert_same(gm, params, tol=1e-8):
    np.testing.assert_allclose(params.weights, gm.weights_, rtol=0, atol=tol)
    np.testing.assert_allclose(params.means, gm.means_, rtol=0, atol=tol)
    np.testing.assert_allclose(params.covariances, gm.covariances_, rtol=0, atol=tol)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_core_em_equals_sklearn(rng, covariance_type):
    X = blobs(rng, n=500, d=3, k=3)
    engine = MemoryEngine(X, block_rows=77)
    shift = X.mean(axis=0)
    start = initialize(engine, 3, covariance_type, "kmeans++", rng, 1e-6, shift)
    result = em_on(engine, start, shift, max_iter=N_ITER, reg_covar=1e-6, tol=0.0)
    gm = sklearn_fit(X, start)
    assert_same(gm, result.params)
    # scikit-learn's lower_bound_ is the score of the parameters before its last M-step.
    assert result.log_likelihood[-2] / len(X) == pytest.approx(gm.lower_bound_, rel=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_cli_init_model_equals_sklearn(tmp_path, rng, covariance_type):
    X = blobs(rng, n=400, d=2, k=3) * [3.0, 0.5] + [10.0, -4.0]
    data = write_csv(tmp_path / "data.csv", X, ["a", "b"])
    engine = MemoryEngine(X)
    start = initialize(engine, 3, covariance_type, "kmeans++", rng, 1e-6, X.mean(axis=0))
    init = write_model(tmp_path / "init.json", start, ["a", "b"])
    out = tmp_path / "model.json"
    proc = gmmcli("fit", data, "-k", 3, "--covariance", covariance_type, "--init-model", init,
                  "--no-standardize", "--tol", 0, "--max-iter", N_ITER, "-o", out, "-q")
    assert proc.returncode == 0, proc.stderr
    from gmmcli.io.model_file import read_model

    fitted = read_model(str(out))
    assert fitted.n_iter == N_ITER
    assert_same(sklearn_fit(X, start), fitted.params)


def test_cli_standardized_fit_equals_sklearn_on_scaled_data(tmp_path, rng):
    X = blobs(rng, n=300, d=2, k=3) * [100.0, 0.01] + [5e3, 2.0]
    data = write_csv(tmp_path / "data.csv", X, ["a", "b"])
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    start = initialize(MemoryEngine(Z), 3, "full", "kmeans++", rng, 1e-6, np.zeros(2))
    from gmmcli.scaler import fit_scaler

    init = write_model(tmp_path / "init.json", start, ["a", "b"], scaler=fit_scaler(X, ["a", "b"]))
    out = tmp_path / "model.json"
    proc = gmmcli("fit", data, "-k", 3, "--init-model", init, "--tol", 0, "--max-iter", N_ITER, "-o", out)
    assert proc.returncode == 0, proc.stderr
    from gmmcli.io.model_file import read_model

    assert_same(sklearn_fit(Z, start), read_model(str(out)).params, tol=1e-8)
