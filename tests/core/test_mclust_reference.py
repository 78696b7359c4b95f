"""gmmcli's covariance models against reference numbers from R's mclust.

The fixtures in ``tests/fixtures/mclust/`` are written by ``sample_data/make_mclust_fixtures.R``
(mclust 6.0.0; see that script for exactly what mclust was asked); these tests need no R.
For every (data set, mclust model, G) whose model the table has:

a) one M-step from mclust's hard partition gives mclust's ``mstep`` parameters;
b) EM started from mclust's fitted (``me``, run to a relative tolerance of 1e-12, its
   iterative M-steps to 1e-14) parameters starts at mclust's log-likelihood and stays there (a fixed point); and EM
   started from the parameters mclust returns under its default tolerance (1e-5) starts at
   the log-likelihood mclust reports for them (mclust reports that of the returned parameters);
c) the number of free parameters equals mclust's ``nMclustParams``.

Where mclust's own M-step is not at the maximum (VVE, see :data:`MCLUST_NOT_AT_MAXIMUM`) the
exact comparisons are expected failures and ``test_never_worse_than_mclust`` checks that our
answer is at least as good.

Models not in :data:`gmmcli.core.models.MODEL_NAMES` yet are skipped.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from gmmcli.core.models import MODEL_NAMES, canonical_name
from gmmcli.core.params import make_params, n_parameters
from gmmcli.core.stats import accumulate_statistics, m_step
from gmmcli.engines.memory import MemoryEngine
from tests.core.fixture_data import fixture_rows
from tests.helpers import ROOT, em_on

FIXTURES = os.path.join(ROOT, "tests", "fixtures", "mclust")
DATASETS = ("faithful", "iris", "faithful_waiting")
MSTEP_RTOL = 1e-6
LOGLIK_RTOL = 1e-8
EM_ITERATIONS = 5
NOT_YET = "not in the model table yet"


def load_fixture(dataset: str) -> dict:
    with open(os.path.join(FIXTURES, f"{dataset}.json")) as f:
        return json.load(f)


_FIXTURES = {name: load_fixture(name) for name in DATASETS}
_DATA: dict = {}


def data(dataset: str) -> np.ndarray:
    """The fixture's columns of its CSV (checked against the column sums mclust saw)."""
    if dataset not in _DATA:
        _DATA[dataset] = fixture_rows(_FIXTURES[dataset])
    return _DATA[dataset]


def table_name(mclust_name: str):
    """The table's name for mclust's model (VVV → full, …), or None if the table lacks it."""
    try:
        name = canonical_name(mclust_name)
    except ValueError:
        return None
    return name if name in MODEL_NAMES else None


# mclust's own M-step is not the maximum here, so our (better) answer cannot equal it: the
# exact comparisons are expected to fail; test_never_worse_than_mclust still holds.
MCLUST_NOT_AT_MAXIMUM = {
    "VVE": "mclust's VVE M-step (msvve, orientation started at the identity) stops at a lower "
           "complete-data log-likelihood than gmmcli's, both with common eigenvectors "
           "(iris G=3: -93.29966 against -92.43692), so from mclust's fit EM moves uphill",
}


def _cases(exact: bool):
    for dataset, fx in _FIXTURES.items():
        for fit in fx["fits"]:
            model = fit["model"]
            marks = ()
            if exact and model in MCLUST_NOT_AT_MAXIMUM:
                marks = pytest.mark.xfail(reason=MCLUST_NOT_AT_MAXIMUM[model], strict=False)
            yield pytest.param(dataset, model, fit["G"], id=f"{dataset}-{model}-G{fit['G']}", marks=marks)


CASES = list(_cases(exact=False))
EXACT_CASES = list(_cases(exact=True))


def case(dataset: str, model: str, G: int):
    """(table name, fixture entry, labels) for a case; skips models the table lacks."""
    name = table_name(model)
    if name is None:
        pytest.skip(NOT_YET)
    fx = _FIXTURES[dataset]
    fit = next(f for f in fx["fits"] if f["model"] == model and f["G"] == G)
    return name, fit, np.asarray(fx["labels"][str(G)])


def storage_covariances(name: str, sigma: np.ndarray) -> np.ndarray:
    """mclust's dense sigma (K, D, D) in the model's storage shape (scikit-learn's for its four)."""
    if name == "tied":
        np.testing.assert_array_equal(sigma, np.broadcast_to(sigma[0], sigma.shape))
        return sigma[0]
    if name == "diag":
        return np.diagonal(sigma, axis1=1, axis2=2).copy()
    if name == "spherical":
        return sigma[:, 0, 0].copy()
    return sigma  # full, and mclust's own models (dense)


def assert_close(actual, expected, what):
    """Relative to 1e-6 elementwise, entries near zero judged against the array's scale."""
    expected = np.asarray(expected, dtype=float)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(actual, expected, rtol=MSTEP_RTOL, atol=MSTEP_RTOL * scale, err_msg=what)


def fitted_params(name: str, entry: dict):
    return make_params(entry["pro"], entry["mean"], storage_covariances(name, np.asarray(entry["sigma"])), name)


def em_from(X, params):
    shift = X.mean(axis=0)
    return em_on(MemoryEngine(X, covariance_type=params.covariance_type), params, shift,
                 max_iter=EM_ITERATIONS, reg_covar=0.0, tol=0.0)


