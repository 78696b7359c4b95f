"""select's screening: every cell from one start to a loose tolerance, then the full fit only
for the cells near the best; the choice and the written model as if every cell were fully fitted."""

import json
import math
import os
from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from gmmcli.pipeline.select import (
    SCREEN_MAX_ITER, SCREEN_RTOL, SCREEN_TOL, Cell, SelectRequest, cells_to_polish, screens, select,
)
from tests.helpers import SAMPLE, fit_request, gmmcli

FAITHFUL = os.path.join(SAMPLE, "faithful.csv")
MODELS = ("EII", "VII", "EEI", "VVI", "EEE", "VEV", "EVE", "VVV")


def grid(tmp_path, name, polish_within, **fit):
    settings = dict(tol=1e-7, max_iter=1000, n_init=3, init="hc", standardize=True, seed=4)
    settings.update(fit)
    req = SelectRequest(fit=fit_request(FAITHFUL, output=str(tmp_path / f"{name}.json"), **settings),
                        components=tuple(range(1, 7)), covariance_types=MODELS, jobs=1,
                        polish_within=polish_within)
    result = select(req)
    return result, json.loads((tmp_path / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def screened_and_full(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("screening")
    return grid(tmp, "screened", 10.0), grid(tmp, "full", math.inf)


def test_same_choice_and_same_model_as_fitting_every_cell(screened_and_full):
    (screened, doc_s), (full, doc_f) = screened_and_full
    chosen_s, chosen_f = screened.cells[screened.best], full.cells[full.best]
    assert (chosen_s.k, chosen_s.covariance_type) == (chosen_f.k, chosen_f.covariance_type)
    assert chosen_s.log_likelihood == chosen_f.log_likelihood  # the same full fit, bit for bit
    without = [{key: value for key, value in doc.items() if key != "selection"} for doc in (doc_s, doc_f)]
    assert without[0] == without[1]


def test_only_cells_near_the_best_are_fully_fitted(screened_and_full):
    (screened, doc), (full, _) = screened_and_full
    cells = screened.cells
    polished = [c for c in cells if not c.screened]
    assert 1 <= len(polished) < len(cells) / 4  # most of the grid is far from the best
    assert not cells[screened.best].screened
    best_bic = cells[screened.best].bic
    for cell, whole in zip(cells, full.cells):
        assert (cell.k, cell.covariance_type) == (whole.k, whole.covariance_type)
        if cell.screened:  # one start to the screening tolerance: never above the full fit's best restart
            assert cell.n_iter <= SCREEN_MAX_ITER
            assert cell.bic > best_bic
            assert cell.log_likelihood <= whole.log_likelihood + 1e-6 * abs(whole.log_likelihood)
        else:
            assert cell.log_likelihood == whole.log_likelihood
    rows = doc["selection"]["rows"]
    assert [r["screened"] for r in rows] == [c.screened for c in cells]
    screening = doc["selection"]["screening"]
    assert screening["max_iter"] == SCREEN_MAX_ITER and screening["polish_within"] == 10.0
    # mclust's relative 1e-5 of a row's log-likelihood, as one Gaussian fits faithful's rows
    X = np.loadtxt(FAITHFUL, delimiter=",", skiprows=1)
    one_gaussian_mean = multivariate_normal(X.mean(axis=0), np.cov(X.T, bias=True)).logpdf(X).mean()
    assert screening["tol"] == pytest.approx(SCREEN_RTOL * abs(one_gaussian_mean), rel=1e-9)
    assert screening["tol"] > SCREEN_TOL


def test_every_cell_fully_fitted_records_no_screening(screened_and_full):
    _, (full, doc) = screened_and_full
    assert not any(c.screened for c in full.cells)
    assert "screening" not in doc["selection"]


def test_cells_to_polish_per_seed():
    def cell(bic, error=None):
        return Cell(1, "VVV", 0, bic=bic, error=error)
    cells = [cell(100.0), cell(105.0), cell(111.0), cell(None, "failed"),  # seed 1: best 100
             cell(50.0), cell(80.0), cell(59.9), cell(60.1)]               # seed 2: best 50
    assert cells_to_polish(cells, 2, "bic", 10.0) == [0, 1, 4, 6]
    assert cells_to_polish(cells, 2, "bic", 0.0) == [0, 4]
    assert cells_to_polish([cell(None, "x")] * 2, 1, "bic", 10.0) == []


@pytest.mark.parametrize("change,expected", [
    ({}, True),
    ({"polish_within": math.inf}, False),
    ({"holdout": 0.2}, False),
    ({"cv": 3}, False),
    ({"lrt": True}, False),
    ({"fit": {"n_init": 1, "tol": 1e-5, "max_iter": 200}}, False),  # screening would be the full fit
    ({"fit": {"n_init": 1, "tol": 1e-5, "max_iter": 500}}, True),
])
def test_when_the_grid_is_screened(change, expected):
    req = SelectRequest(fit=fit_request(FAITHFUL, tol=1e-7, max_iter=1000, n_init=3))
    fit_change = change.pop("fit", None)
    if fit_change:
        req = replace(req, fit=replace(req.fit, **fit_change))
    assert screens(replace(req, **change)) is expected


def test_cli_marks_screened_rows_and_refuses_a_negative_gap(tmp_path):
    out = gmmcli("select", FAITHFUL, "-k", "1-4", "--covariance", "EII,VVV", "--format", "csv", "-j", "1")
    assert out.returncode == 0, out.stderr
    header, *rows = [line.split(",") for line in out.stdout.decode().splitlines()]
    screened = [r[header.index("screened")] for r in rows]
    best = [r[header.index("best")] for r in rows]
    assert set(screened) == {"True", "False"}
    assert all(s == "False" for s, b in zip(screened, best) if b == "True")
    bad = gmmcli("select", FAITHFUL, "--polish-within", "-1", "-o", str(tmp_path / "m.json"))
    assert bad.returncode == 2 and b"--polish-within" in bad.stderr and len(bad.stderr.splitlines()) == 1
    assert not (tmp_path / "m.json").exists()


def test_python_api_screens_too():
    import gmmcli as api
    import pandas as pd

    X = pd.read_csv(FAITHFUL).to_numpy()
    table, est = api.select(X, k=range(1, 5), covariance=["EII", "VVV"], standardize=True, as_frame=False)
    assert any(r["screened"] for r in table) and not all(r["screened"] for r in table)
    _, every = api.select(X, k=range(1, 5), covariance=["EII", "VVV"], standardize=True, polish_within=math.inf,
                          as_frame=False)
    np.testing.assert_array_equal(est.means_, every.means_)
