# What type checkers see of the package: gmmcli/__init__.py exports these lazily (module __getattr__).
from gmmcli.api import ConvergenceWarning as ConvergenceWarning
from gmmcli.api import FitWarning as FitWarning
from gmmcli.api import GaussianMixture as GaussianMixture
from gmmcli.api import InvalidParameterError as InvalidParameterError
from gmmcli.api import NotFittedError as NotFittedError
from gmmcli.api import Selection as Selection
from gmmcli.api import load_model as load_model
from gmmcli.api import select as select

__version__: str
__all__ = ["__version__", "GaussianMixture", "load_model", "select", "Selection", "NotFittedError",
           "ConvergenceWarning", "FitWarning", "InvalidParameterError"]
