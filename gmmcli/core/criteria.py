"""Model-selection criteria (lower is better, scikit-learn's sign).

mclust reports BIC with the opposite sign and no factor change:
``BIC_mclust = 2·LL − p·ln n = −BIC_here``; likewise ``ICL_mclust = −ICL_here``.
"""

from __future__ import annotations

import math

import numpy as np

from gmmcli.core.params import GaussianMixtureParams
from gmmcli.core.missing import score_rows_missing
from gmmcli.core.stats import score_rows

CRITERIA = ("bic", "aic", "icl", "holdout")


def bic(log_likelihood: float, n_parameters: int, n_samples: float) -> float:
    """−2·LL + p·ln n."""
    return -2.0 * log_likelihood + n_parameters * math.log(n_samples)


def aic(log_likelihood: float, n_parameters: int) -> float:
    """−2·LL + 2·p."""
    return -2.0 * log_likelihood + 2.0 * n_parameters


def icl(bic_value: float, entropy: float) -> float:
    """BIC + 2·E, E = −Σᵢ Σₖ rᵢₖ ln rᵢₖ the classification entropy (Biernacki et al. 2000)."""
    return bic_value + 2.0 * entropy


def entropy_block(X, sample_weight, start, *, params: GaussianMixtureParams) -> float:
    """−Σ rᵢₖ ln rᵢₖ over one block of rows (a block function for engines); rows with
    missing (NaN) cells are classified on their observed cells."""
    _, resp = score_rows_missing(X, params) if np.isnan(X).any() else score_rows(X, params)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(resp > 0, resp * np.log(resp), 0.0)
    per_row = -terms.sum(axis=1)
    return float(per_row.sum() if sample_weight is None else per_row @ sample_weight)
