"""The Dask engine with --weight-column, --max-memory and --noise-init: the memory engine's model."""

import os
from functools import partial

import numpy as np
import pytest

from gmmcli import pipeline
from gmmcli.core.stats import block_statistics
from gmmcli.engines import dask_engine
from gmmcli.engines.memory import MemoryEngine
from gmmcli.io.model_file import read_model
from gmmcli.pipeline.data import load_training_data
from tests.helpers import COVARIANCE_TYPES, blobs, fit_request, random_params

distributed = pytest.importorskip("distributed")

CUTS = [0, 17, 900, 900, 1500, 2000]  # uneven partitions, one of them empty


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster) as client:
        yield client


def write_table(path, X, extra=None):
    """CSV of columns a, b, c (…) and the ``extra`` columns {name: values}."""
    extra = extra or {}
    names = list("abcdefgh"[:X.shape[1]]) + list(extra)
    with open(path, "w") as f:
        f.write(",".join(names) + "\n")
        for i, row in enumerate(X.tolist()):
            f.write(",".join([repr(v) for v in row] + [repr(float(values[i])) for values in extra.values()]) + "\n")
    return str(path)


def split_table(folder, X, cuts=CUTS, **extra):
    """The whole table, and its rows cut into part-*.csv files (the Dask engine's partitions)."""
    whole = write_table(folder / "whole.csv", X, extra)
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
        write_table(folder / f"part-{i}.csv", X[a:b], {k: v[a:b] for k, v in extra.items()})
    return whole, (str(folder / "part-*.csv"),)


