"""`gmmcli sample`: draw rows from a model, in original units and column names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from gmmcli.core.sampling import sample as draw
from gmmcli.errors import UsageError
from gmmcli.io.atomic import output_file
from gmmcli.io.model_file import read_model
from gmmcli.io.columnar import table_output
from gmmcli.io.predictions import csv_header, csv_rows

SAMPLE_BLOCK = 100_000


@dataclass(frozen=True)
class SampleRequest:
    model: str
    n_samples: int
    seed: int = 0
    labels: bool = False
    output: Optional[str] = None


def noise_sampler(model):
    """Rows from the model's noise box (original units), standardized as the model's space."""
    if model.noise_box is None:
        return None
    return lambda n, rng: model.scaler.transform(model.noise_box.sample(n, rng))


def sample(req: SampleRequest, sink: Callable[[bytes], None]) -> int:
    """Write ``n_samples`` rows as CSV to ``sink`` (or ``req.output``: Parquet or Arrow by its
    extension, else CSV), in blocks of 100 000.

    The same model, n and seed give the same bytes.
    """
    if req.n_samples < 0:
        raise UsageError(f"-n must be >= 0 (got {req.n_samples})")
    if req.seed < 0:
        raise UsageError(f"--seed must be >= 0 (got {req.seed})")
    with output_file(req.output) as out:
        model = read_model(req.model)
        names = list(model.feature_names) + (["component"] if req.labels else [])
        table = table_output(out, req.output, names)
        write = out.write if out else sink
        if model.has_header and table is None:
            write(csv_header(names))
        rng = np.random.default_rng(req.seed)
        done = 0
        while done < req.n_samples:
            n = min(SAMPLE_BLOCK, req.n_samples - done)
            Z, labels = draw(model.params, n, rng, draw_noise=noise_sampler(model))
            X = model.scaler.inverse_transform(Z)
            columns = [X[:, j] for j in range(X.shape[1])] + ([labels.astype(np.int64)] if req.labels else [])
            if table is None:
                write(csv_rows(names, columns))
            else:
                table.write(columns)
            done += n
        if table is not None:
            table.close()
    return req.n_samples
