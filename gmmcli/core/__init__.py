"""Pure numpy/scipy core: parameters, densities, sufficient statistics, EM.

Nothing here imports pandas, typer, rich, dask or anything outside ``gmmcli.core``
except ``gmmcli.errors``.
"""

from gmmcli.core.models import MODEL_NAMES as COVARIANCE_TYPES  # noqa: E402  (one list: the model table)
