"""Pure numpy core: parameters, densities, sufficient statistics, EM.

Nothing here imports pandas, typer, rich, dask or anything outside ``gmmcli.core``
except ``gmmcli.errors`` (import-linter contracts in pyproject.toml hold this).
The covariance models are the table in :mod:`gmmcli.core.models` (their names:
``MODEL_NAMES``); nothing else knows a model by name. A mixture may carry a uniform noise
component (``GaussianMixtureParams.noise``, :mod:`gmmcli.core.noise`: mclust's hypervolume box
and NNclean start); the E-step carries it as one more constant row and the statistics count
its share (``SufficientStats.noise``), so EM with noise is the same loop on every engine.
"""
