"""gmmcli.GaussianMixture, load_model and select: behaviour beyond scikit-learn's own checks."""

import json
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats
from scipy.special import logsumexp

import gmmcli
from gmmcli import FitWarning, GaussianMixture, InvalidParameterError, NotFittedError
from gmmcli.core.models import MODEL_NAMES, SKLEARN_MODELS, get_model


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(7)
    centers = np.array([[0.0, 0.0, 0.0], [6.0, 1.0, -2.0], [1.0, 7.0, 3.0]])
    scales = np.array([1.0, 10.0, 0.1])  # columns of very different spread: standardizing matters
    X = (centers[rng.integers(3, size=300)] + rng.normal(size=(300, 3))) * scales + [100.0, -5.0, 3.0]
    return X


def run_python(code):
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_import_gmmcli_loads_neither_numpy_nor_scikit_learn():
    out = run_python("import sys, gmmcli; gmmcli.__version__; print(sorted(m for m in ('numpy', 'sklearn', "
                     "'pandas') if m in sys.modules))")
    assert out == "[]"


def test_the_api_never_imports_scikit_learn():
    out = run_python("import sys, numpy as np, gmmcli; X = np.random.default_rng(0).normal(size=(40, 2));"
                     "gm = gmmcli.GaussianMixture(2, random_state=0).fit(X); gm.predict(X); gm.sample(3);"
                     "gmmcli.select(X, k=[1, 2], covariance='full', as_frame=False);"
                     "print('sklearn' in sys.modules)")
    assert out == "False"


def test_works_where_scikit_learn_cannot_be_imported(tmp_path):
    """With scikit-learn absent, everything but to_sklearn works, and errors are gmmcli's own."""
    code = f"""
import sys
sys.modules['sklearn'] = None  # import sklearn now raises ImportError
import numpy as np, gmmcli
X = np.random.default_rng(0).normal(size=(60, 2))
try:
    gmmcli.GaussianMixture().predict(X)
except gmmcli.NotFittedError as exc:
    assert type(exc) is gmmcli.NotFittedError and isinstance(exc, ValueError) and isinstance(exc, AttributeError)
gm = gmmcli.GaussianMixture(2, random_state=0).fit(X)
gm.save({str(tmp_path / 'm.json')!r})
assert (gmmcli.load_model({str(tmp_path / 'm.json')!r}).predict(X) == gm.predict(X)).all()
try:
    gm.to_sklearn()
except ImportError as exc:
    print(exc)
"""
    assert run_python(code) == "to_sklearn needs scikit-learn: pip install scikit-learn"


def test_errors_and_warnings_are_also_scikit_learns_once_it_is_imported(blobs):
    from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    with pytest.raises(SklearnNotFittedError) as caught:
        GaussianMixture().predict(blobs)
    assert isinstance(caught.value, NotFittedError)
    assert type(pickle.loads(pickle.dumps(caught.value))) is type(caught.value)
    with pytest.warns(SklearnConvergenceWarning) as record:
        GaussianMixture(3, max_iter=1, random_state=0).fit(blobs)
    assert any(isinstance(w.message, gmmcli.ConvergenceWarning) for w in record)


def test_parameters_are_kept_as_given_and_checked_by_fit(blobs):
    gm = GaussianMixture(n_components=0, tol=-1.0)  # no error until fit, as scikit-learn requires
    assert gm.get_params()["n_components"] == 0
    with pytest.raises(InvalidParameterError, match=r"The 'tol' parameter of GaussianMixture must be a float in "
                                                    r"the range \[0, inf\)\. Got -1\.0 instead\."):
        gm.fit(blobs)
    with pytest.raises(ValueError, match=r"The 'covariance_type' parameter of GaussianMixture must be one of full, "
                                         r"tied, .*, VII \(any case\)\. Got 'VVX' instead\."):
        GaussianMixture(covariance_type="VVX").fit(blobs)
    with pytest.raises(ValueError, match="Invalid parameter 'k' for estimator"):
        gm.set_params(k=3)
    assert repr(GaussianMixture(3, covariance_type="VEV")) == "GaussianMixture(covariance_type='VEV', n_components=3)"


