"""The Python API: a scikit-learn-compatible estimator over gmmcli's core and pipeline.

``GaussianMixture`` fits with the code ``gmmcli fit`` runs, ``load_model`` reads any model file
the CLI writes (and ``GaussianMixture.save`` writes one it reads), and ``select`` runs
``gmmcli select``'s grid. scikit-learn is never imported here; the estimator follows its
conventions by hand and passes its checks when it is installed.
"""

from gmmcli.api.compat import ConvergenceWarning, FitWarning, InvalidParameterError, NotFittedError
from gmmcli.api.estimator import GaussianMixture, load_model
from gmmcli.api.selection import Selection, select

__all__ = ["GaussianMixture", "load_model", "select", "Selection", "NotFittedError", "ConvergenceWarning",
           "FitWarning", "InvalidParameterError"]
