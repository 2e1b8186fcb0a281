"""The HTML report opened in headless Chromium: tables and images render, no console errors.

Two independent checks: the page's own probe (reports/html.py) writes image/table/error counts
onto <body>, read back with --dump-dom; and a screenshot is checked pixel by pixel for the table
header colour and the two flat colours of the fixture's sample grids (real blue, synthetic red).
A deliberately broken page must fail the same checks, so they cannot pass vacuously.
"""
import base64
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from augbench.reports.build import build_report, report_html
from augbench.reports.html import PROBE

HEADER_RGB = (0xEE, 0xF2, 0xF7)     # table.report thead th background
FAKE_RGB, REAL_RGB = (200, 40, 40), (40, 40, 200)  # the fixture's samples.png / real.png
WINDOW = (1280, 9000)


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("headless Chromium not found: install it (scripts/system-deps.sh, Debian package `chromium`)")
    return path


def run_chromium(page, tmp_path, *mode) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{mode[0].strip('-').split('=')[0]}"
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={profile}",
           f"--window-size={WINDOW[0]},{WINDOW[1]}", "--virtual-time-budget=5000", "--enable-logging=stderr",
           "--v=0", *mode, page.resolve().as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)


def dom_check(page, tmp_path) -> list[str]:
    """Problems found by loading the page; empty when it rendered cleanly."""
    result = run_chromium(page, tmp_path, "--dump-dom")
    body = re.search(r"<body([^>]*)>", result.stdout)
    if not body:
        return [f"no <body> in the dumped DOM (chromium exit {result.returncode}): {result.stderr[-500:]}"]
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body.group(1)))
    problems = []
    if attrs.get("ready") != "yes":
        problems.append("the page's load handler never ran")
    if attrs.get("errors", "1") != "0":
        problems.append(f"page errors: {attrs.get('error-text')}")
    if int(attrs.get("images", 0)) == 0 or attrs.get("images-ok") != attrs.get("images"):
        problems.append(f"images decoded {attrs.get('images-ok')} of {attrs.get('images')}")
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    problems += [f"console: {line}" for line in console]
    return problems


def pixel_counts(shot) -> dict:
    """Exact-colour pixel counts (flat CSS fills and unscaled PNG blocks render without blending)."""
    rgb = np.asarray(Image.open(shot).convert("RGB")).astype(np.int32)
    codes, counts = np.unique((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2], return_counts=True)
    histogram = dict(zip(codes.tolist(), counts.tolist()))

    def count(color):
        return histogram.get((color[0] << 16) | (color[1] << 8) | color[2], 0)

    return {"non_white": 1 - count((255, 255, 255)) / (rgb.shape[0] * rgb.shape[1]), "header": count(HEADER_RGB),
            "fake": count(FAKE_RGB), "real": count(REAL_RGB)}


@pytest.fixture(scope="module")
def html_page(store, tmp_path_factory):
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(report_html(build_report(store, figures=True)), encoding="utf-8")
    return path


def test_report_is_self_contained(html_page):
    text = html_page.read_text()
    assert not re.search(r'(src|href)="(https?:)?//', text), "external resource referenced"
    assert "<link rel=\"stylesheet\"" not in text and "<script src" not in text
    images = re.findall(r'<img [^>]*src="data:image/png;base64,([^"]+)"', text)
    assert len(images) >= 6  # 2 metric curves, heatmap, samples, t-SNE, training curves
    for b64 in images:
        assert base64.b64decode(b64).startswith(b"\x89PNG")


def test_chromium_renders_tables_and_images_without_errors(html_page, tmp_path):
    assert dom_check(html_page, tmp_path) == []
    shot = tmp_path / "report.png"
    result = run_chromium(html_page, tmp_path, f"--screenshot={shot}")
    assert shot.is_file(), result.stderr[-1000:]
    px = pixel_counts(shot)
    assert px["non_white"] > 0.03, px                # text, tables and figures drawn
    assert px["header"] > 20 * 1000, px               # many table header cells painted
    # the fixture's sample grids are flat 96x40 colour blocks: each must be on screen in full
    assert px["fake"] >= 96 * 40 and px["real"] >= 96 * 40, px


def test_the_checks_fail_on_a_broken_page(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text(f"<!DOCTYPE html><html><head><link rel='icon' href='data:,'><script>{PROBE}</script></head>"
                   "<body><table class='report'><tr><td>x</td></tr></table>"
                   "<img src='data:image/png;base64,AAAA'><script>notDefined();</script></body></html>")
    problems = " ".join(dom_check(bad, tmp_path))
    assert "notDefined" in problems and "images decoded 0 of 1" in problems
    shot = tmp_path / "bad.png"
    run_chromium(bad, tmp_path, f"--screenshot={shot}")
    px = pixel_counts(shot)
    assert px["fake"] == 0 and px["header"] < 20 * 1000