# ---------------------------------------------------------------------- a) the M-step
@pytest.mark.parametrize("dataset, model, G", EXACT_CASES)
def test_m_step_from_hard_partition_equals_mclust(dataset, model, G):
    name, fit, labels = case(dataset, model, G)
    expected = fit["mstep"]
    if expected["failed"]:
        pytest.skip(f"mclust's mstep failed: {expected.get('message')}")
    X = data(dataset)
    shift = X.mean(axis=0)
    resp = np.eye(G)[labels]
    params = m_step(accumulate_statistics(X - shift, resp, shift, name), reg_covar=0.0)
    assert_close(params.weights, expected["pro"], "weights")
    assert_close(params.means, expected["mean"], "means")
    assert_close(params.dense_covariances(), expected["sigma"], "covariances")


# ---------------------------------------------------------------------- b) EM at mclust's fit
@pytest.mark.parametrize("dataset, model, G", EXACT_CASES)
def test_em_from_mclust_fit_stays_at_its_log_likelihood(dataset, model, G):
    name, fit, _ = case(dataset, model, G)
    me = fit["me"]
    if me["failed"]:
        pytest.skip(f"mclust's me failed (return code {me['return_code']})")
    result = em_from(data(dataset), fitted_params(name, me))
    history = result.log_likelihood
    assert len(history) == EM_ITERATIONS + 1
    assert history[0] == pytest.approx(me["loglik"], rel=LOGLIK_RTOL, abs=0)
    for i, value in enumerate(history[1:], start=1):
        assert value == pytest.approx(me["loglik"], rel=LOGLIK_RTOL, abs=0), f"iteration {i}: {history}"


@pytest.mark.parametrize("dataset, model, G", CASES)
def test_mclust_reports_the_log_likelihood_of_the_parameters_it_returns(dataset, model, G):
    """Under emControl()'s defaults mclust stops early (not at a fixed point), but the
    log-likelihood it reports is that of the parameters it returns: our first E-step's."""
    name, fit, _ = case(dataset, model, G)
    me = fit["me_default"]
    if me["failed"]:
        pytest.skip(f"mclust's me failed (return code {me['return_code']})")
    X = data(dataset)
    shift = X.mean(axis=0)
    result = em_on(MemoryEngine(X, covariance_type=name), fitted_params(name, me), shift,
                   max_iter=0, reg_covar=0.0, tol=0.0)
    assert result.log_likelihood[0] == pytest.approx(me["loglik"], rel=LOGLIK_RTOL, abs=0)


def complete_log_likelihood(X, labels, means, covariances) -> float:
    """Σₖ Σ_{i in k} log N(xᵢ | μₖ, Σₖ): what an M-step from a hard partition maximises."""
    total = 0.0
    for k, (mean, cov) in enumerate(zip(np.asarray(means), np.asarray(covariances))):
        R = X[labels == k] - mean
        _, log_det = np.linalg.slogdet(cov)
        total -= 0.5 * (np.sum(R * np.linalg.solve(cov, R.T).T) + len(R) * (log_det + X.shape[1] * np.log(2 * np.pi)))
    return float(total)


@pytest.mark.parametrize("dataset, model, G", CASES)
def test_never_worse_than_mclust(dataset, model, G):
    """Our M-step reaches at least mclust's complete-data log-likelihood, and EM from mclust's
    fit never falls below mclust's log-likelihood (exact for every model but VVE, see above)."""
    name, fit, labels = case(dataset, model, G)
    X = data(dataset)
    if not fit["mstep"]["failed"]:
        shift = X.mean(axis=0)
        ours = m_step(accumulate_statistics(X - shift, np.eye(G)[labels], shift, name), reg_covar=0.0)
        q_ours = complete_log_likelihood(X, labels, ours.means, ours.dense_covariances())
        q_mclust = complete_log_likelihood(X, labels, fit["mstep"]["mean"], fit["mstep"]["sigma"])
        assert q_ours >= q_mclust - LOGLIK_RTOL * abs(q_mclust)
    if not fit["me"]["failed"]:
        history = np.array(em_from(X, fitted_params(name, fit["me"])).log_likelihood)
        reference = fit["me"]["loglik"]
        assert np.all(history >= reference - LOGLIK_RTOL * abs(reference)), history
        assert np.all(np.diff(history) >= -LOGLIK_RTOL * abs(reference)), history


# ---------------------------------------------------------------------- c) parameter counts
@pytest.mark.parametrize("dataset, model, G", CASES)
def test_parameter_count_equals_mclust(dataset, model, G):
    name, fit, _ = case(dataset, model, G)
    d = _FIXTURES[dataset]["d"]
    assert n_parameters(name, G, d) == fit["n_mclust_params"]
    # ours: covariance parameters + G·d means + G − 1 weights; mclust's nVarParams is the first
    assert n_parameters(name, G, d) - G * d - (G - 1) == fit["n_var_params"]


def test_fixtures_come_from_mclust_6():
    for fx in _FIXTURES.values():
        assert fx["mclust_version"] == "6.0.0"
        assert fx["em_control"]["me"]["tol"][0] == 1e-12
