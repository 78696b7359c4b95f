"""The HTML report: one self-contained file that any browser, a phone's included, shows as it is.

Figures are inline SVG (the point layers of large samples rasterized inside them, so the
file's size does not grow with the rows drawn); styles are one inline ``<style>``; there is
no script, no web font and no link to anything outside the file. Collapsible parts use
``<details>``, which needs no JavaScript. Every text from the data (column names, paths)
is escaped.
"""

from __future__ import annotations

import html
import json
import re

from gmmcli import __version__
from gmmcli.plots.figures import draw_figure
from gmmcli.render import component_colour, format_number, summary_document

CSS = """
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a;
       background: #fff; margin: 0 auto; padding: 0.8rem; max-width: 72rem; }
h1 { font-size: 1.35rem; margin: 0.4rem 0 0.2rem; } h2 { font-size: 1.1rem; margin: 1.6rem 0 0.4rem;
  border-bottom: 1px solid #ddd; padding-bottom: 0.15rem; }
p.sub { color: #555; margin: 0 0 0.8rem; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 0.3rem 0 0.6rem; }
th, td { padding: 0.2rem 0.6rem; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap; }
th { background: #f6f6f6; font-weight: 600; } td.l, th.l { text-align: left; }
td.l + td.l { white-space: normal; overflow-wrap: anywhere; min-width: 12rem; }
.sw { display: inline-block; width: 0.8em; height: 0.8em; border-radius: 50%; margin-right: 0.35em;
      vertical-align: -0.05em; }
figure { margin: 0.8rem 0 1.4rem; } figure svg { width: 100%; height: auto; display: block; }
figcaption { color: #444; font-size: 0.9rem; margin-top: 0.2rem; }
details { margin: 0.3rem 0; } summary { cursor: pointer; color: #0b5394; }
nav a { margin-right: 0.8rem; white-space: nowrap; } footer { color: #777; font-size: 0.85rem; margin: 2rem 0 1rem; }
@media (max-width: 40rem) { body { font-size: 14px; padding: 0.5rem; } th, td { padding: 0.15rem 0.35rem; } }
"""
CAPTIONS = {
    "classification": "Each row coloured by its label (predict's argmax); X marks each component's mean, the "
                      "solid and dashed ellipses its 1- and 2-SD contours. Diagonal: each column's histogram with "
                      "the components' weighted densities (colours) and the mixture's (black).",
    "uncertainty": "Point area grows with the uncertainty 1 − max probability: large points are rows the model "
                   "cannot place with confidence, usually where components overlap.",
    "density": "Contours of the mixture's exact density over each pair of columns (the other columns "
               "marginalised out), at the levels whose regions hold 25, 50, 75 and 95 % of the rows.",
    "bic": "The criterion of every (k, covariance model) cell of the selection grid, the chosen cell ringed; "
           "right, each cell's difference from the best on a log scale, so close cells stay apart "
           "(Kass and Raftery's 2, 6 and 10 marked).",
    "trace": "EM's log-likelihood per iteration (original units) for every restart, the chosen one in black; "
             "right, the size of each iteration's change.",
}


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def report_html(data) -> bytes:
    """The whole report as UTF-8 bytes."""
    doc = summary_document(data.summary)
    kinds = applicable_kinds(data)
    body = [header(doc, kinds), overview_section(doc), components_section(doc)]
    if doc["classification"] is not None:
        body.append(classification_section(doc))
    if doc["selection"]:
        body.append(top_cells_section(doc["selection"]))
    body += [figure_section(data, kind, n) for n, kind in enumerate(kinds)]
    body += [settings_section(data.model), footer()]
    title = f"gmmcli report: {doc['model']}"
    page = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta name="generator" content="gmmcli {esc(__version__)}">\n<title>{esc(title)}</title>\n'
            f'<style>{CSS}</style>\n</head>\n<body>\n' + "\n".join(body) + "\n</body>\n</html>\n")
    return page.encode("utf-8")


