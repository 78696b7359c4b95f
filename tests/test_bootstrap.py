"""`gmmcli bootstrap`: determinism for a seed and any --jobs, the model's uncertainty section,
summary's standard errors, every resampling type, the engines, failed replicates, usage errors."""

from __future__ import annotations

import csv
import io
import json
import os

import numpy as np
import pytest

from gmmcli.errors import ModelError, NumericalError
from gmmcli.io.csv_reader import CsvFormat
from gmmcli.io.model_file import dumps_model, parse_model, read_model
from gmmcli.pipeline import DataRequest, fit
from gmmcli.pipeline import bootstrap as bootstrap_module
from gmmcli.pipeline.bootstrap import BootstrapRequest, bootstrap
from tests.helpers import SAMPLE, fit_request

WALK = os.path.join(SAMPLE, "walkthrough.csv")
WEIGHTED = os.path.join(SAMPLE, "weighted.csv")


@pytest.fixture(scope="module")
def walk_model(tmp_path_factory):
    """The walkthrough's 3-component full model, fitted tightly."""
    path = str(tmp_path_factory.mktemp("boot") / "walk.json")
    fit(fit_request(WALK, n_components=3, covariance_type="full", tol=1e-9, max_iter=1000, output=path))
    return path


def rows_of(text: bytes) -> list:
    return list(csv.DictReader(io.StringIO(text.decode())))


def request(model, inputs=WALK, **options):
    data = DataRequest(inputs=(inputs,), max_memory=options.pop("max_memory", None),
                       engine=options.pop("engine", "memory"), scheduler=options.pop("scheduler", None))
    return BootstrapRequest(model=model, data=data, **options)


def test_same_seed_same_bytes_for_any_jobs(walk_model, run):
    args = ["bootstrap", walk_model, WALK, "--replicates", "24", "--seed", "3", "--format", "csv", "-q"]
    one, two = run(*args, "-j", "1"), run(*args, "-j", "2")
    assert one.code == 0 and two.code == 0, one.err + two.err
    assert one.out == two.out
    other = run("bootstrap", walk_model, WALK, "--replicates", "24", "--seed", "4", "--format", "csv", "-q")
    assert other.out != one.out
    rows = rows_of(one.out)
    assert list(rows[0]) == ["parameter", "component", "column", "estimate", "se", "lower", "upper"]
    assert len(rows) == 3 * (1 + 2 + 2 + 1)
    assert [(r["parameter"], r["column"]) for r in rows[:6]] == [
        ("weight", ""), ("mean", "x"), ("mean", "y"), ("variance", "x"), ("variance", "y"), ("covariance", "x:y")]


def test_output_model_has_the_uncertainty_and_summary_shows_it(walk_model, tmp_path, run):
    out = tmp_path / "with_se.json"
    result = run("bootstrap", walk_model, WALK, "--replicates", "20", "-o", out, "--format", "json", "-q")
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    model = read_model(str(out))
    assert model.uncertainty["rows"] == rows and model.uncertainty["replicates"] == 20
    assert model.uncertainty["type"] == "bs" and model.uncertainty["level"] == 0.95
    raw = out.read_bytes()
    assert dumps_model(model) == raw and dumps_model(parse_model(raw, "again")) == raw
    original = read_model(walk_model)
    assert dumps_model(original) == open(walk_model, "rb").read()  # older files load and round-trip as they were
    table = run("summary", out, "--format", "table")
    assert "se: standard errors by nonparametric bootstrap (20 replicates; 95% intervals" in table.out.decode()
    se_weight = next(r["se"] for r in rows if r["parameter"] == "weight" and r["component"] == 0)
    assert f"component 0: weight {original.params.weights[0]:.4f} (se {se_weight:.4g})" in table.out.decode()
    doc = json.loads(run("summary", out, "--format", "json").out)
    assert doc["components"][1]["se"]["mean"]["y"] == next(
        r["se"] for r in rows if (r["parameter"], r["component"], r["column"]) == ("mean", 1, "y"))
    assert "se" not in json.loads(run("summary", walk_model, "--format", "json").out)["components"][0]


