"""gmmcli: Gaussian mixture models for CSV data, from the command line."""

__version__ = "1.0.0"
