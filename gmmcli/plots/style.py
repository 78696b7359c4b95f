"""Figure conventions: colours, markers, fonts, and byte-stable saving.

Saving strips what changes from run to run (dates, random ids), so the same data and
options give the same file: SVG ids come from a fixed hash salt, and no creation date is
written into SVG, PDF or PNG.
"""

from __future__ import annotations

import io
from contextlib import contextmanager

from gmmcli.render import NOISE_COLOUR, OKABE_ITO, component_colour

MARKER_CYCLE = ("o", "s", "^", "D", "v", "P")  # a new marker each time the colours repeat
SERIES_STYLES = ("-", "--", ":", "-.")
RC = {
    "svg.hashsalt": "gmmcli",   # stable element ids
    "svg.fonttype": "none",     # text stays text: small files, crisp and searchable in the report
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "savefig.dpi": 120,
}
NO_DATES = {"svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None}, "png": {"Software": None}}
# Above this many points in one figure, scatter layers are rasterized inside vector files: the
# file's size then depends on the picture, not on the number of rows drawn.
RASTERIZE_ABOVE = 3000

__all__ = ["NOISE_COLOUR", "OKABE_ITO", "component_colour", "component_marker", "series_style", "figure",
           "save", "RC"]


def component_marker(label: int) -> str:
    """A component's marker: the same colour never comes back with the same marker."""
    return "x" if label < 0 else MARKER_CYCLE[(label // len(OKABE_ITO)) % len(MARKER_CYCLE)]


# Lines are thin: Okabe-Ito's yellow is too pale for one on white, so charts use black instead.
SERIES_COLOURS = OKABE_ITO[:6] + ("#000000",)


def series_style(index: int) -> dict:
    """Line colour, style and marker of the ``index``-th series of a chart (e.g. a covariance model)."""
    return {"color": SERIES_COLOURS[index % len(SERIES_COLOURS)],
            "linestyle": SERIES_STYLES[(index // len(SERIES_COLOURS)) % len(SERIES_STYLES)],
            "marker": MARKER_CYCLE[index % len(MARKER_CYCLE)]}


@contextmanager
def figure(width: float, height: float):
    """A matplotlib Figure (no pyplot: no global state, no GUI backend) under gmmcli's style."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(RC):
        yield Figure(figsize=(width, height), layout="constrained")


def save(fig, file_format: str) -> bytes:
    """The figure as SVG, PNG or PDF bytes, without run-dependent metadata."""
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buffer, format=file_format, metadata=NO_DATES[file_format], facecolor="white")
    return buffer.getvalue()
