"""Pure numpy core: parameters, densities, sufficient statistics, EM.

Nothing here imports pandas, typer, rich, dask or anything outside ``gmmcli.core``
except ``gmmcli.errors`` (import-linter contracts in pyproject.toml hold this).
The covariance models are the table in :mod:`gmmcli.core.models` (their names:
``MODEL_NAMES``); nothing else knows a model by name.
"""