def test_clone_and_pickle_keep_parameters_and_predictions(blobs):
    from sklearn.base import clone

    gm = GaussianMixture(3, covariance_type="vev", standardize=True, random_state=2).fit(blobs)
    assert clone(gm).get_params() == gm.get_params()
    assert not hasattr(clone(gm), "weights_")
    assert_allclose(pickle.loads(pickle.dumps(gm)).predict_proba(blobs), gm.predict_proba(blobs), rtol=1e-13,
                    atol=1e-15)


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("covariance_type", [m for m in MODEL_NAMES if not get_model(m).n_features_only])
def test_attributes_are_the_mixture_that_scores_the_rows(blobs, covariance_type, standardize):
    """weights_, means_ and covariances_ (original units, whatever the fit's space) are the density
    score_samples computes, and the precisions are their inverses."""
    gm = GaussianMixture(3, covariance_type=covariance_type, standardize=standardize, random_state=0,
                         reg_covar=1e-4).fit(blobs)
    k, d = 3, blobs.shape[1]
    dense = get_model(covariance_type).dense(gm.covariances_, k, d)
    expected = logsumexp([np.log(w) + stats.multivariate_normal(m, c).logpdf(blobs)
                          for w, m, c in zip(gm.weights_, gm.means_, dense)], axis=0)
    assert_allclose(gm.score_samples(blobs), expected, rtol=1e-9)
    # the precisions are stored as the covariances are, so the table's dense() reads both
    assert_allclose(get_model(covariance_type).dense(gm.precisions_, k, d), np.linalg.inv(dense), rtol=1e-7)


def test_one_column_models(blobs):
    X = blobs[:, :1]
    assert GaussianMixture(2, covariance_type="V", random_state=0).fit(X).covariances_.shape == (2, 1, 1)
    with pytest.raises(ValueError, match="covariance_type='E' is a model of 1 column"):
        GaussianMixture(2, covariance_type="E").fit(blobs)


def test_lower_bounds_trace_every_iteration(blobs):
    gm = GaussianMixture(3, tol=1e-8, max_iter=500, random_state=0).fit(blobs)
    assert len(gm.lower_bounds_) == gm.n_iter_ + 1
    assert np.all(np.diff(gm.lower_bounds_) >= -1e-12)  # EM never lowers the likelihood
    assert gm.lower_bounds_[-1] == gm.lower_bound_
    assert_allclose(gm.lower_bound_, gm.score(blobs), rtol=1e-12)


def test_standardized_fit_is_the_same_mixture_in_the_data_units(blobs):
    """EM for full covariances commutes with rescaling columns: from the same start (given in the
    data's units), a fit on standardized columns is the unstandardized fit, and both report it in
    the data's units (log-densities with the Jacobian)."""
    start = GaussianMixture(3, random_state=0, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gmmcli.ConvergenceWarning)
        start.fit(blobs)
    inits = dict(weights_init=start.weights_, means_init=start.means_, precisions_init=start.precisions_)
    raw = GaussianMixture(3, tol=0, max_iter=30, reg_covar=0, **inits).fit(blobs)
    scaled = GaussianMixture(3, tol=0, max_iter=30, reg_covar=0, standardize=True, **inits).fit(blobs)
    assert_allclose(scaled.means_, raw.means_, rtol=1e-8)
    assert_allclose(scaled.covariances_, raw.covariances_, rtol=1e-6, atol=1e-10)
    assert_allclose(scaled.score_samples(blobs), raw.score_samples(blobs), rtol=1e-8)
    assert_allclose(scaled.lower_bounds_, raw.lower_bounds_, rtol=1e-8)


@pytest.mark.parametrize("covariance_type", SKLEARN_MODELS)
@pytest.mark.parametrize("standardize", [False, True])
def test_to_sklearn_predicts_the_same(blobs, covariance_type, standardize):
    gm = GaussianMixture(3, covariance_type=covariance_type, standardize=standardize, random_state=0).fit(blobs)
    pipeline = gm.to_sklearn()
    assert_array_equal(pipeline.predict(blobs), gm.predict(blobs))
    assert_allclose(pipeline.predict_proba(blobs), gm.predict_proba(blobs), rtol=0, atol=1e-12)
    # scikit-learn scores the standardized rows: its log-densities lack the scaler's log|Jacobian|
    log_jacobian = -np.log(pipeline[0].scale_).sum()
    assert_allclose(pipeline.score_samples(blobs) + log_jacobian, gm.score_samples(blobs), rtol=1e-12)


def test_to_sklearn_refuses_models_scikit_learn_lacks(blobs):
    gm = GaussianMixture(2, covariance_type="VVVV"[:3], random_state=0).fit(blobs)  # VVV: full
    assert gm.to_sklearn()[1].covariance_type == "full"
    with pytest.raises(ValueError, match="to_sklearn: scikit-learn has no VEV covariance model"):
        GaussianMixture(2, covariance_type="VEV", random_state=0).fit(blobs).to_sklearn()


