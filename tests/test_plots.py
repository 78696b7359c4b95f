"""`gmmcli plot`: every kind in every format, parsed; predict unchanged; the terminal scatter."""

import io
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from gmmcli import cli, render
from gmmcli.pipeline.plot import PlotRequest, figure_data
from tests.helpers import SAMPLE

matplotlib = pytest.importorskip("matplotlib")  # the plot extra (in the dev extra too)

WALK = os.path.join(SAMPLE, "walkthrough.csv")
IRIS = os.path.join(SAMPLE, "iris.csv")
KINDS = ("classification", "uncertainty", "density", "bic", "trace")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A model from select (with its grid embedded) and one from fit with several restarts."""
    folder = tmp_path_factory.mktemp("plots")
    best, restarts = folder / "best.json", folder / "restarts.json"
    assert cli.run(["select", WALK, "-k", "1-4", "--covariance", "full,diag,VEV", "-o", str(best), "-q",
                    "-j", "1", "--format", "csv"]) == 0
    assert cli.run(["fit", WALK, "-k", "3", "--init", "random", "--n-init", "3", "-q", "-o", str(restarts)]) == 0
    return folder, best, restarts


def parse_figure(data: bytes, file_format: str) -> tuple:
    """(width, height) of a figure file, parsed as what it claims to be."""
    if file_format == "svg":
        root = ET.fromstring(data)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) > 10
        return tuple(float(v) for v in root.get("viewBox").split()[2:])
    if file_format == "png":
        from PIL import Image

        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        image = matplotlib.image.imread(io.BytesIO(data), format="png")
        with Image.open(io.BytesIO(data)) as pil:
            pil.verify()
        assert (image[..., :3] < 0.9).any()  # something is drawn on the white
        return image.shape[1], image.shape[0]
    assert data.startswith(b"%PDF-1.") and data.rstrip().endswith(b"%%EOF")
    assert b"startxref" in data[-200:] and data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") >= 1
    try:
        import pypdf
    except ImportError:
        return (1, 1)
    page = pypdf.PdfReader(io.BytesIO(data)).pages[0]
    return float(page.mediabox.width), float(page.mediabox.height)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_writes_valid_svg_png_and_pdf(models, kind):
    folder, best, _ = models
    for file_format in ("svg", "png", "pdf"):
        out = folder / f"{kind}.{file_format}"
        code = cli.run(["plot", str(best), WALK, "--kind", kind, "-o", str(out)])
        assert code == 0, (kind, file_format)
        width, height = parse_figure(out.read_bytes(), file_format)
        assert width > 0 and height > 0


def test_plotting_never_changes_what_predict_outputs(models, capsysbinary):
    folder, best, _ = models
    model_bytes = best.read_bytes()
    cli.run(["predict", str(best), WALK])
    before = capsysbinary.readouterr().out
    for kind in KINDS:
        assert cli.run(["plot", str(best), WALK, "--kind", kind, "-o", str(folder / f"again-{kind}.png")]) == 0
    cli.run(["predict", str(best), WALK])
    assert capsysbinary.readouterr().out == before and len(before) > 1000
    assert best.read_bytes() == model_bytes


def test_same_input_same_bytes_and_the_figure_says_how_many_rows(models):
    folder, best, _ = models
    paths = [folder / f"same{i}.svg" for i in (1, 2)]
    for path in paths:
        assert cli.run(["plot", str(best), WALK, "--max-points", "50", "--seed", "2", "-o", str(path)]) == 0
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert f"50 of 300 rows of {WALK} shown (random sample, seed 2)" in paths[0].read_text()
    all_rows = folder / "all.svg"
    assert cli.run(["plot", str(best), WALK, "-o", str(all_rows)]) == 0
    assert f"all 300 rows of {WALK}" in all_rows.read_text()


def test_column_names_label_the_axes_and_c_picks_columns(tmp_path):
    model = tmp_path / "iris.json"
    assert cli.run(["fit", IRIS, "-k", "3", "-q", "-o", str(model)]) == 0
    out = tmp_path / "pick.svg"
    assert cli.run(["plot", str(model), IRIS, "-c", "Petal.Length,Sepal.Width", "-o", str(out)]) == 0
    texts = [t.text for t in ET.fromstring(out.read_bytes()).iter("{http://www.w3.org/2000/svg}text")]
    assert "Petal.Length" in texts and "Sepal.Width" in texts and "Petal.Width" not in texts


def test_the_trace_shows_every_restart(models):
    folder, _, restarts = models
    out = folder / "trace.svg"
    assert cli.run(["plot", str(restarts), "--kind", "trace", "-o", str(out)]) == 0
    texts = [t.text for t in ET.fromstring(out.read_bytes()).iter("{http://www.w3.org/2000/svg}text")]
    assert {"restart 0", "restart 2"} <= set(texts) and sum("(chosen)" in (t or "") for t in texts) == 1


def test_bic_takes_a_select_csv_when_the_model_has_no_grid(models, run):
    folder, _, restarts = models
    res = run("plot", restarts, "--kind", "bic", "-o", folder / "nogrid.svg")
    assert (res.code, res.err) == (2, f"gmmcli: error: {restarts} has no selection table (only gmmcli select -o "
                                      "writes one): give the grid with --selection FILE (from gmmcli select "
                                      "--format csv)\n")
    assert not (folder / "nogrid.svg").exists()
    grid = folder / "grid.csv"
    grid.write_bytes(run("select", WALK, "-k", "1-3", "--covariance", "diag", "-q", "-j", 1, "--format", "csv").out)
    out = folder / "fromcsv.svg"
    assert run("plot", restarts, "--kind", "bic", "--selection", grid, "-o", out).code == 0
    assert "BIC of the grid (" in out.read_text()


@pytest.mark.parametrize("args, message", [
    (["--kind", "classification"], "plot draws on a terminal only; to write a figure, give -o FILE.svg, .png or .pdf"),
    (["-o", "x.jpg"], "-o x.jpg: the figure's format comes from its extension: .svg, .png or .pdf"),
    (["--max-points", "0", "-o", "x.svg"], "--max-points must be at least 1 (got 0)"),
])
def test_usage_errors(models, run, args, message):
    _, best, _ = models
    res = run("plot", best, WALK, *args)
    assert (res.code, res.err, res.out) == (2, f"gmmcli: error: {message}\n", b"")


def test_data_kinds_need_an_input(models, run):
    _, best, _ = models
    res = run("plot", best, "--kind", "density", "-o", "x.svg")
    assert (res.code, res.err) == (2, "gmmcli: error: --kind density draws the rows of an INPUT: give the data "
                                      "file after the model\n")


def test_missing_matplotlib_is_a_one_line_hint(models, run, monkeypatch, tmp_path):
    _, best, _ = models
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    res = run("plot", best, WALK, "-o", tmp_path / "x.svg")
    assert (res.code, res.err) == (2, "gmmcli: error: plotting needs matplotlib, an optional extra: "
                                      "pip install 'gmmcli[plot]'\n")
    assert not (tmp_path / "x.svg").exists()


def test_help_imports_no_matplotlib():
    code = "import sys; from gmmcli import cli; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_terminal_scatter_colour_and_plain(models, monkeypatch):
    _, best, _ = models
    data = figure_data(PlotRequest(model=str(best), inputs=(WALK,)))
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    coloured = cli.terminal_scatter(data, width=50, height=14)
    assert "\x1b[38;2;230;159;0m" in coloured  # Okabe-Ito orange, component 0
    assert any(0x2800 < ord(ch) <= 0x28FF for ch in coloured)  # braille dots
    monkeypatch.setenv("NO_COLOR", "1")
    plain = cli.terminal_scatter(data, width=50, height=14)
    assert "\x1b" not in plain and {"0", "1", "2", "X"} <= set(plain)
    assert plain.splitlines()[0] == f"classification of {WALK}: all 300 rows; X / reverse video = component mean"


def test_scatter_chart_places_points():
    chart = render.scatter_chart([0.0, 1.0], [0.0, 1.0], [0, 1], width=10, height=4, x_name="a", y_name="b")
    area = [line.split("|", 1)[1] for line in chart.splitlines() if "|" in line]
    assert area[0].rstrip().endswith("1") and area[-1].startswith("0")


def test_geometry_of_ellipses_and_pair_densities():
    from gmmcli.plots import geometry

    width, height, angle = geometry.ellipse(np.array([[4.0, 0.0], [0.0, 1.0]]), 2.0)
    assert (width, height) == pytest.approx((8.0, 4.0)) and abs(angle) % 180 == pytest.approx(0.0, abs=1e-9)
    from scipy.stats import multivariate_normal

    cov = np.array([[[2.0, 0.3], [0.3, 1.0]], [[1.0, -0.2], [-0.2, 0.5]]])
    means = np.array([[0.0, 1.0], [2.0, -1.0]])
    points = np.random.default_rng(0).normal(size=(20, 2))
    expected = 0.3 * multivariate_normal(means[0], cov[0]).pdf(points) + 0.7 * multivariate_normal(means[1], cov[1]).pdf(points)
    np.testing.assert_allclose(geometry.mixture_density_2d([0.3, 0.7], means, cov, points), expected, rtol=1e-12)
    levels = geometry.hdr_levels(np.arange(1.0, 101.0))
    assert levels.tolist() == pytest.approx([5.95, 25.75, 50.5, 75.25])
