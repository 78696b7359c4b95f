"""`gmmcli summary`: the model in original units, the input's classification, the BIC chart."""

import json
import os

import numpy as np
import pytest

from gmmcli import render
from gmmcli.core.params import rescale_params
from gmmcli.io.model_file import read_model
from gmmcli.io.predictions import labels_of
from gmmcli.pipeline.scan import scan_input
from tests.helpers import SAMPLE, write_csv

WALK = os.path.join(SAMPLE, "walkthrough.csv")
# columns on very different scales, so that standardization (and putting it back) matters
SCALES = np.array([1000.0, 0.01, 3.0])
OFFSETS = np.array([5e4, -2.0, 0.0])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.default_rng(7)
    folder = tmp_path_factory.mktemp("summary")
    centers = rng.normal(scale=3.0, size=(3, 3))
    labels = rng.integers(3, size=400)
    Z = centers[labels] + rng.normal(size=(400, 3)) @ rng.normal(size=(3, 3)) * 0.4
    path = write_csv(folder / "d.csv", Z * SCALES + OFFSETS, names=["width mm", "mass_kg", "t"])
    return folder, path


def summary_json(run, *args):
    res = run("summary", *args, "--format", "json")
    assert res.code == 0, res.err
    return json.loads(res.out)


def expected_original_units(model):
    """Means, SDs and correlations put back into original units independently of the summary's code."""
    p, s = model.params, model.scaler
    if p.model.rescale_exact:  # the model table's own rescaling (exact for these models)
        back = rescale_params(p, s.scale, s.mean)
        cov = back.dense_covariances()
        means = back.means
    else:  # spherical under unequal scales: Σ_orig = σ²_k diag(s²), written out by hand
        means = p.means * s.scale + s.mean
        cov = p.dense_covariances() * s.scale[None, :, None] * s.scale[None, None, :]
    sd = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
    return means, sd, cov / (sd[:, :, None] * sd[:, None, :])


@pytest.mark.parametrize("covariance", ["full", "tied", "diag", "spherical", "VEV", "EII", "EVI"])
def test_means_and_sds_are_the_models_parameters_in_original_units(run, data, covariance):
    folder, path = data
    model_path = folder / f"{covariance}.json"
    assert run("fit", path, "-k", 3, "--covariance", covariance, "-q", "-o", model_path).code == 0
    model = read_model(str(model_path))
    assert not model.scaler.is_identity
    means, sd, corr = expected_original_units(model)
    doc = summary_json(run, model_path)
    names = doc["columns"]
    for k, component in enumerate(doc["components"]):
        got_mean = np.array([component["mean"][n] for n in names])
        got_sd = np.array([component["sd"][n] for n in names])
        got_corr = np.array([[component["correlation"][a][b] for b in names] for a in names])
        np.testing.assert_allclose(got_mean, means[k], rtol=1e-12, atol=0)
        np.testing.assert_allclose(got_sd, sd[k], rtol=1e-12, atol=0)
        np.testing.assert_allclose(got_corr, corr[k], rtol=0, atol=1e-12)
        assert component["weight"] == model.params.weights[k]
    assert doc["n_parameters"] > 0 and doc["icl"] is None and doc["classification"] is None


def test_classification_counts_are_predicts_labels(run, data):
    folder, path = data
    model_path = folder / "counts.json"
    assert run("fit", path, "-k", 3, "-q", "-o", model_path).code == 0
    labels = np.array(run("predict", model_path, path, "--emit", "label").out.decode().split()[1:], dtype=int)
    doc = summary_json(run, model_path, path)
    counts = [c["rows"] for c in doc["classification"]]
    assert counts == np.bincount(labels, minlength=3).tolist()
    assert doc["input"]["rows"] == len(labels) == 400
    uncertainty = np.array(run("predict", model_path, path, "--emit", "uncertainty").out.decode().split()[1:], float)
    assert doc["uncertainty"]["max"] == pytest.approx(uncertainty.max(), rel=1e-12)
    assert doc["uncertainty"]["mean"] == pytest.approx(uncertainty.mean(), rel=1e-9)


def test_outliers_count_predicts_outlier_flags(run, data):
    folder, path = data
    model_path = folder / "outliers.json"
    assert run("fit", path, "-k", 3, "-q", "-o", model_path).code == 0
    flags = run("predict", model_path, path, "--emit", "label", "--outlier-quantile", "0.05").out.decode()
    expected = sum(int(line.split(",")[1]) for line in flags.splitlines()[1:])
    doc = summary_json(run, model_path, path, "--outlier-quantile", "0.05")
    assert doc["outliers"]["rows"] == expected > 0
    assert doc["outliers"]["quantile"] == 0.05


