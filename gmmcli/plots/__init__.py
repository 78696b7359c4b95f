"""Figures and the HTML report, drawn with matplotlib (an optional extra: ``pip install 'gmmcli[plot]'``).

Nothing here is imported by ``gmmcli --help``: the command line imports this package only in
the ``plot`` and ``report`` commands, and matplotlib is imported inside the functions that
draw. Every function takes values (a ``FigureData`` from :mod:`gmmcli.pipeline.plot`, all in
original units) and returns bytes; nothing here reads files, prints or exits.

Entry points: :func:`gmmcli.plots.figures.draw` (one figure as SVG, PNG or PDF) and
:func:`gmmcli.plots.report.report_html` (the self-contained HTML report).
"""

from __future__ import annotations

from gmmcli.errors import UsageError

INSTALL_HINT = "plotting needs matplotlib, an optional extra: pip install 'gmmcli[plot]'"


def require_matplotlib() -> None:
    """Raise UsageError with the install hint when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError(INSTALL_HINT) from None


def draw(data, kind, file_format: str) -> bytes:
    """One figure (``kind``) or, for ``kind`` None, the HTML report: the ``draw`` of ``pipeline.plot``."""
    require_matplotlib()
    if kind is None:
        from gmmcli.plots.report import report_html

        return report_html(data)
    from gmmcli.plots.figures import draw_figure

    return draw_figure(data, kind, file_format)