def applicable_kinds(data) -> list:
    """The figures that apply: the three of the rows always, bic with a selection grid, trace with a history."""
    kinds = ["classification", "uncertainty", "density"]
    kinds += ["bic"] if data.selection is not None else []
    kinds += ["trace"] if any(len(t.values) > 1 for t in data.traces) else []
    return kinds


def header(doc: dict, kinds: list) -> str:
    source = f" on {esc(doc['input']['name'])}" if doc["input"] else ""
    links = " ".join(f'<a href="#fig-{k}">{k}</a>' for k in kinds)
    return (f"<header><h1>Gaussian mixture: {doc['n_components']} {esc(doc['covariance_type'])} component(s)</h1>\n"
            f'<p class="sub">model {esc(doc["model"])}{source}; columns {esc(", ".join(doc["columns"]))}; '
            f"every value in the data's original units</p>\n"
            f'<nav><a href="#summary">summary</a> <a href="#components">components</a> {links} '
            f'<a href="#settings">settings</a></nav></header>')


def table(header_cells: list, rows: list, left: int = 1) -> str:
    """An HTML table (cells already escaped), the first ``left`` columns left-aligned, in a scrolling box."""
    def cls(i):
        return ' class="l"' if i < left else ""

    head = "".join(f"<th{cls(i)}>{h}</th>" for i, h in enumerate(header_cells))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(r)) + "</tr>\n" for r in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody></table></div>'


def number(value, digits: int = 6) -> str:
    return "" if value is None else esc(format_number(float(value), digits))


def overview_section(doc: dict) -> str:
    alias = f" (mclust {esc(doc['mclust_name'])})" if doc["mclust_name"] != doc["covariance_type"] else ""
    fields = [("covariance model", f"{esc(doc['covariance_type'])}{alias}"),
              ("components", doc["n_components"]), ("rows fitted", number(doc["n_samples"])),
              ("log-likelihood", number(doc["log_likelihood"], 10)), ("free parameters", doc["n_parameters"]),
              ("BIC", number(doc["bic"], 10)), ("AIC", number(doc["aic"], 10)),
              ("ICL", number(doc["icl"], 10)),
              ("converged", f"{'yes' if doc['converged'] else 'NO'} after {doc['n_iter']} iteration(s)")]
    if doc["noise"]:
        fields.insert(2, ("noise weight", number(doc["noise"]["weight"])))
    if doc["uncertainty"]:
        fields += [("mean uncertainty", number(doc["uncertainty"]["mean"], 4)),
                   ("max uncertainty", number(doc["uncertainty"]["max"], 4))]
    if doc["outliers"]:
        o = doc["outliers"]
        fields.append(("outliers", f"{o['rows']} below the training {o['quantile']:g} quantile ({number(o['threshold'])})"))
    rows = [[esc(k), str(v)] for k, v in fields]
    return ('<section id="summary"><h2>Summary</h2>\n' + table(["", "value"], rows) +
            "<p>Criteria are lower-is-better (mclust's BIC is −1 times this one).</p></section>")


def swatch(label: int) -> str:
    return f'<span class="sw" style="background:{component_colour(label)}"></span>'


def components_section(doc: dict) -> str:
    """Per component: weight and rows, each column's mean and SD; correlations folded away."""
    names = doc["columns"]
    rows_by = {c["component"]: c["rows"] for c in doc["classification"] or [] if c["component"] != "noise"}
    head = ["component", "weight"] + (["rows"] if rows_by else []) + [f"{esc(n)} mean" for n in names] + \
        [f"{esc(n)} SD" for n in names]
    rows = []
    for c in doc["components"]:
        cells = [swatch(c["component"]) + str(c["component"]), number(c["weight"], 4)]
        cells += [str(rows_by[c["component"]])] if rows_by else []
        rows.append(cells + [number(c["mean"][n]) for n in names] + [number(c["sd"][n]) for n in names])
    parts = ['<section id="components"><h2>Components (original units)</h2>', table(head, rows)]
    if len(names) > 1:
        for c in doc["components"]:
            corr = [[esc(a)] + [f"{c['correlation'][a][b]:.3f}" for b in names] for a in names]
            parts.append(f"<details><summary>correlations of component {c['component']}</summary>"
                         + table([""] + [esc(n) for n in names], corr) + "</details>")
    return "\n".join(parts) + "</section>"


