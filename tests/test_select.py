"""gmmcli select: criteria, parameter counts, recovery, parallel = serial, failing cells."""

import json
import os
from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from gmmcli.cli import parse_k_spec
from gmmcli.core.models import all_spellings
from gmmcli.core.criteria import aic, bic, icl
from gmmcli.core.params import n_parameters
from gmmcli.io.model_file import read_model
from gmmcli.pipeline.select import SelectRequest, select
from tests.helpers import COVARIANCE_TYPES, SAMPLE, write_csv, fit_request

WALK = os.path.join(SAMPLE, "walkthrough.csv")


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("k,d", [(1, 1), (3, 2), (5, 4)])
def test_parameter_count_matches_sklearn(covariance_type, k, d):
    from sklearn.mixture import GaussianMixture

    gm = GaussianMixture(k, covariance_type=covariance_type)
    gm.means_ = np.zeros((k, d))
    assert n_parameters(covariance_type, k, d) == gm._n_parameters()


def test_criteria_by_hand(tmp_path, rng):
    """BIC, AIC and ICL of a fitted one-component model, computed independently with scipy."""
    X = rng.normal(size=(50, 2)) * [2.0, 0.5] + [3, -1]
    path = write_csv(tmp_path / "crit.csv", X, ["a", "b"])
    result = select(SelectRequest(fit=fit_request(str(path), tol=0, max_iter=5),
                                  components=(1,), covariance_types=("full",), jobs=1))
    cell = result.cells[0]
    mean, cov = X.mean(axis=0), np.cov(X.T, bias=True) + 1e-6 * np.eye(2) * X.std(axis=0) ** 2
    ll = multivariate_normal(mean, cov).logpdf(X).sum()
    assert cell.log_likelihood == pytest.approx(ll, rel=1e-9)
    assert cell.n_parameters == 5
    assert cell.bic == pytest.approx(-2 * ll + 5 * np.log(50), rel=1e-9)
    assert cell.aic == pytest.approx(-2 * ll + 10, rel=1e-9)
    assert cell.icl == pytest.approx(cell.bic, rel=1e-12)  # one component: no classification entropy
    assert bic(-10.0, 3, np.e) == 23.0 and aic(-10.0, 3) == 26.0 and icl(23.0, 1.5) == 26.0


@pytest.mark.parametrize("spec,expected", [("3", (3,)), ("1-4", (1, 2, 3, 4)), ("2,4,8", (2, 4, 8)), ("1-2,5", (1, 2, 5)), ("0-2", (0, 1, 2))])
def test_k_spec(spec, expected):
    assert parse_k_spec(spec) == expected


@pytest.mark.parametrize("spec", ["-1", "3-1", "a", "", "1-x"])
def test_bad_k_spec(spec):
    with pytest.raises(ValueError):
        parse_k_spec(spec)


def clusters(rng, shape):
    centers = np.array([[0, 0], [8, 0], [0, 8]])
    if shape == "spherical":
        parts = [rng.normal(size=(200, 2)) + c for c in centers]
    else:
        A = np.array([[3.0, 0.0], [2.5, 0.4]])
        parts = [rng.normal(size=(200, 2)) @ A.T * s + c for c, s in zip(centers, (1.0, 0.7, 1.3))]
    return np.concatenate(parts)


@pytest.mark.parametrize("shape,expected", [("spherical", "spherical"), ("full", "full")])
def test_select_recovers_the_number_and_shape(tmp_path, rng, shape, expected):
    data = write_csv(tmp_path / "d.csv", clusters(rng, shape))
    result = select(SelectRequest(fit=fit_request(str(data), n_init=2, standardize=False),
                                  components=(1, 2, 3, 4, 5), jobs=1))
    best = result.cells[result.best]
    assert (best.k, best.covariance_type) == (3, expected)


def test_parallel_equals_serial(tmp_path):
    request = SelectRequest(fit=fit_request(WALK, output=str(tmp_path / "a.json")),
                            components=(1, 2, 3, 4), jobs=1, seeds=2)
    a = select(request)
    b = select(replace(request, jobs=2, fit=replace(request.fit, output=str(tmp_path / "b.json"))))
    assert [c.row() for c in a.cells] == [c.row() for c in b.cells]
    assert a.wins == b.wins
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_failing_cells_are_reported_and_never_chosen(tmp_path):
    path = tmp_path / "few.csv"
    path.write_text("a,b\n" + "0,0\n1,0\n0,1\n" * 20)
    result = select(SelectRequest(fit=fit_request(str(path), reg_covar=0.0),
                                  components=(1, 2, 3, 4), covariance_types=("full",), jobs=1))
    failed = [c for c in result.cells if c.error]
    assert failed and all("not positive definite" in c.error for c in failed)
    assert result.cells[result.best].error is None


