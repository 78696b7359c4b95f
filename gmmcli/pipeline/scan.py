"""One streaming pass over an input under a model: what `summary`, `plot` and `report` show of it.

Every row is scored exactly as ``gmmcli predict`` scores it (the same :func:`score_block`), so
the classification counts here are the counts of predict's ``label`` column. Memory stays
bounded whatever the input's size: the rows are read in blocks, only running totals are
kept, and a fixed-size random sample of rows is kept for drawing.

The drawing sample is a *bottom-k sample*: every row gets a key from one seeded random
stream, in row order, and the ``max_points`` rows with the smallest keys are kept. That is a
uniform sample without replacement, and the same rows for the same seed whatever the block
sizes (a generator's stream of doubles does not depend on how it is split into calls).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Optional

import numpy as np

from gmmcli.io.csv_reader import CsvFormat
from gmmcli.io.model_file import Model
from gmmcli.io.predictions import NOISE_LABEL, labels_of
from gmmcli.parallel import default_threads, ordered_map
from gmmcli.pipeline.predict import PREDICT_BLOCK_BYTES, open_for_model, outlier_threshold, score_block

@dataclass(frozen=True)
class DrawSample:
    """The rows kept for drawing, in input order.

    Attributes
    ----------
    X : ndarray of shape (n_shown, n_features), original units
    labels : ndarray of shape (n_shown,), int; -1 for noise
    uncertainty : ndarray of shape (n_shown,), 1 − max probability
    row_numbers : ndarray of shape (n_shown,), 0-based data row of each
    n_rows : int
        Rows the sample was drawn from (complete rows only: a row with a missing cell
        has no place in a scatter plot).
    seed : int
    """

    X: np.ndarray
    labels: np.ndarray
    uncertainty: np.ndarray
    row_numbers: np.ndarray
    n_rows: int
    seed: int

    @property
    def n_shown(self) -> int:
        return len(self.X)


@dataclass(frozen=True)
class InputScan:
    """Totals over every row of an input, and the drawing sample.

    ``counts[k]`` is the number of rows whose label (predict's argmax) is k; ``noise_rows``
    those labelled -1. ``entropy`` is −Σᵢ Σₖ rᵢₖ ln rᵢₖ (for ICL). ``n_outliers`` counts rows
    whose log-likelihood is below ``outlier_threshold`` (None without a threshold).
    """

    name: str
    n_rows: int
    counts: np.ndarray
    noise_rows: int
    mean_uncertainty: float
    max_uncertainty: float
    entropy: float
    incomplete_rows: int
    outlier_quantile: Optional[float]
    outlier_threshold: Optional[float]
    n_outliers: Optional[int]
    sample: DrawSample


class _BottomK:
    """The ``size`` rows with the smallest random keys seen so far (see the module's note)."""

    def __init__(self, size: int, seed: int):
        self.size, self.seed = size, seed
        self.rng = np.random.default_rng(seed)
        self.seen = 0
        self.keys = np.empty(0)
        self.parts: tuple = (np.empty((0, 0)), np.empty(0, int), np.empty(0), np.empty(0, int))

    def add(self, X: np.ndarray, labels: np.ndarray, uncertainty: np.ndarray) -> None:
        keys = self.rng.random(len(X))  # drawn for every row, so later keys do not depend on `size`
        rows = np.arange(self.seen, self.seen + len(X))
        self.seen += len(X)
        if self.size == 0:
            return
        first = self.parts[0] if len(self.keys) else np.empty((0, X.shape[1]))
        keys = np.concatenate([self.keys, keys])
        parts = (np.concatenate([first, X]), np.concatenate([self.parts[1], labels]),
                 np.concatenate([self.parts[2], uncertainty]), np.concatenate([self.parts[3], rows]))
        if len(keys) > self.size:
            keep = np.argpartition(keys, self.size - 1)[: self.size]
            keys, parts = keys[keep], tuple(p[keep] for p in parts)
        self.keys, self.parts = keys, parts

    def sample(self, n_features: int) -> DrawSample:
        order = np.argsort(self.parts[3], kind="stable")
        X, labels, uncertainty, rows = (p[order] for p in self.parts)
        X = X if len(X) else np.empty((0, n_features))
        return DrawSample(X, labels.astype(int), uncertainty, rows.astype(int), self.seen, self.seed)


def _score(model: Model, block) -> tuple:
    """(raw rows, log-likelihood in original units, responsibilities) of one block."""
    log_likelihood, resp = score_block(model, block.X)
    return block.X, log_likelihood, resp


class _Tally:
    """Running totals of a scan (one per scan; never shared)."""

    def __init__(self, model: Model, threshold: Optional[float], max_points: int, seed: int):
        self.k, self.threshold = model.n_components, threshold
        self.n_rows = self.noise_rows = self.incomplete = self.outliers = 0
        self.counts = np.zeros(self.k, dtype=np.int64)
        self.sum_uncertainty = self.max_uncertainty = self.entropy = 0.0
        self.sampler = _BottomK(max_points, seed)

    def add(self, X: np.ndarray, log_likelihood: np.ndarray, resp: np.ndarray) -> None:
        labels = labels_of(resp, self.k)
        uncertainty = 1.0 - resp.max(axis=1)
        self.n_rows += len(X)
        self.counts += np.bincount(labels[labels >= 0], minlength=self.k)
        self.noise_rows += int((labels == NOISE_LABEL).sum())
        self.sum_uncertainty += float(uncertainty.sum())
        self.max_uncertainty = max(self.max_uncertainty, float(uncertainty.max(initial=0.0)))
        with np.errstate(divide="ignore", invalid="ignore"):
            self.entropy -= float(np.where(resp > 0, resp * np.log(resp), 0.0).sum())
        if self.threshold is not None:
            self.outliers += int((log_likelihood < self.threshold).sum())
        complete = ~np.isnan(X).any(axis=1)
        self.incomplete += int((~complete).sum())
        self.sampler.add(X[complete], labels[complete], uncertainty[complete])


def scan_input(model: Model, inputs, fmt: Optional[CsvFormat] = None, *, max_points: int = 10_000,
               seed: int = 0, outlier_quantile: Optional[float] = None, missing: bool = False,
               block_bytes: int = PREDICT_BLOCK_BYTES) -> InputScan:
    """Score every row of ``inputs`` under ``model`` (as predict does), keeping totals and a sample.

    Parameters
    ----------
    inputs : str or sequence of str
        Paths, globs or ``-``, read as predict reads them (the model's columns, by name).
    max_points : int
        Size of the drawing sample (0: none).
    missing : bool
        Read empty cells and NA tokens as missing (rows scored on their observed cells,
        and left out of the drawing sample) instead of refusing them.
    """
    threshold = None if outlier_quantile is None else outlier_threshold(model, outlier_quantile)
    reader, selected, _ = open_for_model(model, inputs, fmt, None, block_bytes)
    tally = _Tally(model, threshold, max_points, seed)
    try:
        for X, log_likelihood, resp in ordered_map(partial(_score, model), reader.blocks(selected, missing=missing),
                                                   default_threads()):
            tally.add(X, log_likelihood, resp)
    finally:
        reader.close()
    n = tally.n_rows
    return InputScan(
        reader.name, n, tally.counts, tally.noise_rows, tally.sum_uncertainty / n if n else 0.0,
        tally.max_uncertainty, tally.entropy, tally.incomplete, outlier_quantile, threshold,
        tally.outliers if threshold is not None else None, tally.sampler.sample(len(model.feature_names)),
    )
