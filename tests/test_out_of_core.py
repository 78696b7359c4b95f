"""The spool (out-of-core) engine gives the in-memory model; nothing is left behind."""

import os
from functools import partial

import numpy as np
import pytest

from gmmcli import pipeline
from gmmcli.core.init import initialize
from gmmcli.core.stats import block_statistics
from gmmcli.engines.memory import MemoryEngine
from gmmcli.cli import parse_size
from gmmcli.engines.spool import SpoolEngine, SpoolWriter
from gmmcli.io.model_file import read_model
from tests.helpers import COVARIANCE_TYPES, blobs, write_csv, write_model, fit_request


def spool(tmp_path, X, block_rows, pieces=7):
    writer = SpoolWriter(str(tmp_path / "s.f64"), X.shape[1], block_rows)
    for part in np.array_split(X, pieces):
        writer.write(part)
    writer.close()
    return SpoolEngine(str(tmp_path / "s.f64"), writer.n_samples, X.shape[1], block_rows, n_threads=2), writer


def test_spooled_statistics_equal_memory(tmp_path, rng):
    X = blobs(rng, n=1001, d=3)
    engine, writer = spool(tmp_path, X, block_rows=97)
    assert engine.n_samples == 1001
    from gmmcli.scaler import fit_scaler, scaler_from_moments

    np.testing.assert_allclose(scaler_from_moments(writer.moments, "abc").scale, fit_scaler(X, "abc").scale, rtol=1e-13)
    from tests.helpers import random_params

    params = random_params(rng, "full", k=3, d=3)
    fn = partial(block_statistics, params=params, shift=X.mean(axis=0))
    a, b = engine.reduce(fn), MemoryEngine(X).reduce(fn)
    np.testing.assert_allclose(a.moment, b.moment, rtol=1e-12)
    assert a.log_likelihood == pytest.approx(b.log_likelihood, rel=1e-13)
    rows = engine.sample_rows(50, np.random.default_rng(0))
    assert rows.shape == (50, 3) and all(any(np.array_equal(r, x) for x in X) for r in rows[:5])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_max_memory_fit_equals_in_memory_fit(tmp_path, rng, covariance_type):
    X = blobs(rng, n=3000, d=3, k=3) * [1, 10, 0.1] + [0, 100, -5]
    data = str(write_csv(tmp_path / "d.csv", X))
    start = initialize(MemoryEngine(X), 3, covariance_type, "kmeans++", rng, 1e-6, X.mean(axis=0))
    from gmmcli.scaler import fit_scaler

    init = str(write_model(tmp_path / "init.json", start, ["x0", "x1", "x2"], scaler=fit_scaler(X, ["x0", "x1", "x2"])))
    models = []
    for max_memory in (None, 1 << 20):
        request = fit_request(data, n_components=3, covariance_type=covariance_type,
                                      init_model=init, tol=0, max_iter=15, max_memory=max_memory)
        models.append(pipeline.fit(request).model)
    a, b = models
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(getattr(b.params, name), getattr(a.params, name), rtol=1e-9, atol=1e-9)
    assert b.log_likelihood["total"] == pytest.approx(a.log_likelihood["total"], rel=1e-9)


def test_spool_file_is_removed_after_success_and_failure(tmp_path, monkeypatch, rng):
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    monkeypatch.setenv("GMMCLI_TMPDIR", str(spool_dir))
    good = str(write_csv(tmp_path / "d.csv", blobs(rng, n=500)))
    pipeline.fit(fit_request(good, n_components=2, max_memory=1 << 20))
    bad = tmp_path / "bad.csv"
    bad.write_text(open(good).read() + "1,x\n")
    with pytest.raises(Exception):
        pipeline.fit(fit_request(str(bad), n_components=2, max_memory=1 << 20))
    assert os.listdir(spool_dir) == []


def test_cli_max_memory(tmp_path, run, rng):
    data = write_csv(tmp_path / "d.csv", blobs(rng, n=2000))
    res = run("fit", data, "-k", 3, "--max-memory", "64M", "-o", tmp_path / "m.json", "-q")
    assert res.code == 0, res.err
    assert read_model(str(tmp_path / "m.json")).n_samples == 2000
    res = run("fit", data, "-k", 3, "--max-memory", "lots")
    assert res.code == 2 and res.err == "gmmcli: error: --max-memory: not a size: 'lots' (examples: 256M, 2G)\n"


@pytest.mark.parametrize("text,value", [("256M", 256 << 20), ("2g", 2 << 30), ("1.5GiB", int(1.5 * (1 << 30))), ("4096", 4096)])
def test_parse_size(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_is_close_to_float64(tmp_path, rng, covariance_type):
    X = blobs(rng, n=4000, d=3, k=3)
    data = str(write_csv(tmp_path / "d.csv", X))
    models = [pipeline.fit(fit_request(data, n_components=3, covariance_type=covariance_type,
                                               tol=0, max_iter=10, dtype=dtype)).model
              for dtype in ("float64", "float32")]
    a, b = models
    np.testing.assert_allclose(b.params.means, a.params.means, atol=1e-4)
    np.testing.assert_allclose(b.params.covariances, a.params.covariances, atol=1e-4)
    assert b.log_likelihood["mean"] == pytest.approx(a.log_likelihood["mean"], rel=1e-5)
    assert b.settings["dtype"] == "float32"


def test_every_engine_implements_the_protocol_and_samples_the_same_rows(tmp_path, rng):
    from gmmcli.engines.base import Engine
    from gmmcli.engines.memory import MemoryEngine

    X = blobs(rng, n=1000, d=3)
    memory = MemoryEngine(X)
    writer = SpoolWriter(str(tmp_path / "s.f64"), 3, 64)
    writer.write(X)
    writer.close()
    spool = SpoolEngine(str(tmp_path / "s.f64"), 1000, 3, 64)
    for engine in (memory, spool, memory.subset(np.arange(10)), spool.subset(np.arange(10)), spool.with_threads(1)):
        assert isinstance(engine, Engine)
    for n in (5, 200, 5000):
        a = memory.sample_rows(n, np.random.default_rng(3))
        b = spool.sample_rows(n, np.random.default_rng(3))
        np.testing.assert_array_equal(a, b)
    rows = np.array([999, 0, 500, 64, 63])
    np.testing.assert_array_equal(spool.subset(rows).X, X[rows])
    spool.close()
    assert not (tmp_path / "s.f64").exists()
