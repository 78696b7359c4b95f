"""--noise through the command line: fit, select (with k = 0), predict, sample, the model file.

mclust's numbers come from ``tests/fixtures/mclust/noise_*.json`` (``sample_data/
make_noise_fixtures.R``); chevron is mclust's data set (``sample_data/chevron.csv``, with its
true noise flag as the column ``noise``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os

import numpy as np
import pytest

from gmmcli.core.models import canonical_name
from gmmcli.io.model_file import dumps_model, read_model
from tests.helpers import ROOT, SAMPLE, write_csv

CHEVRON = os.path.join(SAMPLE, "chevron.csv")
FAITHFUL = os.path.join(SAMPLE, "faithful.csv")
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "mclust")


def fixture(name: str) -> dict:
    with open(os.path.join(FIXTURES, f"noise_{name}.json")) as f:
        return json.load(f)


def rows_of(out: bytes) -> list:
    return list(csv.DictReader(io.StringIO(out.decode())))


def f1(flagged, truth) -> float:
    flagged, truth = np.asarray(flagged, bool), np.asarray(truth, bool)
    tp = (flagged & truth).sum()
    return 2 * tp / (flagged.sum() + truth.sum())


@pytest.fixture(scope="module")
def chevron_model(tmp_path_factory):
    from gmmcli import cli

    path = tmp_path_factory.mktemp("noise") / "chevron.json"
    assert cli.run(["fit", CHEVRON, "-c", "x,y", "-k", "2", "--covariance", "EEV", "--noise", "-o", str(path), "-q"]) == 0
    return str(path)


def test_fit_writes_a_noise_object_and_predict_flags_the_background(chevron_model, run):
    doc = json.load(open(chevron_model))
    assert doc["schema_version"] == 3 and doc["settings"]["noise"] is True
    noise = doc["noise"]
    assert sum(doc["weights"]) + noise["proportion"] == pytest.approx(1.0, abs=1e-12)
    hypvol = next(d for d in fixture("hypvol")["datasets"] if d["dataset"] == "chevron")["hypvol"]
    assert noise["hypervolume"] == pytest.approx(hypvol, rel=1e-12)  # mclust's hypvol, original units
    res = run("predict", chevron_model, CHEVRON, "--keep", "noise")
    assert res.code == 0, res.err
    rows = rows_of(res.out)
    assert list(rows[0]) == ["noise", "prob_0", "prob_1", "prob_noise", "label", "log_likelihood", "uncertainty"]
    probs = np.array([[float(r[c]) for c in ("prob_0", "prob_1", "prob_noise")] for r in rows])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)
    labels = np.array([int(r["label"]) for r in rows])
    np.testing.assert_array_equal(labels == -1, probs.argmax(axis=1) == 2)
    # mclust's own fit (EEV, G = 2, NNclean start) flags the true noise with F1 0.961
    assert f1(labels == -1, [r["noise"] == "1" for r in rows]) >= 0.95


def test_a_far_row_is_noise_with_the_noise_density(chevron_model, run, tmp_path):
    data = write_csv(tmp_path / "far.csv", np.array([[1e6, -1e6], [1e300, 1e300]]), ["x", "y"])
    res = run("predict", chevron_model, data)
    assert res.code == 0, res.err
    model = read_model(chevron_model)
    for row in rows_of(res.out):
        assert row["label"] == "-1" and float(row["prob_noise"]) == 1.0
        assert float(row["log_likelihood"]) == pytest.approx(
            math.log(model.params.noise.weight / model.hypervolume), rel=1e-12)


def test_the_model_file_round_trips_and_its_noise_is_checked(chevron_model, run, tmp_path):
    raw = open(chevron_model, "rb").read()
    assert dumps_model(read_model(chevron_model)) == raw
    for mutate, message in [
        (lambda d: d["noise"].update(hypervolume=d["noise"]["hypervolume"] * 2), "field 'noise.hypervolume': is not the volume of noise.box"),
        (lambda d: d["noise"].update(proportion=0.9), "field 'weights': sum to"),
        (lambda d: d["noise"]["box"].update(axes=[[1, 1], [0, 1]]), "field 'noise.box.axes': are not orthonormal"),
        (lambda d: d["noise"]["box"].update(lower=[0.0]), "field 'noise.box.lower': shape is [1], expected [2]"),
        (lambda d: d["noise"].pop("box"), "field 'noise.box': missing"),
    ]:
        doc = json.loads(raw)
        mutate(doc)
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps(doc))
        res = run("predict", bad, CHEVRON)
        assert res.code == 65 and message in res.err and res.err.count("\n") == 1, res.err


def test_sample_draws_noise_rows_from_the_box(chevron_model, run, tmp_path):
    res = run("sample", chevron_model, "-n", 20000, "--labels", "--seed", 3)
    assert res.code == 0, res.err
    rows = rows_of(res.out)
    labels = np.array([int(r["component"]) for r in rows])
    model = read_model(chevron_model)
    share = (labels == -1).mean()
    assert share == pytest.approx(model.params.noise.weight, abs=0.01)
    X = np.array([[float(r["x"]), float(r["y"])] for r in rows])[labels == -1]
    box = model.noise_box
    y = X @ box.axes
    assert (y >= box.lower - 1e-9).all() and (y <= box.upper + 1e-9).all()
    again = run("sample", chevron_model, "-n", 20000, "--labels", "--seed", 3)
    assert again.out == res.out


def test_same_seed_same_bytes_and_the_engines_agree(tmp_path, run):
    common = ["fit", CHEVRON, "-c", "x,y", "-k", 2, "--covariance", "VVV", "--noise", "--seed", 4, "-q"]
    assert run(*common, "-o", tmp_path / "a.json").code == 0
    assert run(*common, "-o", tmp_path / "b.json").code == 0
    assert run(*common, "--max-memory", "1M", "-o", tmp_path / "spool.json").code == 0
    a, b = (tmp_path / "a.json").read_bytes(), (tmp_path / "b.json").read_bytes()
    assert a == b
    memory, spool = read_model(str(tmp_path / "a.json")), read_model(str(tmp_path / "spool.json"))
    np.testing.assert_allclose(spool.params.means, memory.params.means, rtol=1e-9)
    assert spool.params.noise.weight == pytest.approx(memory.params.noise.weight, rel=1e-9)


def test_noise_init_column_and_hypervolume(tmp_path, run):
    out = tmp_path / "m.json"
    res = run("fit", CHEVRON, "-k", 2, "--covariance", "EEV", "--noise-init", "noise", "--hypervolume", 20000,
              "-o", out, "-q")
    assert res.code == 0, res.err
    model = read_model(str(out))
    assert model.feature_names == ("x", "y")  # the flag column is never a feature
    assert model.hypervolume == pytest.approx(20000, rel=1e-12)
    assert model.settings["noise_init"] == "noise" and model.settings["hypervolume"] == 20000
    rows = rows_of(run("predict", out, CHEVRON, "--keep", "noise").out)
    assert f1([r["label"] == "-1" for r in rows], [r["noise"] == "1" for r in rows]) >= 0.95


@pytest.mark.parametrize("args,code,message", [
    (["--noise", "--missing", "marginalize"], 2, "--noise cannot be combined with --missing marginalize"),
    (["--hypervolume", "-3"], 2, "--hypervolume must be a finite number > 0"),
    (["--noise-init", "nope"], 2, "nope"),
    (["--noise-init", "y"], 2, "--noise-init 'y' is also selected as a feature by -c"),
])
def test_bad_noise_options(args, code, message, run, tmp_path):
    out = tmp_path / "m.json"
    res = run("fit", CHEVRON, "-c", "x,y", "-k", 2, *args, "-o", out)
    assert res.code == code and message in res.err and res.err.count("\n") == 1, res.err
    assert not out.exists()


def test_a_noise_flag_other_than_0_or_1_names_its_line(tmp_path, run):
    data = tmp_path / "flags.csv"
    data.write_text("a,b,flag\n" + "".join(f"{i},{i * i % 7},{0}\n" for i in range(20)) + "3,4,2\n")
    res = run("fit", data, "-k", 1, "--noise-init", "flag", "-o", tmp_path / "m.json")
    assert res.code == 65 and "line 22, column 'flag': noise flag 2 (give 0 or 1)" in res.err, res.err


def test_predict_will_not_marginalize_a_noise_model(chevron_model, run):
    res = run("predict", chevron_model, CHEVRON, "--missing", "marginalize")
    assert res.code == 2 and "noise component cannot score rows with missing cells" in res.err


@pytest.mark.parametrize("dataset", ["chevron", "faithful"])
def test_select_noise_reaches_mclusts_bic(dataset, run):
    """mclustBIC(X, G = 1:5, initialization = list(noise = NNclean)) against ``select --noise``:
    fully fitted, the cells reach mclust's BIC to 1e-6; screened (the default), to mclust's own
    precision (its relative 1e-5 stopping rule), and the choice is mclust's with a BIC as good."""
    fx = fixture(f"bic_{dataset}")
    cells = [(model, G, v) for model, values in fx["bic"].items() for G, v in zip(fx["G"], values) if v is not None]
    for extra, rtol in ((["--polish-within", "inf"], 1e-6), ([], 1e-4)):
        res = run("select", os.path.join(ROOT, fx["source"]), "-c", ",".join(fx["columns"]), "--noise", "-k", "1-5",
                  "--format", "json", *extra)
        assert res.code == 0, res.err
        rows = {(r["k"], r["covariance_type"]): r for r in json.loads(res.out)}
        reached = [-rows[(G, canonical_name(m))]["bic"] >= v - rtol * abs(v) for m, G, v in cells]
        assert sum(reached) >= 0.95 * len(cells), (extra, sum(reached))
    best = next(r for r in rows.values() if r["best"])
    assert (best["k"], best["covariance_type"]) == (fx["best"]["G"], canonical_name(fx["best"]["model"]))
    assert -best["bic"] >= fx["best"]["bic"] - 1e-6 * abs(fx["best"]["bic"])
    noise_only = rows[(0, "noise")]  # k = 0, mclust's G = 0 row
    if dataset == "chevron":
        assert -noise_only["bic"] == pytest.approx(fixture("nparams")["chevron_G0"]["bic"], rel=1e-12)
    assert noise_only["n_parameters"] == 1


