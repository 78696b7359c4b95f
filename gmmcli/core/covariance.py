"""Transitional: the covariance models now live in :mod:`gmmcli.core.models`."""

from gmmcli.core.models import MODELS as COVARIANCE_OPS  # noqa: F401
