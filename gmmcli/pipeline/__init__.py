"""The application layer: one module per command, requests in, values out, printing nothing.

read → scale → engine → EM → result. A :class:`DataRequest` (inputs, reader options,
columns, weights, missing values, engine) is nested in fit's and select's requests;
``data`` turns it into :class:`TrainingData` (the rows behind an engine, their scaler and
shift). ``noise`` measures the noise component's hypervolume and starts EM with it;
``summary``, ``scan`` and ``plot`` put a model back in original units for people (``scan``
scores an input once, as predict does, keeping totals and a bounded drawing sample; the
figures themselves are :mod:`gmmcli.plots`, handed in by the CLI). ``select`` screens its
grid (every cell from one start to a loose tolerance) and fully fits only the cells near the
best, which it chooses among. Output is written through :class:`~gmmcli.io.atomic.AtomicFile` (opened before
any work, so an unwritable destination fails fast) or handed back to the caller as bytes.
"""

from gmmcli.pipeline.data import DataRequest, TrainingData, load_training_data, refuse_overwriting_input
from gmmcli.pipeline.fit import (
    FitRequest, FitResult, Restart, build_model, choose_restart, fit, run_restarts, validate_fit_request,
)
from gmmcli.pipeline.sample import SampleRequest, sample
from gmmcli.pipeline.predict import (
    PREDICT_BLOCK_BYTES, Explanation, PredictRequest, PredictResult, explain, open_for_model, predict,
    predict_on_dask, trace,
)

__all__ = [
    "DataRequest", "TrainingData", "load_training_data", "refuse_overwriting_input", "FitRequest", "FitResult", "Restart",
    "build_model", "choose_restart", "fit", "run_restarts", "validate_fit_request", "PREDICT_BLOCK_BYTES",
    "Explanation", "PredictRequest", "PredictResult", "explain", "open_for_model", "predict", "trace",
    "SampleRequest", "sample", "predict_on_dask",
]
