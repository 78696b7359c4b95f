"""Engines: where the data live. An engine only answers "sum this block function
over one pass of the data" (``reduce``) and "give me some rows" (``sample_rows``)."""
