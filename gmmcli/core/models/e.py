"""``E`` (mclust, one column): equal variance, σ² = Σ_k W_k / n for every component.

For one column this is EII (λ = tr W / (n d) with d = 1), so the entry reuses
:func:`gmmcli.core.models.eii.estimate`. mclust: ``ms1e`` in src/mclust.f.
"""

from __future__ import annotations

from gmmcli.core.models import eii
from gmmcli.core.models.base import constrained_model

MODEL = constrained_model(name="E", estimate=eii.estimate, n_cov_parameters=lambda k, d: 1,
                          n_features_only=1)