def classification_section(doc: dict) -> str:
    rows = [[(swatch(-1 if c["component"] == "noise" else c["component"])) + esc(c["component"]), str(c["rows"]),
             f"{100 * c['share']:.1f}%"] for c in doc["classification"]]
    name = esc(doc["input"]["name"])
    return (f'<section id="classification"><h2>Classification of {name}</h2>'
            f"<p>{doc['input']['rows']:,} rows, labelled as <code>gmmcli predict</code> labels them.</p>"
            + table(["component", "rows", "share"], rows) + "</section>")


def top_cells_section(selection: dict) -> str:
    criterion = selection["criterion"]
    rows = [[f"k={r['k']} {esc(r['covariance_type'])}", number(r[criterion], 10),
             "best" if i == 0 else f"{r['difference']:+.4g}"] for i, r in enumerate(selection["top"])]
    return ('<section id="selection"><h2>Best cells of the selection grid</h2>'
            + table(["cell", esc(criterion.upper()), "difference"], rows) + "</section>")


def figure_section(data, kind: str, n: int) -> str:
    svg = inline_svg(draw_figure(data, kind, "svg").decode("utf-8"), f"f{n}-")
    return (f'<section id="fig-{kind}"><h2>{kind.capitalize()}</h2><figure role="img" aria-label="{kind} plot">'
            f"{svg}<figcaption>{esc(CAPTIONS[kind])}</figcaption></figure></section>")


_PROLOG = re.compile(r"\A.*?(?=<svg)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
# Namespace declarations are only names (nothing is fetched), but an HTML parser needs none of
# them: dropping them leaves the page without a single http(s) address.
_XMLNS = re.compile(r'\s+xmlns(:xlink)?="[^"]*"')
_ID = re.compile(r'\bid="([^"]+)"')
_REF = re.compile(r'(url\(#|xlink:href="#|href="#)([^)"]+)')


_SIZE = re.compile(r'<svg([^>]*?) width="([0-9.]+)pt" height="([0-9.]+)pt"')


def _natural_width(match) -> str:
    """Scale with the page (viewBox), but never beyond the figure's own size (pt → CSS px)."""
    return f'<svg{match.group(1)} style="max-width:{float(match.group(2)) * 4 / 3:.0f}px"'


def inline_svg(svg: str, prefix: str) -> str:
    """An SVG file's ``<svg>`` element for inlining: no XML prolog, DOCTYPE or metadata, and its
    ids prefixed so that the figures of one page cannot take each other's definitions."""
    svg = _XMLNS.sub("", _METADATA.sub("", _PROLOG.sub("", svg, count=1)))
    svg = _SIZE.sub(_natural_width, svg, count=1)
    svg = _ID.sub(lambda m: f'id="{prefix}{m.group(1)}"', svg)
    return _REF.sub(lambda m: f"{m.group(1)}{prefix}{m.group(2)}", svg)


def settings_section(model) -> str:
    """The fit's settings and diagnostics, as stored in the model file."""
    def rows_of(mapping: dict) -> list:
        return [[esc(k), esc(v if isinstance(v, (str, int, float, bool)) or v is None
                             else json.dumps(v, allow_nan=False))] for k, v in mapping.items()]

    parts = ['<section id="settings"><h2>Settings and diagnostics</h2>']
    parts.append("<h3>settings</h3>" + table(["setting", "value"], rows_of(model.settings), left=2))
    diagnostics = rows_of(model.diagnostics or {})
    parts.append("<h3>diagnostics</h3>" + (table(["diagnostic", "value"], diagnostics, left=2) if diagnostics
                                          else "<p>none recorded</p>"))
    return "\n".join(parts) + "</section>"


def footer() -> str:
    return (f"<footer>Written by gmmcli {esc(__version__)}: a self-contained file (no scripts, no network); "
            "colours are Okabe and Ito's, readable with colour-vision deficiencies.</footer>")
