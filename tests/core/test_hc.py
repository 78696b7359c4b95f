"""gmmcli.core.hc (model-based hierarchical clustering) against R's mclust 6.0.0.

The fixtures ``tests/fixtures/mclust/hc_*.json`` are written by
``sample_data/make_hc_fixtures.R`` (mclust 6.0.0); these tests need no R. For faithful, iris
and the first 60 rows of each:

- ``svd_transform`` equals the data hc(use = "SVD") clusters (up to each singular vector's
  sign, which LAPACK chooses and no hc cost depends on);
- from mclust's own transformed data, our VVV tree (and the EII tree of the raw data, and the
  VVV tree from dupPartition) equals mclust's merge for merge, costs included; from our own
  SVD too (costs to rounding);
- ``hc_partition`` equals hclass for k = 1..9, ``hc_labels`` equals mclustBIC's starting
  partitions, ``quantile_classes`` equals qclass, ``duplicate_partition`` dupPartition.

mclust's hcVVV files a merged cluster's Cholesky factor away keeping only its first row;
``test_as_mclust_reproduces_the_stored_first_row`` shows where that matters and that
``as_mclust=False`` gives the published criterion.
"""

from __future__ import annotations

import csv
import json
import os
import time
import tracemalloc
from functools import lru_cache

import numpy as np
import pytest

from gmmcli.core import hc
from gmmcli.errors import DataError, UsageError
from tests.helpers import ROOT

FIXTURES = os.path.join(ROOT, "tests", "fixtures", "mclust")
DATASETS = ("faithful", "iris", "faithful60", "iris60")
TREES = ("vvv", "eii", "vvv_dup")
KS = range(1, 10)


@lru_cache(maxsize=None)
def fixture(name: str) -> dict:
    with open(os.path.join(FIXTURES, f"hc_{name}.json"), encoding="utf-8") as fh:
        return json.load(fh)


