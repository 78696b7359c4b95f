"""Writing per-row predictions as CSV (pyarrow's writer), JSON Lines, Parquet or Arrow."""

from __future__ import annotations

import csv
import io
import json
from typing import Callable, Optional, Sequence

import numpy as np

OUTPUT_FIELDS = ("prob", "label", "log_likelihood", "uncertainty")
NOISE_LABEL = -1  # the label of a row the noise component claims


def labels_of(resp: np.ndarray, n_components: int) -> np.ndarray:
    """predict's labels: the most probable component, and -1 where the noise (the column after
    the K Gaussians) is the most probable."""
    labels = resp.argmax(axis=1).astype(np.int64)
    return np.where(labels >= n_components, NOISE_LABEL, labels)


class PredictionWriter:
    """Formats blocks of predictions and hands the bytes to ``sink``.

    Columns: the kept input columns (as text), then ``fields`` in the order given
    (``prob`` is ``prob_0`` … ``prob_{K-1}``, and ``prob_noise`` with a noise component, whose
    rows get ``label`` −1), then ``outlier`` (1 when log_likelihood < ``outlier_threshold``)
    if a threshold is given.
    The CSV header is written at once, so an input with no rows still gives it. With
    ``output_format`` "parquet" or "arrow", ``format`` returns the columns themselves,
    for a :class:`~gmmcli.io.columnar.ColumnarWriter`.
    """

    def __init__(self, sink: Callable[[bytes], None], output_format: str,
                 keep_names: Sequence[str], n_components: int, fields: Sequence[str],
                 outlier_threshold: Optional[float] = None, noise: bool = False):
        self.sink = sink
        self.n_components = n_components
        self.output_format = output_format
        self.keep_names = list(keep_names)
        self.fields = output_fields(fields, outlier_threshold is not None)
        self.outlier_threshold = outlier_threshold
        self.columns = prediction_columns(keep_names, n_components, fields, outlier_threshold is not None, noise)
        if output_format == "csv":
            self.sink(csv_header(self.columns))

    def _values(self, resp: np.ndarray, log_likelihood: np.ndarray) -> list:
        values = []
        for f in self.fields:
            if f == "prob":
                values.extend(resp[:, k] for k in range(resp.shape[1]))
            elif f == "label":
                values.append(labels_of(resp, self.n_components))
            elif f == "log_likelihood":
                values.append(log_likelihood)
            elif f == "outlier":
                values.append((log_likelihood < self.outlier_threshold).astype(np.int64))
            else:
                values.append(1.0 - resp.max(axis=1))
        return values

    def format(self, keep: list, resp: np.ndarray, log_likelihood: np.ndarray) -> bytes:
        """The bytes of one block of rows (thread-safe: touches no state)."""
        values = self._values(resp, log_likelihood)
        if self.output_format == "csv":
            return csv_rows(self.columns, list(keep) + values)
        if self.output_format == "jsonl":
            return _jsonl_rows(self.columns, [k.to_pylist() for k in keep] + [v.tolist() for v in values])
        return list(keep) + values

    def write(self, keep: list, resp: np.ndarray, log_likelihood: np.ndarray) -> None:
        self.sink(self.format(keep, resp, log_likelihood))


def output_fields(fields: Sequence[str], outlier: bool) -> list:
    """The fields in the order asked for (repeats dropped), then ``outlier`` when flagged."""
    return list(dict.fromkeys(fields)) + (["outlier"] if outlier else [])


def prediction_columns(keep_names: Sequence[str], n_components: int, fields: Sequence[str], outlier: bool,
                       noise: bool = False) -> list:
    """The output's column names: the kept columns, then the fields (``prob`` → prob_0 … prob_{K-1},
    then prob_noise with a noise component)."""
    names = list(keep_names)
    probs = [f"prob_{k}" for k in range(n_components)] + (["prob_noise"] if noise else [])
    for f in output_fields(fields, outlier):
        names.extend(probs if f == "prob" else [f])
    return names


def csv_header(names: list) -> bytes:
    """A CSV header line, quoted only where needed."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(names)
    return buf.getvalue().encode("utf-8")


def csv_rows(names: list, columns: list) -> bytes:
    """CSV rows (no header) of equally long columns (numpy arrays or pyarrow arrays)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pa.Table.from_arrays(columns, names=names)
    buf = io.BytesIO()
    try:
        pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    except pa.ArrowInvalid:  # a kept text value needs quoting
        buf = io.BytesIO()
        pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return buf.getvalue()


def _jsonl_rows(names: list, columns: list) -> bytes:
    lines = [json.dumps(dict(zip(names, row)), allow_nan=False) for row in zip(*columns)]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
