"""`gmmcli report`: one self-contained HTML file, checked as text and in a real browser (headless Chromium)."""

import os
import re
import shutil
import socket
import subprocess
import threading
from html.parser import HTMLParser

import numpy as np
import pytest

from gmmcli import cli
from gmmcli.render import OKABE_ITO, hex_to_rgb
from tests.helpers import SAMPLE

pytest.importorskip("matplotlib")

WALK = os.path.join(SAMPLE, "walkthrough.csv")
MAX_REPORT_BYTES = 5 << 20
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The browser's own background traffic (updates, clock, sign-in), not the page's: it goes to the
# test's proxy like everything else, but does not count as a request of the report.
BROWSER_HOSTS = re.compile(r"(^|\.)(google\.com|googleapis\.com|gvt1\.com|gstatic\.com)$")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    model, out = folder / "best.json", folder / "report.html"
    assert cli.run(["select", WALK, "-k", "1-4", "--covariance", "full,diag", "-o", str(model), "-q", "-j", "1",
                    "--format", "csv"]) == 0
    assert cli.run(["report", str(model), WALK, "-o", str(out)]) == 0
    return folder, model, out


class Collect(HTMLParser):
    """Tags, their attributes, and every id."""

    def __init__(self):
        super().__init__()
        self.tags, self.ids, self.links = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name == "id":
                self.ids.append(value)
            if name in ("src", "href", "xlink:href", "action", "srcset", "poster", "data"):
                self.links.append(value)


def parsed(path) -> Collect:
    collect = Collect()
    collect.feed(path.read_text(encoding="utf-8"))
    return collect


def test_report_is_self_contained(report):
    folder, _, out = report
    text = out.read_text(encoding="utf-8")
    page = parsed(out)
    assert out.stat().st_size < MAX_REPORT_BYTES
    assert "script" not in page.tags and "iframe" not in page.tags and "link" not in page.tags
    assert not re.search(r"https?://", text, re.I) and "@import" not in text and "url(http" not in text
    assert all(link.startswith(("#", "data:image/png;base64,")) for link in page.links), page.links
    assert len(page.ids) == len(set(page.ids))  # the inlined figures' ids do not collide
    assert page.tags.count("svg") == 5  # classification, uncertainty, density, bic, trace
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    for section in ("summary", "components", "classification", "selection", "settings"):
        assert f'id="{section}"' in text


def test_report_numbers_are_the_summarys(report, run):
    _, model, out = report
    import json

    summary = json.loads(run("summary", model, WALK, "--format", "json").out)
    text = out.read_text(encoding="utf-8")
    for component in summary["components"]:
        assert f">{component['mean']['x']:.6g}<" in text
    assert f"{summary['input']['rows']:,} rows" in text


def test_report_stays_small_for_many_rows(tmp_path):
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(size=(60_000, 3)), rng.normal(4.0, 0.5, size=(40_000, 3))])
    data = tmp_path / "many.csv"
    np.savetxt(data, X, delimiter=",", header="a,b,c", comments="", fmt="%.4f")
    model, out = tmp_path / "m.json", tmp_path / "r.html"
    assert cli.run(["fit", str(data), "-k", "2", "-q", "-o", str(model)]) == 0
    assert cli.run(["report", str(model), str(data), "-o", str(out)]) == 0
    assert out.stat().st_size < MAX_REPORT_BYTES
    text = out.read_text(encoding="utf-8")
    assert f"5,000 of 100,000 rows of {data} shown (random sample, seed 0)" in text


def test_report_needs_an_output(run):
    res = run("report", "m.json", WALK)
    assert (res.code, res.err) == (2, "gmmcli: error: report writes an HTML file: give -o FILE.html\n")


# ---------------------------------------------------------------- in a browser
class RecordingProxy:
    """A local HTTP proxy that answers nothing and records every request the browser makes."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(32)
        self.server.settimeout(0.1)
        self.port = self.server.getsockname()[1]
        self.requests, self.running = [], True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.running:
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            conn.settimeout(1.0)
            try:
                self.requests.append(conn.recv(400).split(b"\r\n", 1)[0].decode("latin-1"))
            except OSError:
                pass
            conn.close()

    def close(self):
        self.running = False
        self.thread.join()
        self.server.close()

    def page_requests(self) -> list:
        """The requests that are not the browser's own background traffic."""
        hosts = [re.sub(r"^(?:\w+) (?:https?://)?([^/:\s]+).*$", r"\1", r) for r in self.requests]
        return [r for r, h in zip(self.requests, hosts) if not BROWSER_HOSTS.search(h)]


def render_in_chromium(page, screenshot, width=1000, height=6000) -> tuple:
    """(page requests, console lines) of a headless Chromium rendering ``page`` to ``screenshot``."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed, and CI must run the browser test (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium); CI runs this test")
    proxy = RecordingProxy()
    try:
        proc = subprocess.run(
            [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--proxy-server=http://127.0.0.1:{proxy.port}", "--proxy-bypass-list=<-loopback>",
             "--enable-logging=stderr", "--v=0", f"--window-size={width},{height}",
             f"--screenshot={screenshot}", page.resolve().as_uri()],
            capture_output=True, text=True, timeout=120)
    finally:
        proxy.close()
    assert proc.returncode == 0 and os.path.exists(screenshot), proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return proxy.page_requests(), console


def colour_pixels(image: np.ndarray, colour: str, tolerance: int = 24) -> int:
    """Pixels within ``tolerance`` (per channel) of a colour."""
    target = np.array(hex_to_rgb(colour))
    return int((np.abs(image[..., :3].astype(int) - target) <= tolerance).all(axis=-1).sum())


def test_chromium_draws_the_report_offline(report, tmp_path):
    from PIL import Image

    _, _, out = report
    shot = tmp_path / "report.png"
    requests, console = render_in_chromium(out, shot)
    assert requests == [] and console == []
    image = np.asarray(Image.open(shot).convert("RGB"))
    not_white = (image < 245).any(axis=-1).mean()
    assert not_white > 0.03  # text, tables and figures, not an empty page
    drawn = [colour_pixels(image, colour) for colour in OKABE_ITO[:3]]  # the three clusters' colours
    assert min(drawn) > 200, drawn


def test_the_browser_check_can_fail(tmp_path):
    """The same harness sees a page that fetches from the network and logs to the console."""
    page = tmp_path / "bad.html"
    page.write_text('<html><body><img src="http://example.com/x.png">'
                    '<script>console.error("boom")</script></body></html>')
    requests, console = render_in_chromium(page, tmp_path / "bad.png", 400, 300)
    assert any("example.com" in r for r in requests) and any('"boom"' in line for line in console)