@lru_cache(maxsize=None)
def data(name: str) -> np.ndarray:
    """The numeric columns of the CSV the fixture was made from (first 60 rows for *60)."""
    with open(os.path.join(ROOT, "sample_data", name.replace("60", "") + ".csv"), encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    columns = fixture(name)["columns"]
    index = [rows[0].index(c) for c in columns]
    X = np.array([[float(r[i]) for i in index] for r in rows[1:]])
    X = X[:60] if name.endswith("60") else X
    X.setflags(write=False)
    return X


def mclust_tree(name: str, key: str) -> np.ndarray:
    return np.array(fixture(name)[key]["merges"]) - 1


def tree_input(name: str, key: str):
    """(data, model, partition) as mclust's hc call for that tree."""
    f = fixture(name)
    if key == "eii":
        return data(name), "EII", None
    partition = hc.duplicate_partition(data(name)) if key == "vvv_dup" else None
    return np.array(f["svd"]), "VVV", partition


def members(tree: np.ndarray, n: int, steps: int) -> np.ndarray:
    """Each row's cluster (its smallest row) after the first ``steps`` merges."""
    root = np.arange(n)
    for i, j in tree[:steps][::-1]:
        root[j] = root[i]
    return root


# ------------------------------------------------------------------ against mclust
@pytest.mark.parametrize("name", DATASETS)
def test_svd_transform_equals_mclust(name):
    Z = hc.svd_transform(data(name))
    expected = np.array(fixture(name)["svd"])
    assert Z.shape == expected.shape
    signs = np.sign(np.sum(Z * expected, axis=0))
    np.testing.assert_allclose(Z * signs, expected, rtol=0, atol=1e-13)


@pytest.mark.parametrize("name", DATASETS)
def test_vvv_alpha_is_mclusts_to_the_bit(name):
    assert hc._vvv_alpha(np.array(fixture(name)["svd"])) == fixture(name)["alpha"]


@pytest.mark.parametrize("key", TREES)
@pytest.mark.parametrize("name", DATASETS)
def test_tree_equals_mclust(name, key):
    Z, model, partition = tree_input(name, key)
    tree, costs = hc.hc_tree(Z, model, partition=partition, return_costs=True)
    np.testing.assert_array_equal(tree, mclust_tree(name, key))
    np.testing.assert_allclose(costs, fixture(name)[key]["costs"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", DATASETS)
def test_tree_from_our_svd_equals_mclust(name):
    tree, costs = hc.hc_tree(hc.svd_transform(data(name)), "VVV", return_costs=True)
    np.testing.assert_array_equal(tree, mclust_tree(name, "vvv"))
    np.testing.assert_allclose(costs, fixture(name)["vvv"]["costs"], rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("key", TREES)
@pytest.mark.parametrize("name", DATASETS)
def test_partitions_equal_hclass(name, key):
    _, _, partition = tree_input(name, key)
    n = len(data(name))
    for k in KS:
        labels = hc.hc_partition(mclust_tree(name, key), n, k, partition=partition)
        np.testing.assert_array_equal(labels, np.array(fixture(name)[key]["partitions"][str(k)]) - 1)


@pytest.mark.parametrize("name", DATASETS)
def test_hc_labels_are_mclustbics_starting_partitions(name):
    labels = hc.hc_labels(data(name), KS)
    assert sorted(labels) == list(KS)
    for k in KS:
        np.testing.assert_array_equal(labels[k], np.array(fixture(name)["vvv"]["partitions"][str(k)]) - 1)


@pytest.mark.parametrize("name", DATASETS)
def test_duplicate_partition_equals_dupPartition(name):
    expected = np.array(fixture(name)["vvv_dup"]["initial_partition"]) - 1
    np.testing.assert_array_equal(hc.duplicate_partition(data(name)), expected)


def test_quantile_classes_equal_qclass():
    waiting = data("faithful")[:, 1]
    for k in KS:
        expected = np.array(fixture("qclass")["qclass"][str(k)]) - 1
        np.testing.assert_array_equal(hc.quantile_classes(waiting, k), expected)


def test_one_column_gets_quantile_classes():
    waiting = data("faithful")[:, [1]]
    labels = hc.hc_labels(waiting, [2, 3, 4])
    for k in (2, 3, 4):
        np.testing.assert_array_equal(labels[k], np.array(fixture("qclass")["qclass"][str(k)]) - 1)


# ------------------------------------------------------------------ what the fixtures show
def test_duplicate_rows_tie_and_mclusts_order_breaks_the_tie():
    """hc(X) does not pre-merge duplicates (its dupPartition default is never used). Every
    pair of equal rows costs the same, the least two rows can; mclust merges the last such
    pair in its packed order (largest second row) first. Under Ward they cost 0, so faithful's
    16 duplicate pairs are EII's first 16 merges."""
    X = data("faithful")
    _, first, counts = np.unique(X, axis=0, return_index=True, return_counts=True)
    pairs = sorted(tuple(np.flatnonzero((X == X[i]).all(axis=1))) for i in first[counts == 2])
    assert len(pairs) == 16 and np.all(counts <= 2)
    tree, costs = hc.hc_tree(hc.svd_transform(X), "VVV", return_costs=True)
    assert tuple(tree[0]) == max(pairs, key=lambda ij: ij[1]) == (182, 263)
    np.testing.assert_allclose(costs[0], -2 * np.log(2), rtol=1e-14)
    tree, costs = hc.hc_tree(X, "EII", return_costs=True)
    assert sorted(map(tuple, tree[:16])) == pairs
    np.testing.assert_array_equal(costs[:16], 0.0)
    assert costs[16] > 0


def brute_force_vvv_cost(Z, rows_a, rows_b, alpha):
    """T(a ∪ b) − T(a) − T(b), T(C) = n log(|W/n| + (tr W + α)/n) (n > p) from the rows."""
    p = Z.shape[1]

    def term(rows):
        Y = Z[rows]
        n = len(Y)
        C = Y - Y.mean(axis=0)
        W = C.T @ C
        c = (np.trace(W) + alpha) / n
        return n * np.log(c if n <= p else np.linalg.det(W / n) + c)

    return term(np.r_[rows_a, rows_b]) - term(rows_a) - term(rows_b)


def test_as_mclust_reproduces_the_stored_first_row():
    """On faithful, mclust's costs follow the published criterion exactly until the first merge
    of two clusters of several rows each (merge 256), where its stored factor (first row only)
    changes them; as_mclust=False follows the criterion throughout (its tree may differ)."""
    Z = np.array(fixture("faithful")["svd"])
    n = len(Z)
    alpha = hc._vvv_alpha(Z)
    for as_mclust in (True, False):
        tree, costs = hc.hc_tree(Z, "VVV", as_mclust=as_mclust, return_costs=True)
        brute = np.empty(n - 1)
        first_pair_of_clusters = None
        for step, (i, j) in enumerate(tree):
            root = members(tree, n, step)
            rows_a, rows_b = np.flatnonzero(root == i), np.flatnonzero(root == j)
            if first_pair_of_clusters is None and len(rows_a) > 1 and len(rows_b) > 1:
                first_pair_of_clusters = step
            brute[step] = brute_force_vvv_cost(Z, rows_a, rows_b, alpha)
        if as_mclust:
            assert first_pair_of_clusters == 255
            s = first_pair_of_clusters
            np.testing.assert_allclose(costs[:s], brute[:s], rtol=1e-9, atol=1e-9)
            assert abs(costs[s] - brute[s]) > 1e-3
            np.testing.assert_array_equal(costs, fixture("faithful")["vvv"]["costs"])
        else:
            np.testing.assert_allclose(costs, brute, rtol=1e-9, atol=1e-9)


def test_ward_costs_are_the_increase_in_within_sum_of_squares():
    X = data("faithful60")
    tree, costs = hc.hc_tree(X, "EII", return_costs=True)
    for step, (i, j) in enumerate(tree):
        root = members(tree, len(X), step)
        A, B = X[root == i], X[root == j]
        expected = len(A) * len(B) / (len(A) + len(B)) * np.sum((A.mean(0) - B.mean(0)) ** 2)
        np.testing.assert_allclose(costs[step], expected, rtol=1e-9)


# ------------------------------------------------------------------ invariants
@pytest.mark.parametrize("model", ["VVV", "EII"])
def test_partitions_are_nested_and_numbered_by_first_appearance(rng, model):
    X = np.r_[rng.normal(size=(40, 3)), rng.normal(loc=5, size=(30, 3))]
    labels = hc.hc_labels(X, range(1, 71), model=model)
    for k in range(1, 71):
        lab = labels[k]
        assert lab.shape == (70,) and lab.dtype == np.int64
        _, first = np.unique(lab, return_index=True)
        np.testing.assert_array_equal(lab[np.sort(first)], np.arange(k))  # 0..k-1, in order
        if k > 1:  # each of the k groups lies inside one of the k - 1 groups
            coarse = labels[k - 1]
            assert all(len(np.unique(coarse[lab == g])) == 1 for g in range(k))
    np.testing.assert_array_equal(labels[70], np.arange(70))


def test_model_names_in_any_spelling_the_table_accepts():
    X = data("faithful60")
    Z = hc.svd_transform(X)
    np.testing.assert_array_equal(hc.hc_tree(Z, "full"), mclust_tree("faithful60", "vvv"))
    np.testing.assert_array_equal(hc.hc_tree(Z), mclust_tree("faithful60", "vvv"))
    np.testing.assert_array_equal(hc.hc_tree(X, "eii"), mclust_tree("faithful60", "eii"))
    one_column = X[:, [0]]  # mclust's hcE is Ward's criterion in one column
    np.testing.assert_array_equal(hc.hc_tree(one_column, "E"), hc.hc_tree(one_column, "EII"))


def test_few_rows_use_eii_as_mclustbic_does():
    X = np.arange(12.0).reshape(3, 4) ** 1.5  # n <= d: mclustBIC's hc(..., "EII")
    labels = hc.hc_labels(X, [1, 2, 3])
    Z = hc.svd_transform(X)
    np.testing.assert_array_equal(labels[2], hc.hc_partition(hc.hc_tree(Z, "EII"), 3, 2))


def test_at_2000_rows(rng, record_property):
    """mclust's subset size; a note, not a timed assertion. Measured: VVV with the SVD
    transform about 1.6 s and 75-95 MB, EII 0.4 s and 65 MB (2 CPUs; mclust's Fortran 1.6 s
    and 1.4 s). Memory is the 8 n² cost matrix plus blocks of 2²¹ numbers: the peak (traced
    for EII, as tracemalloc triples VVV's time) stays below four cost matrices."""
    n = 2000
    truth = rng.integers(0, 4, n)
    X = rng.normal(scale=4, size=(4, 4))[truth] + rng.normal(size=(n, 4))
    start = time.perf_counter()
    labels = hc.hc_labels(X, [4])[4]
    record_property("hc_vvv_2000_seconds", round(time.perf_counter() - start, 2))
    table = np.zeros((4, 4), dtype=int)
    np.add.at(table, (labels, truth), 1)
    assert table.max(axis=1).sum() > 0.75 * n  # four groups, mostly the true ones
    tracemalloc.start()
    tree = hc.hc_tree(X, "EII")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    record_property("hc_eii_2000_peak_mib", round(peak / 2**20))
    assert tree.shape == (n - 1, 2)
    assert 8 * n * n < peak < 4 * 8 * n * n


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda X: hc.hc_tree(X, "VVI"), UsageError,
         "hierarchical clustering: no criterion for model 'VVI'; it knows VVV (also called full) and EII"),
        (lambda X: hc.hc_labels(X, [2], model="XYZ"), UsageError,
         "hierarchical clustering: no criterion for model 'XYZ'; it knows VVV (also called full) and EII"),
        (lambda X: hc.transform_for_hc(X, "PCS"), UsageError,
         "hierarchical clustering: unknown use 'PCS'; expected one of SVD, STD, VARS"),
        (lambda X: hc.hc_labels(X, [0]), UsageError,
         "hierarchical clustering: cannot cut 60 rows into 0 groups"),
        (lambda X: hc.hc_partition(hc.hc_tree(X, "EII"), 60, 61), UsageError,
         "hierarchical clustering: cannot cut 60 groups into 61"),
        (lambda X: hc.hc_partition(np.zeros((3, 2), dtype=int), 60, 2), UsageError,
         "hierarchical clustering: a tree of 3 merges does not fit 60 groups"),
        (lambda X: hc.hc_tree(X, partition=[0, 1]), UsageError,
         "hierarchical clustering: the partition has 2 labels for 60 rows"),
        (lambda X: hc.hc_tree(np.where(X == X[0, 0], np.nan, X)), DataError,
         "hierarchical clustering: the data contain missing or non-finite values"),
        (lambda X: hc.svd_transform(np.ones_like(X)), DataError,
         "hierarchical clustering: every column is constant"),
        (lambda X: hc.quantile_classes([1.0, 1.0, 2.0], 2), DataError,
         "quantile classes: 2 distinct values cannot give 2 classes"),
        (lambda X: hc.quantile_classes(X[:, 0], 0), UsageError,
         "quantile classes: k must be at least 1, got 0"),
    ],
)
def test_errors(call, error, message):
    with pytest.raises(error) as excinfo:
        call(np.array(data("faithful60")))
    assert str(excinfo.value) == message


def test_core_hc_imports_only_numpy():
    import subprocess
    import sys

    code = ("import sys, gmmcli.core.hc;"
            "print(sorted(m for m in ('scipy', 'pandas', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