def test_estimates_are_the_models_in_original_units(walk_model):
    from gmmcli.pipeline.summary import describe

    result = bootstrap(request(walk_model, replicates=10))
    components = describe(read_model(walk_model), walk_model).components
    got = {(r["parameter"], r["component"], r["column"]): r["estimate"] for r in result.rows}
    for c in components:
        assert got[("weight", c.index, None)] == pytest.approx(c.weight, rel=1e-12)
        assert got[("mean", c.index, "y")] == pytest.approx(c.mean[1], rel=1e-12)
        assert got[("covariance", c.index, "x:y")] == pytest.approx(c.covariance[0, 1], rel=1e-12)
    assert all(r["lower"] <= r["upper"] and r["se"] > 0 for r in result.rows)


def test_jackknife_of_one_component_gives_the_closed_form(tmp_path):
    """k = 1: the mean is the sample mean, whose jackknife SE is exactly s/√n."""
    path = str(tmp_path / "one.json")
    fit(fit_request(WALK, n_components=1, covariance_type="full", output=path))
    result = bootstrap(request(path, kind="jk", jobs=2))
    X = np.loadtxt(WALK, delimiter=",", skiprows=1)
    assert result.replicates == len(X) and result.failed == 0
    se = {r["column"]: r["se"] for r in result.rows if r["parameter"] == "mean"}
    expected = X.std(axis=0, ddof=1) / np.sqrt(len(X))
    assert [se["x"], se["y"]] == pytest.approx(expected, rel=1e-8)
    assert next(r["se"] for r in result.rows if r["parameter"] == "weight") == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("kind", ["wlbs", "pb"])
def test_other_types_give_standard_errors_near_the_nonparametric_ones(walk_model, kind):
    se = {}
    for k in ("bs", kind):
        rows = bootstrap(request(walk_model, kind=k, replicates=60, seed=1, jobs=2)).rows
        se[k] = np.array([r["se"] for r in rows if r["parameter"] in ("weight", "mean")])
    assert np.all(se[kind] > 0)
    np.testing.assert_allclose(se[kind], se["bs"], rtol=0.5)  # 60 replicates: only the order of magnitude


def test_spool_engine_gives_the_memory_engines_numbers(walk_model):
    memory = bootstrap(request(walk_model, replicates=8, jobs=1)).rows
    spooled = bootstrap(request(walk_model, replicates=8, jobs=2, max_memory=1 << 20)).rows
    for a, b in zip(memory, spooled):
        assert (a["parameter"], a["component"], a["column"]) == (b["parameter"], b["component"], b["column"])
        assert b["se"] == pytest.approx(a["se"], rel=1e-6)


def test_weighted_and_noise_models(tmp_path):
    weighted = str(tmp_path / "weighted.json")
    fit(fit_request(WEIGHTED, n_components=3, weight_column="w", output=weighted))
    result = bootstrap(request(weighted, inputs=WEIGHTED, replicates=6))
    assert result.replicates == 6 and [r["column"] for r in result.rows[:3]] == [None, "x", "y"]
    noisy = str(tmp_path / "noise.json")
    fit(fit_request(WALK, n_components=3, noise=True, output=noisy))
    for kind in ("bs", "pb"):
        rows = bootstrap(request(noisy, kind=kind, replicates=6)).rows
        assert rows[-1]["parameter"] == "weight" and rows[-1]["component"] == "noise" and rows[-1]["se"] > 0


def test_failed_replicates_are_redrawn_and_counted(walk_model, monkeypatch):
    """A refit that fails is redrawn from the replicate's next generator; one that always fails is left out."""
    real_rng, real_refit = bootstrap_module.replicate_rng, bootstrap_module.refit
    state = {}

    def rng(seed, index, attempt):
        state.update(index=index, attempt=attempt)
        return real_rng(seed, index, attempt)

    def refit(*args):
        if state["index"] == 5 or (state["index"] % 2 and state["attempt"] < 2):
            raise NumericalError("component 1 collapsed")
        return real_refit(*args)

    monkeypatch.setattr(bootstrap_module, "replicate_rng", rng)
    monkeypatch.setattr(bootstrap_module, "refit", refit)
    result = bootstrap(request(walk_model, replicates=8, jobs=1))
    assert (result.replicates, result.lost) == (7, 1)
    assert result.failed == 10 + 2 * 3  # index 5: every attempt; 1, 3, 7: two each
    assert "warning: 1 replicate(s) failed 10 times and were left out" in result.notes


def test_every_replicate_failing_is_a_numerical_error(walk_model, monkeypatch):
    def refit(*args):
        raise NumericalError("component 0 collapsed")

    monkeypatch.setattr(bootstrap_module, "refit", refit)
    with pytest.raises(NumericalError, match=r"only 0 of 3 replicate\(s\) could be refitted "
                                             r"\(last failure: component 0 collapsed\)"):
        bootstrap(request(walk_model, replicates=3, jobs=1))