CENTRES = np.array([[0.0, 0.0], [6.0, 1.0], [2.0, 6.0]])
SPREAD, LOW, HIGH = 0.6, -8.0, 14.0


def planted(rng, n_cluster=600, background=0.25):
    """Three round clusters in 2-D, and a uniform background of 25% of the rows over a box
    around them."""
    labels = rng.integers(3, size=n_cluster)
    clusters = CENTRES[labels] + rng.normal(size=(n_cluster, 2)) * SPREAD
    n_noise = int(round(n_cluster * background / (1 - background)))
    noise = rng.uniform(LOW, HIGH, size=(n_noise, 2))
    return np.vstack([clusters, noise]), np.r_[np.zeros(n_cluster, bool), np.ones(n_noise, bool)]


def bayes_flags(X, background=0.25):
    """The best any classifier can do: the true densities' own noise-or-cluster decision."""
    from scipy.stats import multivariate_normal

    clusters = sum((1 - background) / 3 * multivariate_normal(c, SPREAD**2 * np.eye(2)).pdf(X) for c in CENTRES)
    return background / (HIGH - LOW) ** 2 > clusters


@pytest.mark.parametrize("seed", [2026, 7])
def test_select_noise_finds_planted_clusters_and_flags_the_background(seed, tmp_path, run):
    X, truth = planted(np.random.default_rng(seed))
    data = write_csv(tmp_path / "planted.csv", X, ["u", "v"])
    out = tmp_path / "best.json"
    res = run("select", data, "--noise", "-k", "1-5", "-o", out, "--format", "csv")
    assert res.code == 0, res.err
    model = read_model(str(out))
    assert model.n_components == 3
    np.testing.assert_allclose(np.sort(model.scaler.inverse_transform(model.params.means), axis=0),
                               np.sort(CENTRES, axis=0), atol=0.2)
    rows = rows_of(run("predict", out, data).out)
    score = f1([r["label"] == "-1" for r in rows], truth)
    assert score >= 0.9
    assert score >= f1(bayes_flags(X), truth) - 0.02  # near the best possible on these rows