def assert_same_model(other, memory, rtol=1e-9):
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(getattr(other.params, name), getattr(memory.params, name), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(other.scaler.mean, memory.scaler.mean, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(other.scaler.scale, memory.scaler.scale, rtol=1e-12)
    for key in memory.log_likelihood:
        assert other.log_likelihood[key] == pytest.approx(memory.log_likelihood[key], rel=rtol)
    for q, v in memory.log_likelihood_quantiles.items():
        assert other.log_likelihood_quantiles[q] == pytest.approx(v, rel=rtol, abs=rtol)


def weights_for(rng, n):
    w = rng.uniform(0, 3, size=n)
    w[rng.random(n) < 0.2] = 0.0  # rows of weight 0: never sampled, never counted
    return np.round(w, 3)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_weighted_dask_fit_equals_the_memory_engine(tmp_path, rng, cluster, covariance_type):
    """Same seed, no --init-model: weighted k-means++ sampling, scaler and EM as in memory."""
    X = blobs(rng, n=2000, d=3, k=3)
    whole, parts = split_table(tmp_path, X, w=weights_for(rng, len(X)))
    common = dict(n_components=3, covariance_type=covariance_type, seed=4, tol=0, max_iter=12, weight_column="w")
    memory = pipeline.fit(fit_request(whole, **common)).model
    dask = pipeline.fit(fit_request(parts, engine="dask", scheduler=cluster.scheduler_address, **common)).model
    assert_same_model(dask, memory)
    assert dask.log_likelihood["total_weight"] == pytest.approx(memory.log_likelihood["total_weight"], rel=1e-12)
    assert dask.n_samples == memory.n_samples and dask.settings["weight_column"] == "w"


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_max_memory_on_dask_equals_the_memory_engine(tmp_path, rng, cluster, covariance_type):
    """--max-memory: partitions spooled on the workers (weighted, and with --no-standardize)."""
    X = blobs(rng, n=3000, d=3, k=3) * [1, 10, 0.1] + [0, 100, -5]
    whole, parts = split_table(tmp_path, X, [0, 1000, 1001, 3000], w=weights_for(rng, len(X)))
    for standardize in (True, False):
        common = dict(n_components=3, covariance_type=covariance_type, seed=1, tol=0, max_iter=10,
                      weight_column="w", standardize=standardize)
        memory = pipeline.fit(fit_request(whole, **common)).model
        dask = pipeline.fit(fit_request(parts, engine="dask", scheduler=cluster.scheduler_address,
                                        max_memory=1 << 20, **common)).model
        assert_same_model(dask, memory)


def worker_files(client):
    return sorted(name for names in client.run(_spool_files).values() for name in names)


def _spool_files(dask_worker=None):
    folder = dask_engine.spool_folder(dask_worker)
    return [n for n in os.listdir(folder) if n.startswith(dask_engine.SPOOL_PREFIX)]


def test_spooled_partitions_live_on_worker_disks_and_are_removed(tmp_path, rng, cluster, client):
    X = blobs(rng, n=1200, d=3)
    _, parts = split_table(tmp_path, X, [0, 500, 1200])
    request = fit_request(parts, engine="dask", scheduler=cluster.scheduler_address, max_memory=1 << 20).data
    data = load_training_data(request)
    try:
        spools = data.engine.client.gather(data.engine.partitions)
        assert [type(s).__name__ for s in spools] == ["Spool", "Spool"]
        assert [s.n_samples for s in spools] == [500, 700] and spools[0].block_rows <= 16384
        assert worker_files(client) == [s.name for s in spools]
        params = random_params(rng, "full", k=2, d=3)
        fn = partial(block_statistics, params=params, shift=np.zeros(3))
        before = data.engine.reduce(fn)
        client.run(_remove_spool_files)  # a worker that lost them (or a task run elsewhere) writes them again
        again = data.engine.reduce(fn)
        assert again.log_likelihood == before.log_likelihood
        np.testing.assert_array_equal(again.moment, before.moment)
        Z = data.scaler.transform(X)
        expected = MemoryEngine(Z).reduce(fn)
        assert before.log_likelihood == pytest.approx(expected.log_likelihood, rel=1e-12)
        np.testing.assert_allclose(before.moment, expected.moment, rtol=1e-12)
    finally:
        data.close()
    assert worker_files(client) == []


def _remove_spool_files(dask_worker=None):
    folder = dask_engine.spool_folder(dask_worker)
    for name in _spool_files(dask_worker):
        os.unlink(os.path.join(folder, name))


def test_every_engine_samples_the_same_weighted_rows(tmp_path, rng, cluster):
    X = blobs(rng, n=1500, d=3)
    w = weights_for(rng, len(X))
    whole, parts = split_table(tmp_path, X, w=w)
    memory = load_training_data(fit_request(whole, weight_column="w").data)
    for max_memory in (None, 1 << 20):
        dask = load_training_data(fit_request(parts, engine="dask", scheduler=cluster.scheduler_address,
                                              weight_column="w", max_memory=max_memory).data)
        try:
            np.testing.assert_array_equal(dask.engine.sample_weight, w)
            for n in (5, 300, 5000):  # the same rows (standardized by scalers equal to 1e-12), in the same order
                a = memory.engine.sample_rows(n, np.random.default_rng(9))
                b = dask.engine.sample_rows(n, np.random.default_rng(9))
                np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
            picks = np.array([1499, 0, 17, 899, 900, 16])
            sub = dask.engine.subset(picks)
            np.testing.assert_allclose(sub.X, memory.engine.X[picks], rtol=1e-12, atol=1e-12)
            np.testing.assert_array_equal(sub.sample_weight, w[picks])
            # blocks see their rows' global index as ``start``, as on the memory engine
            index = dask.engine.map_rows(lambda X, w, start: start + np.arange(len(X)))
            np.testing.assert_array_equal(index, np.arange(len(X)))
        finally:
            dask.close()


def test_result_does_not_depend_on_where_tasks_run(tmp_path, rng, cluster, client):
    X = blobs(rng, n=1000, d=3)
    _, parts = split_table(tmp_path, X, [0, 300, 600, 1000], w=weights_for(rng, len(X)))
    data = load_training_data(fit_request(parts, engine="dask", scheduler=cluster.scheduler_address,
                                          weight_column="w").data)
    try:
        engine = data.engine
        assert len(engine.ranges) == 2  # one task per worker
        fn = partial(block_statistics, params=random_params(rng, "full", k=2, d=3), shift=np.zeros(3))
        first = engine.reduce(fn)
        swapped = {a: b for a, b in zip(sorted(set(engine.workers)), sorted(set(engine.workers))[::-1])}
        engine.ranges = [(swapped[where], index) for where, index in engine.ranges]
        second = engine.reduce(fn)
        np.testing.assert_array_equal(second.moment, first.moment)
        assert second.log_likelihood == first.log_likelihood
    finally:
        data.close()


def test_partitions_go_to_workers_in_consecutive_runs_by_threads():
    assert dask_engine.assign_workers([1] * 6, {"b": 1, "a": 1}) == ["a"] * 3 + ["b"] * 3
    assert dask_engine.assign_workers([1] * 6, {"a": 2, "b": 1}) == ["a"] * 4 + ["b"] * 2
    assert dask_engine.assign_workers([10, 1, 1, 1], {"a": 1, "b": 1}) == ["a", "b", "b", "b"]
    assert dask_engine.assign_workers([1, 1], {"a": 1, "b": 1, "c": 1}) == ["a", "c"]
    assert dask_engine.assign_workers([1, 1], {}) == [None, None]


def test_bad_weights_on_dask_name_the_file_and_line(tmp_path, rng, cluster, run):
    X = blobs(rng, n=300, d=2)
    w = np.ones(300)
    w[150] = -2
    split_table(tmp_path, X, [0, 100, 300], w=w)
    for extra in ([], ["--max-memory", "1M"]):
        res = run("fit", str(tmp_path / "part-*.csv"), "-k", 2, "-w", "w", "--engine", "dask",
                  "--scheduler", cluster.scheduler_address, *extra)
        assert (res.code, res.err) == (65, f"gmmcli: error: {tmp_path}/part-1.csv: line 52, column 'w': "
                                            "negative weight -2\n")
    res = run("fit", str(tmp_path / "part-*.csv"), "-k", 2, "-w", "w", "-c", "a,w", "--engine", "dask",
              "--scheduler", cluster.scheduler_address)
    assert (res.code, res.err) == (2, "gmmcli: error: --weight-column 'w' is also selected as a feature by -c\n")


def test_noise_init_column_on_dask_equals_the_memory_engine(tmp_path, rng, cluster):
    X = np.vstack([blobs(rng, n=900, d=2, k=2), rng.uniform(-15, 15, size=(100, 2))])
    order = rng.permutation(len(X))
    flags = (np.arange(len(X)) >= 900).astype(int)[order]
    whole, parts = split_table(tmp_path, X[order], [0, 400, 1000], noise=flags, w=weights_for(rng, len(X)))
    common = dict(n_components=2, seed=3, tol=0, max_iter=10, noise=True, noise_init="noise", weight_column="w")
    memory = pipeline.fit(fit_request(whole, **common)).model
    dask = pipeline.fit(fit_request(parts, engine="dask", scheduler=cluster.scheduler_address, **common)).model
    assert_same_model(dask, memory)
    assert dask.params.noise.weight == pytest.approx(memory.params.noise.weight, rel=1e-9)


def test_weighted_select_on_dask_equals_local_select(tmp_path, rng, cluster):
    from gmmcli.pipeline.select import SelectRequest, select

    X = blobs(rng, n=600, d=2, k=2)
    whole, _ = split_table(tmp_path, X, [0, 600], w=weights_for(rng, len(X)))
    local = select(SelectRequest(fit=fit_request(whole, weight_column="w"), components=(1, 2), jobs=1))
    remote = select(SelectRequest(fit=fit_request(whole, weight_column="w", engine="dask",
                                                  scheduler=cluster.scheduler_address), components=(1, 2)))
    assert [c.row() for c in remote.cells] == [c.row() for c in local.cells]
    assert remote.document == local.document


def test_float32_on_dask_is_the_memory_engines(tmp_path, rng, cluster):
    X = blobs(rng, n=2000, d=3, k=3)
    whole, parts = split_table(tmp_path, X)
    common = dict(n_components=3, seed=2, tol=0, max_iter=8, dtype="float32")
    memory = pipeline.fit(fit_request(whole, **common)).model
    dask = pipeline.fit(fit_request(parts, engine="dask", scheduler=cluster.scheduler_address, **common)).model
    np.testing.assert_allclose(dask.params.means, memory.params.means, atol=1e-5)
    np.testing.assert_allclose(dask.params.covariances, memory.params.covariances, atol=1e-5)
    assert dask.settings["dtype"] == "float32"


def test_dask_workers_get_the_kernels_heap_back(client):
    """Dask's nanny fixes glibc's malloc thresholds (MALLOC_TRIM_THRESHOLD_); block work lifts them."""
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    assert set(client.run(lambda: dask_engine._fixed_threshold_libc() is not None).values()) == {True}
    assert set(client.run(_heap_round_trip).values()) == {0}


def _heap_round_trip():
    with dask_engine.heap_for_blocks():
        with dask_engine.heap_for_blocks():
            np.ones((4096, 512)).sum()
    return dask_engine._HEAP_USERS[0]


def test_cli_weighted_max_memory_fit_on_dask(tmp_path, rng, cluster, run):
    X = blobs(rng, n=900, d=2)
    w = weights_for(rng, len(X))
    split_table(tmp_path, X, [0, 450, 900], w=w)
    res = run("fit", str(tmp_path / "part-*.csv"), "-k", 2, "-w", "w", "--max-memory", "64M", "--engine", "dask",
              "--scheduler", cluster.scheduler_address, "-o", tmp_path / "m.json", "-q")
    assert res.code == 0, res.err
    model = read_model(str(tmp_path / "m.json"))
    assert model.log_likelihood["total_weight"] == pytest.approx(w.sum(), rel=1e-12)
    assert model.settings["weight_column"] == "w"
