"""Domain exceptions.

Library code raises these and never prints or exits. Each carries a message that
already names what the user needs (file, line, column, field); ``cli.py`` maps the
class to an exit code from one table and prints one line.
"""

from __future__ import annotations


class GmmError(Exception):
    """Base class of every error gmmcli reports to the user."""


class UsageError(GmmError):
    """An option or argument is invalid (exit 2)."""


class ConvergenceError(GmmError):
    """EM did not converge and ``--strict`` was given (exit 3)."""


class NumericalError(GmmError):
    """The fit failed numerically, e.g. a covariance is not positive definite (exit 3)."""


class DataError(GmmError):
    """The input data or a model file is malformed (exit 65)."""


class ModelError(DataError):
    """A model file is corrupt, invalid or from a newer gmmcli (exit 65)."""


class NoInputError(GmmError):
    """An input file does not exist or cannot be read (exit 66)."""


class OutputError(GmmError):
    """An output file cannot be created (exit 73)."""


class WriteError(GmmError):
    """Writing failed part-way, e.g. the disk is full (exit 74)."""