def test_save_load_save_is_byte_identical(tmp_path, blobs):
    frame = pd.DataFrame(blobs, columns=["a", "b", "c"])
    gm = GaussianMixture(3, covariance_type="EVI", standardize=True, prior=True, random_state=9).fit(frame)
    gm.save(tmp_path / "one.json")
    loaded = gmmcli.load_model(tmp_path / "one.json")
    loaded.save(str(tmp_path / "two.json"))
    assert (tmp_path / "one.json").read_bytes() == (tmp_path / "two.json").read_bytes()
    assert loaded.get_params() == gm.get_params()
    assert_array_equal(loaded.feature_names_in_, ["a", "b", "c"])
    assert_allclose(loaded.predict_proba(frame), gm.predict_proba(frame), rtol=1e-13, atol=1e-15)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.json", "two.json"]  # no temporary left


def test_load_model_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such model file"):
        gmmcli.load_model(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text(json.dumps({"format": "gmmcli-model", "schema_version": 1}))
    with pytest.raises(ValueError, match=r"bad.json: field '\w+': missing"):
        gmmcli.load_model(tmp_path / "bad.json")


def test_feature_names_follow_scikit_learn(blobs):
    frame = pd.DataFrame(blobs, columns=["a", "b", "c"])
    gm = GaussianMixture(2, random_state=0).fit(frame)
    assert_array_equal(gm.feature_names_in_, ["a", "b", "c"])
    with pytest.raises(ValueError, match="The feature names should match those that were passed during fit"):
        gm.predict(frame.rename(columns={"c": "z"}))
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        gm.predict(blobs)
    assert not hasattr(gm.fit(blobs), "feature_names_in_")  # a refit without names forgets them


def test_integer_weights_count_rows_as_repeats(blobs):
    """From the same start, weight w is the row repeated w times."""
    rng = np.random.default_rng(3)
    weights = rng.integers(0, 4, size=len(blobs))
    start = GaussianMixture(3, random_state=0).fit(blobs)
    inits = dict(weights_init=start.weights_, means_init=start.means_, precisions_init=start.precisions_)
    weighted = GaussianMixture(3, tol=0, max_iter=20, **inits).fit(blobs, sample_weight=weights)
    repeated = GaussianMixture(3, tol=0, max_iter=20, **inits).fit(np.repeat(blobs, weights, axis=0))
    assert_allclose(weighted.means_, repeated.means_, rtol=1e-9)
    assert_allclose(weighted.covariances_, repeated.covariances_, rtol=1e-8)


def test_warm_start_keeps_the_component_order(blobs):
    gm = GaussianMixture(3, warm_start=True, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gmmcli.ConvergenceWarning)
        first = gm.fit(blobs).means_.copy()
        second = gm.fit(blobs).means_
    assert np.all(np.abs(second - first).max(axis=1) < np.abs(first[:, None] - first[None]).max(axis=2)[0, 1:].min())


def test_prior_only_for_mclusts_models_with_one(blobs):
    with pytest.raises(ValueError, match="prior=True: mclust has no prior for the VEE model"):
        GaussianMixture(2, covariance_type="VEE", prior=True).fit(blobs)


def test_fit_warnings_name_the_parameters():
    """The CLI's warning about a collapsed component, with the parameter's name for its option."""
    rng = np.random.default_rng(7)
    X = np.vstack([rng.normal(size=(200, 2)), np.repeat([[5.0, 5.0]], 30, axis=0)])  # 30 identical rows
    with pytest.warns(FitWarning, match=r"^component\(s\) 1 collapsed: .* no more than 2 x reg_covar "):
        GaussianMixture(2, reg_covar=1e-9, random_state=0).fit(X)


def test_too_few_rows():
    with pytest.raises(ValueError, match="Expected n_samples >= n_components but got n_components = 3, n_samples = 2"):
        GaussianMixture(3).fit(np.arange(4.0).reshape(2, 2))


def test_select_returns_the_table_and_the_chosen_estimator(blobs):
    table, gm = gmmcli.select(blobs, k=range(1, 4), covariance=["full", "EII"], max_iter=200, n_init=1,
                              as_frame=False)
    assert [(row["k"], row["covariance_type"]) for row in table] == [(1, "full"), (2, "full"), (3, "full"),
                                                                     (1, "EII"), (2, "EII"), (3, "EII")]
    best = min(table, key=lambda row: row["bic"])
    assert (gm.n_components, gm.covariance_type) == (best["k"], best["covariance_type"])
    assert_allclose(gm.bic(blobs), best["bic"], rtol=1e-9)
    frame, _ = gmmcli.select(blobs, k=2, covariance="diag", n_init=1)
    assert list(frame["k"]) == [2] and "icl" in frame.columns
    with pytest.raises(ValueError, match=r"The 'criterion' parameter of select must be a str among"):
        gmmcli.select(blobs, criterion="xyz")
