"""The Dask engine: the same model as the memory engine, errors naming the file, a lost worker survived."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from gmmcli import pipeline
from gmmcli.core.init import initialize
from gmmcli.core.models import MODEL_NAMES, get_model
from gmmcli.engines.memory import MemoryEngine
from gmmcli.io.model_file import read_model
from gmmcli.scaler import fit_scaler
from tests.helpers import COVARIANCE_TYPES, blobs, write_csv, write_model, fit_request

distributed = pytest.importorskip("distributed")


def split_files(folder, X, cuts):
    paths = []
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
        paths.append(str(write_csv(folder / f"part-{i}.csv", X[a:b], list("abcdefgh"[:X.shape[1]]))))
    return paths


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_dask_equals_memory_from_the_same_start(tmp_path, rng, cluster, covariance_type):
    X = blobs(rng, n=2000, d=3, k=3)
    whole = str(write_csv(tmp_path / "whole.csv", X, ["a", "b", "c"]))
    split_files(tmp_path, X, [0, 17, 900, 901, 1500, 2000])  # uneven partitions
    scaler = fit_scaler(X, ["a", "b", "c"])
    start = initialize(MemoryEngine(scaler.transform(X)), 3, covariance_type, "kmeans++", rng, 1e-6, np.zeros(3))
    init = str(write_model(tmp_path / "init.json", start, ["a", "b", "c"], scaler=scaler))
    common = dict(n_components=3, covariance_type=covariance_type, init_model=init, tol=0, max_iter=15)
    memory = pipeline.fit(fit_request(whole, **common)).model
    dask = pipeline.fit(fit_request((str(tmp_path / "part-*.csv"),), engine="dask",
                                            scheduler=cluster.scheduler_address, **common)).model
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(getattr(dask.params, name), getattr(memory.params, name), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(dask.scaler.scale, memory.scaler.scale, rtol=1e-12)
    assert dask.log_likelihood["total"] == pytest.approx(memory.log_likelihood["total"], rel=1e-9)


def test_dask_error_names_the_file_and_line(tmp_path, rng, cluster, run):
    X = blobs(rng, n=300, d=3)
    split_files(tmp_path, X, [0, 100, 200, 300])
    bad = tmp_path / "part-1.csv"
    lines = bad.read_text().splitlines()
    lines[5] = "1,oops,3"
    bad.write_text("\n".join(lines) + "\n")
    res = run("fit", str(tmp_path / "part-*.csv"), "-k", 2, "--engine", "dask", "--scheduler",
              cluster.scheduler_address, "-o", tmp_path / "m.json")
    assert res.code == 65
    assert res.err == f"gmmcli: error: {bad}: line 6, column 'b': 'oops' is not a number\n"
    assert not (tmp_path / "m.json").exists()


def test_glob_matching_nothing_and_several_inputs_without_dask(tmp_path, run):
    res = run("fit", str(tmp_path / "none-*.csv"), "-k", 2, "--engine", "dask")
    assert (res.code, res.err) == (66, f"gmmcli: error: {tmp_path}/none-*.csv: no file matches\n")
    res = run("fit", str(tmp_path / "none-*.csv"), "-k", 2)  # the local engines expand globs too
    assert (res.code, res.err) == (66, f"gmmcli: error: {tmp_path}/none-*.csv: no file matches\n")
    res = run("fit", tmp_path / "a.csv", tmp_path / "b.csv", "-k", 2)
    assert (res.code, res.err) == (66, f"gmmcli: error: {tmp_path}/a.csv: no such file\n")


def test_missing_dask_gives_the_install_hint(monkeypatch, run, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)
    res = run("fit", "x.csv", "-k", 2, "--engine", "dask")
    assert (res.code, res.err) == (2, "gmmcli: error: the Dask engine needs dask and distributed: "
                                      "pip install 'gmmcli[dask]'\n")


def test_a_killed_worker_is_survived(tmp_path, rng, cluster):
    X = blobs(rng, n=60_000, d=4, k=5)
    split_files(tmp_path, X, list(range(0, 60_001, 10_000)))
    client = distributed.Client(cluster)
    out = tmp_path / "m.json"
    cmd = [sys.executable, "-m", "gmmcli", "fit", str(tmp_path / "part-*.csv"), "-k", "12", "--engine", "dask",
           "--scheduler", cluster.scheduler_address, "--tol", "0", "--max-iter", "150", "-o", str(out), "-q"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    time.sleep(6)
    pids = list(client.run(os.getpid).values())
    os.kill(pids[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    client.close()
    # either Dask recomputed the lost partitions and the fit finished, or it failed cleanly
    if proc.returncode == 0:
        assert read_model(str(out)).n_iter == 150
    else:
        assert err.count(b"\n") == 1 and err.startswith(b"gmmcli: error: ") and proc.returncode != 70, err


def test_dask_predict_writes_one_part_per_file_in_order(tmp_path, rng, cluster, run):
    X = blobs(rng, n=500, d=3)
    paths = split_files(tmp_path, X, [0, 50, 320, 500])
    model = tmp_path / "m.json"
    assert run("fit", paths[1], "-k", 2, "-o", model, "-q").code == 0
    (tmp_path / "out").mkdir()
    res = run("predict", model, str(tmp_path / "part-*.csv"), "--engine", "dask", "--scheduler",
              cluster.scheduler_address, "-o", str(tmp_path / "out" / "p-*.csv"))
    assert res.code == 0, res.err
    for i, path in enumerate(paths):
        local = run("predict", model, path)
        assert (tmp_path / "out" / f"p-{i:05d}.csv").read_bytes() == local.out


def test_dask_predict_failure_removes_its_parts(tmp_path, rng, cluster, run):
    X = blobs(rng, n=300, d=3)
    paths = split_files(tmp_path, X, [0, 100, 200, 300])
    model = tmp_path / "m.json"
    assert run("fit", paths[0], "-k", 2, "-o", model, "-q").code == 0
    with open(paths[2], "a") as f:
        f.write("1,2\n")
    res = run("predict", model, *paths, "--engine", "dask", "--scheduler", cluster.scheduler_address,
              "-o", str(tmp_path / "p-*.csv"))
    assert res.code == 65 and res.err == f"gmmcli: error: {paths[2]}: line 102: 2 fields, but the header has 3\n"
    assert not list(tmp_path.glob("p-*.csv"))


def test_many_partitions_per_worker(tmp_path, rng, cluster):
    X = blobs(rng, n=1100, d=3, k=3)
    whole = str(write_csv(tmp_path / "whole.csv", X, ["a", "b", "c"]))
    split_files(tmp_path, X, list(range(0, 1101, 100)))  # 11 partitions, one task per worker
    common = dict(n_components=3, tol=0, max_iter=5, seed=3)
    memory = pipeline.fit(fit_request(whole, **common)).model
    dask = pipeline.fit(fit_request((str(tmp_path / "part-*.csv"),), engine="dask",
                                            scheduler=cluster.scheduler_address, **common)).model
    assert dask.n_samples == 1100
    np.testing.assert_allclose(dask.params.covariances, memory.params.covariances, rtol=1e-9, atol=1e-9)
    assert dask.log_likelihood["total"] == pytest.approx(memory.log_likelihood["total"], rel=1e-9)


def test_select_cells_on_the_cluster_equal_local_cells(tmp_path, cluster):
    from tests.helpers import SAMPLE
    from gmmcli.pipeline.select import SelectRequest, select

    walk = os.path.join(SAMPLE, "walkthrough.csv")
    local = select(SelectRequest(fit=fit_request(walk), components=(1, 2, 3), jobs=1))
    remote = select(SelectRequest(fit=fit_request(walk, engine="dask",
                                                          scheduler=cluster.scheduler_address),
                                  components=(1, 2, 3)))
    assert [c.row() for c in remote.cells] == [c.row() for c in local.cells]
    assert remote.document == local.document


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_same_seed_gives_the_same_model_on_every_engine(tmp_path, rng, cluster, covariance_type):
    """No --init-model: k-means++ starts from sampled rows, which every engine must return alike."""
    X = blobs(rng, n=3000, d=3, k=4)
    whole = str(write_csv(tmp_path / "whole.csv", X, ["a", "b", "c"]))
    split_files(tmp_path, X, [0, 700, 1500, 3000])
    common = dict(n_components=4, covariance_type=covariance_type, seed=7, tol=0, max_iter=10, n_init=2)
    memory = pipeline.fit(fit_request(whole, **common)).model
    spooled = pipeline.fit(fit_request(whole, max_memory=1 << 20, **common)).model
    dask = pipeline.fit(fit_request((str(tmp_path / "part-*.csv"),), engine="dask",
                                    scheduler=cluster.scheduler_address, **common)).model
    for other in (spooled, dask):
        for name in ("weights", "means", "covariances"):
            np.testing.assert_allclose(getattr(other.params, name), getattr(memory.params, name), rtol=1e-9, atol=1e-9)
        assert other.log_likelihood["total"] == pytest.approx(memory.log_likelihood["total"], rel=1e-9)


@pytest.mark.parametrize("model", [m for m in MODEL_NAMES if m not in COVARIANCE_TYPES])
def test_every_mclust_model_fits_on_dask_as_in_memory(tmp_path, rng, cluster, model):
    d = 1 if get_model(model).n_features_only else 3
    X = blobs(rng, n=900, d=d, k=3)
    whole = str(write_csv(tmp_path / "whole.csv", X, list("abc"[:d])))
    split_files(tmp_path, X, [0, 300, 901])
    common = dict(n_components=3, covariance_type=model, seed=2, tol=0, max_iter=8)
    memory = pipeline.fit(fit_request(whole, **common)).model
    dask = pipeline.fit(fit_request((str(tmp_path / "part-*.csv"),), engine="dask",
                                    scheduler=cluster.scheduler_address, **common)).model
    np.testing.assert_allclose(dask.params.covariances, memory.params.covariances, rtol=1e-8, atol=1e-9)
    assert dask.log_likelihood["total"] == pytest.approx(memory.log_likelihood["total"], rel=1e-9)
