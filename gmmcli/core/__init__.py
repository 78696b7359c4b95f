"""Pure numpy/scipy core: parameters, densities, sufficient statistics, EM.

Nothing here imports pandas, typer, rich, dask or anything outside ``gmmcli.core``
except ``gmmcli.errors``.
"""

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