def test_criteria_equal_selects_and_the_top_cells_are_mclusts(run, tmp_path):
    best = tmp_path / "best.json"
    res = run("select", WALK, "-k", "1-4", "--covariance", "full,diag", "-o", best, "--format", "json", "-q", "-j", 1)
    grid = json.loads(res.out)
    chosen = next(r for r in grid if r["best"])
    doc = summary_json(run, best, WALK)
    assert doc["bic"] == pytest.approx(chosen["bic"], rel=1e-12)
    assert doc["aic"] == pytest.approx(chosen["aic"], rel=1e-12)
    assert doc["icl"] == pytest.approx(chosen["icl"], rel=1e-9)  # INPUT is the training data
    ranked = sorted((r for r in grid if not r["error"]), key=lambda r: r["bic"])[:3]
    top = doc["selection"]["top"]
    assert [(t["k"], t["covariance_type"]) for t in top] == [(r["k"], r["covariance_type"]) for r in ranked]
    assert top[0]["difference"] == 0 and top[1]["difference"] == pytest.approx(ranked[1]["bic"] - ranked[0]["bic"])
    table = run("summary", best, "--format", "table").out.decode()
    assert "best BIC values (the model's selection table):" in table and f"k={chosen['k']} full" in table


def test_table_and_csv(run, data):
    folder, path = data
    model_path = folder / "table.json"
    assert run("fit", path, "-k", 2, "-q", "-o", model_path).code == 0
    table = run("summary", model_path, path, "--format", "table").out.decode()
    assert table.startswith("Gaussian mixture fitted by EM: full (mclust VVV), 2 component(s)\n")
    assert "cor width mm" in table and "classification of" in table and "uncertainty (1 - max probability)" in table
    lines = run("summary", model_path, path, "--format", "csv").out.decode().splitlines()
    assert lines[0] == ("component,weight,rows,mean_width mm,mean_mass_kg,mean_t,sd_width mm,sd_mass_kg,sd_t,"
                        "cor_width mm_mass_kg,cor_width mm_t,cor_mass_kg_t")
    assert len(lines) == 3
    piped = json.loads(run("summary", model_path).out)  # not a terminal: JSON by default
    assert piped["n_components"] == 2


def test_errors_are_one_line(run, tmp_path):
    res = run("summary", tmp_path / "nope.json")
    assert res.code == 66 and res.err.count("\n") == 1 and res.err.startswith("gmmcli: error: ")
    res = run("summary", WALK, WALK)
    assert (res.code, res.err) == (65, f"gmmcli: error: {WALK}: not a model file (invalid JSON at line 1, column 1)\n")


def test_scan_sample_is_reproducible_whatever_the_block_size(tmp_path, run):
    model_path = tmp_path / "m.json"
    assert run("fit", WALK, "-k", 3, "-q", "-o", model_path).code == 0
    model = read_model(str(model_path))
    small = scan_input(model, WALK, max_points=40, seed=3, block_bytes=512)
    large = scan_input(model, WALK, max_points=40, seed=3)
    assert small.sample.n_shown == 40 and small.sample.n_rows == 300
    np.testing.assert_array_equal(small.sample.row_numbers, large.sample.row_numbers)
    np.testing.assert_array_equal(small.counts, large.counts)
    other = scan_input(model, WALK, max_points=40, seed=4)
    assert not np.array_equal(other.sample.row_numbers, small.sample.row_numbers)


def test_noise_column_is_label_minus_one():
    resp = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])  # two Gaussians, then the noise
    assert labels_of(resp, 2).tolist() == [0, -1]


# ---------------------------------------------------------------- the BIC chart
def grid_rows(values):
    """select's rows for one covariance type, k = 1, 2, …"""
    return [{"k": k, "covariance_type": "full", "bic": v, "error": None} for k, v in enumerate(values, 1)]


def marker_rows(chart: str, marker: str = "*") -> list:
    """Line numbers (top = 0) of the chart's plotting area that hold the marker."""
    area = [line.split("|", 1)[1] for line in chart.splitlines() if "|" in line]
    return [i for i, line in enumerate(area) if marker in line]


def test_bic_chart_separates_close_cells():
    # k=1 far worse; k=2..4 within 2 to 12 of the best: a linear axis puts k=2..4 on one row
    chart = render.criterion_chart(grid_rows([2400.0, 2012.0, 2000.0, 2002.0]), "bic")
    rows = marker_rows(chart)
    assert len(set(rows)) == 4, chart  # every cell on its own row
    old = render.line_chart({"full": [2400.0, 2012.0, 2000.0, 2002.0]}, title="", x_name="k")
    assert len(set(marker_rows(old))) == 2  # what the linear chart did
    assert "BIC (lower is better): difference from the best cell, k=3 full (2000), log scale" in chart
    assert chart.rstrip().endswith("top 3: k=3 full (best), k=4 full +2, k=2 full +12")
    assert "best 0 |" in chart


def test_bic_chart_holdout_is_higher_is_better():
    rows = [{"k": k, "covariance_type": "diag", "holdout": v, "error": None} for k, v in ((1, -3.0), (2, -2.5))]
    chart = render.criterion_chart(rows, "holdout")
    assert "best cell, k=2 diag" in chart and "top 2: k=2 diag (best), k=1 diag +0.5" in chart
