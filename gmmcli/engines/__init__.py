"""Engines: where the data live, each implementing :class:`~gmmcli.engines.base.Engine`.

An engine only answers "sum this block function over one pass of the data" (``reduce``,
added with one ``sum_parts`` in row order), "these per-row values" (``map_rows``), "the
rows the seed picks" (``sample_rows``: indices drawn once by ``choose_rows``, the same rows
in the same order on every engine), "these rows in memory" (``subset``), and ``close``.
No EM math lives here. ``memory``: one array; ``spool``: a temporary file read block by
block (out of core); ``dask_engine``: partitions on a Dask cluster, tree-reduced.
"""
