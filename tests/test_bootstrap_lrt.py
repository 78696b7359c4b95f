"""`select --lrt`: the sequential bootstrap likelihood-ratio test in select's table, CSV, JSON and
model file; stopping at the first k not rejected; determinism; usage errors."""

from __future__ import annotations

import csv
import io
import json
import os
import re

import pytest

from gmmcli import render
from gmmcli.io.model_file import dumps_model, read_model
from tests.helpers import ROOT, SAMPLE

WALK = os.path.join(SAMPLE, "walkthrough.csv")
FAITHFUL = os.path.join(SAMPLE, "faithful.csv")
SELECT = ["select", WALK, "-k", "1-3", "--covariance", "VVV", "--n-init", "1", "--lrt", "--replicates", "19", "-q"]


def table(out: bytes) -> list:
    return list(csv.DictReader(io.StringIO(out.decode())))


def test_lrt_columns_and_the_sequential_stop(run, tmp_path):
    result = run(*SELECT, "--format", "csv", "-o", tmp_path / "best.json")
    assert result.code == 0, result.err
    rows = table(result.out)
    assert list(rows[0])[-2:] == ["lrt_statistic", "lrt_p_value"]
    p = [r["lrt_p_value"] for r in rows]
    # three clusters: 1 vs 2 and 2 vs 3 rejected (p = 1/20, the smallest 19 replicates give); k = 3 has no next k
    assert p == ["0.05", "0.05", ""]
    assert float(rows[0]["lrt_statistic"]) == pytest.approx(
        2 * (float(rows[1]["log_likelihood"]) - float(rows[0]["log_likelihood"])), rel=1e-12)
    model = read_model(str(tmp_path / "best.json"))
    assert model.selection["lrt"] == {"replicates": 19, "level": 0.05, "all": False}
    assert [r["lrt_p_value"] for r in model.selection["rows"]] == [0.05, 0.05, None]
    assert dumps_model(model) == (tmp_path / "best.json").read_bytes()


def test_lrt_stops_at_the_first_k_not_rejected_unless_all(run):
    stopped = table(run(*SELECT, "-k", "2-4", "--lrt-level", "0.01", "--format", "csv").out)
    assert [r["lrt_p_value"] != "" for r in stopped] == [True, False, False]  # 2 vs 3: p = 0.05 > 0.01
    every = table(run(*SELECT, "-k", "2-4", "--lrt-level", "0.01", "--lrt-all", "--format", "csv").out)
    assert [r["lrt_p_value"] != "" for r in every] == [True, True, False]
    assert every[0]["lrt_p_value"] == stopped[0]["lrt_p_value"]  # a test's replicates do not depend on the others


def test_same_seed_same_lrt_for_any_jobs(run):
    outputs = []
    for jobs in ("1", "2"):
        rows = json.loads(run(*SELECT, "-k", "2-3", "--format", "json", "-j", jobs).out)
        outputs.append([(r["k"], r["lrt_statistic"], r["lrt_p_value"]) for r in rows])
    assert outputs[0] == outputs[1]


def test_faithful_one_against_two_is_mclusts_statistic(run):
    fx = json.load(open(os.path.join(ROOT, "tests", "fixtures", "mclust", "bootstrap_lrt_faithful_vvv.json")))
    rows = table(run("select", FAITHFUL, "-k", "1-2", "--covariance", "VVV", "--lrt", "--replicates", "9", "-q",
                     "--format", "csv").out)
    assert float(rows[0]["lrt_statistic"]) == pytest.approx(fx["obs"][0], rel=1e-6)
    assert rows[0]["lrt_p_value"] == "0.1"  # 1 / (9 + 1): every bootstrap statistic is smaller


def test_terminal_table_shows_the_test_and_each_models_k():
    rows = [
        {"k": k, "covariance_type": "full", "log_likelihood": -100.0 + k, "n_parameters": 5 * k, "bic": 10.0 - k,
         "aic": 1.0, "icl": 1.0, "holdout": None, "converged": True, "n_iter": 3, "seconds": 0.1, "wins": 0,
         "best": k == 3, "error": None, "lrt_statistic": s, "lrt_p_value": p}
        for k, s, p in ((1, 50.5, 0.001), (2, 12.25, 0.02), (3, 1.5, 0.6), (4, None, None))
    ]
    text = render.select_table(rows, "bic", {"replicates": 999, "level": 0.05, "all": False})
    assert "LRT vs next" in text.splitlines()[0]
    assert re.search(r"^ +2 +full .* 12\.250 +0\.02$", text, re.M)
    assert "bootstrap LRT of k against the next k (999 replicates, level 0.05; mclust's mclustBootstrapLRT):" in text
    assert "  full: k=3  (1: p=0.001, 2: p=0.02, 3: p=0.6)" in text
    assert "LRT" not in render.select_table(rows, "bic")


@pytest.mark.parametrize("args,message", [
    (["--prior"], "--lrt compares likelihoods: it does not take --prior"),
    (["--replicates", "0"], "--replicates must be at least 1 (got 0)"),
    (["--lrt-level", "1"], "--lrt-level must be between 0 and 1 (got 1.0)"),
])
def test_lrt_usage_errors(run, args, message):
    result = run(*SELECT, *args)
    assert result.code == 2 and result.err == f"gmmcli: error: {message}\n"
