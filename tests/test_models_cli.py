"""Every covariance model through the command line: fit, predict, explain, sample, and the options."""

import json

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from gmmcli.core.models import MCLUST_ORDER, ONE_COLUMN_MODELS, canonical_name, get_model
from gmmcli.io.model_file import read_model
from tests.helpers import blobs, write_csv

MODELS = [canonical_name(m) for m in MCLUST_ORDER]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    X = blobs(np.random.default_rng(4), n=300, d=3, k=3) * [1.0, 3.0, 0.5] + [2.0, -1.0, 10.0]
    path = write_csv(folder / "d.csv", X, ["a", "b", "c"])
    one = write_csv(folder / "one.csv", X[:, :1], ["a"])
    return folder, X, str(path), str(one)


def mixture_log_density(model, X):
    """log Σ_k w_k N(x | μ_k, Σ_k) with scipy, in original units (the model is fit without standardizing)."""
    p = model.params
    dense = p.dense_covariances()
    parts = [np.log(p.weights[k]) + multivariate_normal(p.means[k], dense[k]).logpdf(X).reshape(len(X))
             for k in range(p.n_components)]
    return logsumexp(np.array(parts), axis=0)


@pytest.mark.parametrize("name", MODELS + list(ONE_COLUMN_MODELS))
def test_every_model_fits_predicts_and_samples(run, data, name):
    folder, X, path, one = data
    source, columns = (one, X[:, :1]) if name in ONE_COLUMN_MODELS else (path, X)
    out = folder / f"{name}.json"
    res = run("fit", source, "-k", 3, "--covariance", name.lower(), "--no-standardize", "--seed", 1, "-o", out, "-q")
    assert res.code == 0, res.err
    model = read_model(str(out))
    assert model.params.covariance_type == name
    doc = json.loads(out.read_text())
    assert ("decomposition" in doc) == get_model(name).has_decomposition
    assert ("inner_loop" in doc["diagnostics"]) == (get_model(name).inner_fit is not None)
    predicted = run("predict", out, source, "--emit", "log_likelihood").out.decode().splitlines()[1:]
    np.testing.assert_allclose([float(v) for v in predicted], mixture_log_density(model, columns), rtol=1e-10)
    assert "4. assigned cluster" in run("predict", out, source, "--explain", 3).out.decode()
    drawn = run("sample", out, "-n", 50, "--seed", 2).out.decode().splitlines()
    assert len(drawn) == 51 and "nan" not in "".join(drawn)


@pytest.mark.parametrize("name", MODELS)
def test_every_model_takes_every_option(run, data, name):
    folder, X, path, _ = data
    weighted = folder / "w.csv"
    if not weighted.exists():
        rows = open(path).read().splitlines()
        weighted.write_text("\n".join([rows[0] + ",w"] + [r + f",{1 + i % 3}" for i, r in enumerate(rows[1:])]) + "\n")
        holes = [r.split(",") for r in rows]
        for i in range(5, len(holes), 17):
            holes[i][i % 3] = ""
        (folder / "holes.csv").write_text("\n".join(",".join(r) for r in holes) + "\n")
    base = ["-k", 3, "--covariance", name, "-q", "--seed", 3]
    first = folder / f"{name}-first.json"
    assert run("fit", path, *base, "-o", first).code == 0
    for extra in (["--dtype", "float32"], ["--weight-column", "w"], ["--max-memory", "1M"], ["--align-to", first],
                  ["--init-model", first], ["--missing", "marginalize"]):
        source = weighted if "w" in extra else folder / "holes.csv" if "--missing" in extra else path
        args = base if "--init-model" not in extra else base[2:]  # k comes from the init model
        res = run("fit", source, *args, *extra, "-o", folder / f"{name}-x.json")
        assert res.code == 0, (extra, res.err)
    res = run("predict", first, folder / "holes.csv", "--missing", "marginalize", "--emit", "log_likelihood")
    assert res.code == 0 and "nan" not in res.out.decode().lower()


def test_select_all_runs_every_model_and_labels_the_chart(run, data):
    folder, X, path, one = data
    res = run("select", path, "-k", "1-2", "--covariance", "all", "--format", "table", "-j", 1)
    assert res.code == 0, res.err
    text = res.out.decode()
    for name in MODELS:
        assert f" {name} " in text or f" {name}\n" in text
    res = run("select", one, "-k", "1-2", "--covariance", "all", "--format", "csv", "-j", 1)
    assert sorted({line.split(",")[1] for line in res.out.decode().splitlines()[1:]}) == ["E", "V"]


def test_one_column_models_refuse_more_columns(run, data):
    folder, X, path, one = data
    res = run("fit", path, "-k", 2, "--covariance", "E")
    assert (res.code, res.err) == (2, "gmmcli: error: --covariance E is a one-column model, but the data have 3 "
                                      "columns (choose the column with -c)\n")


@pytest.mark.parametrize("name", ["VEI", "VEV", "VEE", "EVE", "VVE"])
def test_iterative_models_report_their_inner_loop(run, data, name):
    folder, X, path, _ = data
    out = folder / f"{name}-inner.json"
    assert run("fit", path, "-k", 2, "--covariance", name, "--tol", "1e-8", "--max-iter", 500, "-o", out, "-q").code == 0
    inner = read_model(str(out)).diagnostics["inner_loop"]
    assert inner["converged"] and inner["iterations"] <= 100


def edited(path, target, edit):
    doc = json.loads(open(path).read())
    edit(doc)
    target.write_text(json.dumps(doc))
    return target


def test_model_files_must_keep_their_models_constraint(run, data):
    folder, X, path, _ = data
    fitted = {}
    for name in ("VEV", "EII"):
        fitted[name] = folder / f"c-{name}.json"
        assert run("fit", path, "-k", 3, "--covariance", name, "-o", fitted[name], "-q").code == 0

    def retype(doc):
        doc["covariance_type"] = doc["settings"]["covariance_type"] = "EEV"

    cases = [
        (fitted["VEV"], retype, "field 'covariances': break the EEV model: the volumes differ across components"),
        (fitted["EII"], lambda d: d["covariances"][0][0].__setitem__(0, 2 * d["covariances"][0][0][0]),
         "field 'covariances': break the EII model"),
        (fitted["VEV"], lambda d: d["decomposition"]["volume"].__setitem__(0, 5 * d["decomposition"]["volume"][0]),
         "field 'decomposition': does not rebuild the covariances"),
        (fitted["VEV"], lambda d: d["settings"].__setitem__("covariance_type", "EEV"),
         "field 'settings.covariance_type': 'EEV' differs from covariance_type 'VEV'"),
    ]
    for source, edit, message in cases:
        bad = edited(source, folder / "bad.json", edit)
        res = run("predict", bad, path)
        assert res.code == 65 and res.err.startswith(f"gmmcli: error: {bad}: {message}"), res.err
        assert res.err.count("\n") == 1


def test_models_fit_with_a_prior_keep_their_constraint(run, data):
    folder, X, path, _ = data
    for name in ("EII", "EEI", "VEI", "EVI", "EEV", "VEV"):
        out = folder / f"p-{name}.json"
        assert run("fit", path, "-k", 3, "--covariance", name, "--prior", "-o", out, "-q").code == 0
        assert run("predict", out, path).code == 0
