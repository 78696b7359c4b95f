"""scikit-learn's own estimator checks, every one, on gmmcli.GaussianMixture (none skipped or xfailed)."""

import warnings

import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from gmmcli import GaussianMixture  # noqa: E402

# The checks warn that GaussianMixture does not inherit sklearn.base.BaseEstimator: by design,
# gmmcli implements the conventions by hand so that it never needs scikit-learn.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*does not inherit from `sklearn.base.BaseEstimator`")
    CHECKS = parametrize_with_checks([GaussianMixture(), GaussianMixture(covariance_type="VVV", standardize=True)])


@CHECKS
def test_scikit_learn_estimator_checks(estimator, check, monkeypatch):
    # check_array_api_input skips itself unless SCIPY_ARRAY_API is set; it only reads the variable
    # (the estimator converts every input with numpy), so setting it here runs that check too.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    check(estimator)