def test_noise_only_wins_on_uniform_data_and_a_clustered_model_is_written(tmp_path, run):
    X = np.random.default_rng(5).uniform(size=(300, 2))
    data = write_csv(tmp_path / "uniform.csv", X, ["u", "v"])
    out = tmp_path / "best.json"
    res = run("select", data, "--noise", "-k", "1-3", "--covariance", "EII,VVV", "-o", out, "--format", "csv")
    assert res.code == 0, res.err
    best = [r for r in rows_of(res.out) if r["best"] == "True"]
    assert [(b["k"], b["covariance_type"]) for b in best] == [("0", "noise")]
    assert "the noise alone (k=0) has the best bic" in res.err
    assert read_model(str(out)).n_components >= 1


def test_explain_shows_the_noise_as_a_component(chevron_model, run):
    res = run("predict", chevron_model, CHEVRON, "--explain", 1)
    assert res.code == 0, res.err
    text = res.out.decode() + res.err
    assert "      noise   " in text and "p_noise = " in text
    probs = rows_of(run("predict", chevron_model, CHEVRON).out)[0]
    assert ("assigned cluster: noise (label -1)" in text) == (probs["label"] == "-1")


def test_select_takes_k_0_only_with_noise(run):
    res = run("select", CHEVRON, "-c", "x,y", "-k", "0-2", "--covariance", "EII", "--format", "csv")
    assert res.code == 2 and "-k 0 is the noise alone: it needs --noise" in res.err
    res = run("select", CHEVRON, "-c", "x,y", "-k", "0-2", "--covariance", "EII", "--noise", "--format", "csv")
    assert res.code == 0, res.err
    assert [(r["k"], r["covariance_type"]) for r in rows_of(res.out)] == [("0", "noise"), ("1", "EII"), ("2", "EII")]