def test_holdout_and_cv_scores(tmp_path):
    for extra in ({"holdout": 0.25}, {"cv": 3}):
        result = select(SelectRequest(fit=fit_request(WALK), components=(1, 3), criterion="holdout",
                                      covariance_types=("full",), jobs=1, **extra))
        scores = {c.k: c.holdout for c in result.cells}
        assert scores[3] > scores[1]
        assert result.cells[result.best].k == 3


def test_cli_select_writes_the_chosen_model_and_a_table(tmp_path, run):
    out = tmp_path / "best.json"
    res = run("select", WALK, "-k", "1-4", "--covariance", "full,diag", "-o", out, "--format", "csv", "-q")
    assert res.code == 0, res.err
    lines = res.out.decode().splitlines()
    assert lines[0].startswith("k,covariance_type,log_likelihood,n_parameters,bic,aic,icl")
    assert len(lines) == 1 + 8
    assert float(lines[1].split(",")[2]) < 0 and "np." not in res.out.decode()
    model = read_model(str(out))
    assert model.n_components == 3 and model.params.covariance_type == "full"
    assert model.selection["criterion"] == "bic" and len(model.selection["rows"]) == 8
    chart = run("select", WALK, "-k", "1-3", "--covariance", "full", "--format", "table", "-q").out.decode()
    assert "* chosen: k=3, full (lowest BIC)" in chart and "BIC (lower is better)" in chart
    as_json = json.loads(run("select", WALK, "-k", "2", "--covariance", "tied", "--format", "json", "-q").out)
    assert as_json[0]["best"] is True


def test_cli_select_model_to_stdout(tmp_path, run):
    res = run("select", WALK, "-k", "2-3", "--covariance", "full", "-o", "-", "-q")
    assert res.code == 0
    assert json.loads(res.out)["selection"]["rows"][1]["k"] == 3
    assert "k,covariance_type" in res.err


@pytest.mark.parametrize("args,message", [
    (["-k", "0"], "-k 0 is the noise alone: it needs --noise"),
    (["-k", "0", "--noise"], "-k 0 alone fits nothing: give k above 0 too (the k = 0 row comes with --noise)"),
    (["-k", "3-1"], "-k range '3-1' must be increasing and at least 0 (0: the noise alone, with --noise)"),
    (["--covariance", "round"], "--covariance: unknown covariance model 'round' (choose from "
                                + ", ".join(all_spellings()) + ", or all)"),
    (["--criterion", "holdout"], "--criterion holdout needs --holdout FRACTION or --cv FOLDS"),
    (["--holdout", "1.5"], "--holdout must be a fraction between 0 and 1 (got 1.5)"),
    (["--cv", "1"], "--cv must be at least 2 folds (got 1)"),
])
def test_cli_select_bad_options(run, args, message):
    res = run("select", WALK, *args)
    assert (res.code, res.err) == (2, f"gmmcli: error: {message}\n")


def test_select_defaults_are_mclusts_and_a_falling_likelihood_is_told(tmp_path, run):
    from gmmcli.pipeline.select import Cell, falling_likelihood_notes

    res = run("select", os.path.join(SAMPLE, "faithful.csv"), "-k", "1-2", "--format", "csv", "-j", 1, "-q")
    models = {line.split(",")[1] for line in res.out.decode().splitlines()[1:]}
    assert len(models) == 14  # every model by default
    cells = [Cell(1, "EEV", 0, log_likelihood=-10.0), Cell(2, "EEV", 0, log_likelihood=-12.0),
             Cell(3, "EEV", 0, log_likelihood=-9.0), Cell(2, "VVV", 0, error="failed")]
    assert falling_likelihood_notes(cells) == (
        "note: EEV: k=2 reached a lower log-likelihood (-12.0000) than k=1 (-10.0000): EM stopped at a worse local "
        "optimum; more restarts (--n-init) may find a better one",)
