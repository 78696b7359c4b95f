"""The data rows behind an mclust fixture (checked against the column sums mclust saw)."""

import csv
import os

import numpy as np

from tests.helpers import ROOT


def fixture_rows(fx: dict) -> np.ndarray:
    """The fixture's columns of its source CSV, shape (n, d)."""
    with open(os.path.join(ROOT, fx["source"]), newline="") as f:
        rows = list(csv.DictReader(f))
    X = np.array([[float(row[c]) for c in fx["columns"]] for row in rows])
    assert X.shape == (fx["n"], fx["d"])
    if "column_sums" in fx:
        np.testing.assert_allclose(X.sum(axis=0), fx["column_sums"], rtol=1e-12)
    return X