@pytest.mark.parametrize("args,message", [
    (["--type", "jk", "--replicates", "9"], "--type jk refits once per row (n replicates): leave out --replicates"),
    (["--replicates", "1"], "--replicates must be at least 2 (got 1)"),
    (["--level", "1.5"], "--level must be between 0 and 1 (got 1.5)"),
    (["--engine", "dask", "--max-memory", "1M"], "bootstrap --engine dask does not take --max-memory"),
])
def test_usage_errors(walk_model, run, args, message):
    result = run("bootstrap", walk_model, WALK, *args)
    assert result.code == 2 and result.err == f"gmmcli: error: {message}\n" and result.out == b""


def test_swapped_arguments_and_unsupported_models(walk_model, tmp_path, run):
    result = run("bootstrap", WALK, walk_model)
    assert result.code == 65 and "the model comes first (gmmcli bootstrap" in result.err
    doc = json.loads(open(walk_model).read())
    doc["settings"]["missing"] = "marginalize"
    (tmp_path / "missing.json").write_text(json.dumps(doc))
    result = run("bootstrap", tmp_path / "missing.json", WALK)
    assert result.code == 2 and result.err == ("gmmcli: error: bootstrap does not take a model fitted with --missing "
                                               "marginalize (rows with missing cells): refit it on complete rows\n")
    out = tmp_path / "not_written.json"
    assert run("bootstrap", walk_model, WALK, "--level", "2", "-o", out).code == 2 and not out.exists()


@pytest.mark.parametrize("edit,message", [
    (lambda rows: rows[0].update(component=7), "field 'uncertainty.rows[0].component': 7 is not a component of the "
                                               "model (3 components)"),
    (lambda rows: rows[1].update(column="z"), "field 'uncertainty.rows[1].column': 'z' is not a column (or pair a:b) "
                                              "of the model"),
    (lambda rows: rows[0].update(component="noise"), "field 'uncertainty.rows[0].component': names a noise component "
                                                     "the model does not have"),
    (lambda rows: rows[2].update(lower=1e9), "field 'uncertainty.rows[2].lower': exceeds upper"),
    (lambda rows: rows[0].pop("se"), "field 'uncertainty.rows[0].se': missing"),
    (lambda rows: rows[0].update(parameter="skew"), "field 'uncertainty.rows[0].parameter': 'skew' is not one of "
                                                    "weight, mean, variance, covariance"),
])
def test_a_wrong_uncertainty_section_is_refused_naming_the_field(walk_model, edit, message):
    document = dumps_model(bootstrap(request(walk_model, replicates=4)).model)
    doc = json.loads(document)
    edit(doc["uncertainty"]["rows"])
    with pytest.raises(ModelError) as caught:
        parse_model(json.dumps(doc).encode(), "m.json")
    assert str(caught.value) == f"m.json: {message}"


def test_dask_runs_each_replicate_as_a_task_with_the_same_result(walk_model, cluster):
    remote = bootstrap(request(walk_model, replicates=6, engine="dask", scheduler=cluster.scheduler_address))
    local = bootstrap(request(walk_model, replicates=6, jobs=1))
    assert remote.rows == local.rows


def test_python_api_gives_the_commands_rows(tmp_path):
    import gmmcli

    X = np.loadtxt(WALK, delimiter=",", skiprows=1)
    gm = gmmcli.GaussianMixture(3, random_state=0, tol=1e-8).fit(X)
    path = str(tmp_path / "api.json")
    gm.save(path)
    rows = gm.bootstrap(X, n_replicates=8, random_state=2, as_frame=False)
    # the API's model has no header (columns 1, 2, matched by position); the file has one
    command = bootstrap(BootstrapRequest(model=path, data=DataRequest(inputs=(WALK,), fmt=CsvFormat(has_header=True)),
                                         replicates=8, seed=2)).rows
    assert [(r["parameter"], r["component"]) for r in rows] == [(r["parameter"], r["component"]) for r in command]
    np.testing.assert_allclose([r["se"] for r in rows], [r["se"] for r in command], rtol=1e-10)
    with pytest.raises(ValueError, match="--type jk refits once per row"):
        gm.bootstrap(X, kind="jk", n_replicates=5)

