"""The page at / in a real headless Chromium (Debian's, driven by Playwright; no browser is downloaded): a
generated clip chosen in the file input is uploaded, the taggram and the bars are drawn (canvas pixels,
not blank), a screenshot is saved; a non-audio file dropped on the page shows the server's error; every
request the page makes goes to the server itself.

Chromium comes from scripts/get_chromium.sh when it is missing: under CI (CI set) a browser that cannot be
had fails the test; elsewhere the test is skipped with the reason.
"""

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.models import write_tone
from tests.helpers.processes import ROOT
from tests.helpers.serving import Server, narrow_onnx

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 90_000
# Counts, in the drawn canvas, the pixels that are painted (not transparent) and their distinct colours.
PAINTED = """(id) => {
  const canvas = document.getElementById(id);
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  const colours = new Set();
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 0) {
      painted += 1;
      colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    }
  }
  return {painted, colours: colours.size, total: data.length / 4};
}"""


@pytest.fixture(scope="module")
def chromium():
    """/usr/bin/chromium, installed by scripts/get_chromium.sh when missing."""
    if not CHROMIUM.exists():
        got = subprocess.run(
            ["bash", "scripts/get_chromium.sh"], cwd=ROOT, capture_output=True, text=True, timeout=1500
        )
        if got.returncode != 0 or not CHROMIUM.exists():
            reason = f"no {CHROMIUM}, and scripts/get_chromium.sh could not install it: {got.stderr.strip()[-300:]}"
            if os.environ.get("CI"):
                pytest.fail(reason)
            pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
def page_setup(tmp_path_factory, mindspore_cpu, chromium):
    from playwright.sync_api import sync_playwright

    root = tmp_path_factory.mktemp("serve_page")
    clip = write_tone(root / "three_windows.wav", 70.0, 16000, seed=4)
    (root / "notes.txt").write_text("not audio\n")
    with Server("--model", str(narrow_onnx(root / "onnx"))) as server, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(root / "profile"), executable_path=str(chromium), headless=True, args=FLAGS
        )
        try:
            page = context.new_page()
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            page.goto(server.base + "/")
            yield {"page": page, "server": server, "clip": clip, "root": root, "requested": requested}
        finally:
            context.close()


def test_a_chosen_clip_is_uploaded_and_its_taggram_and_bars_are_drawn(page_setup):
    page, root = page_setup["page"], page_setup["root"]
    page.wait_for_selector("#model:has-text('fcn4.onnx')", timeout=TIMEOUT_MS)
    page.set_input_files("#file", str(page_setup["clip"]))
    page.wait_for_selector("body[data-state=done]", timeout=TIMEOUT_MS)
    assert page.get_attribute("#taggram", "data-drawn") == "true"
    assert "3 window(s)" in page.text_content("#track")
    taggram = page.evaluate(PAINTED, "taggram")
    assert taggram["painted"] > 0.5 * taggram["total"] and taggram["colours"] > 20, taggram  # a heatmap, not blank
    bars = page.evaluate(PAINTED, "bars")
    assert bars["painted"] > 0.05 * bars["total"], bars
    shot = root / "serve.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    requested = page_setup["requested"]
    assert any(url.endswith("/v1/tag") for url in requested)
    assert all(url.startswith(page_setup["server"].base + "/") for url in requested), requested


def test_a_dropped_non_audio_file_shows_the_servers_error(page_setup):
    page = page_setup["page"]
    dropped = page.evaluate_handle(
        "() => { const d = new DataTransfer(); d.items.add(new File(['not audio'], 'notes.txt')); return d; }"
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": dropped})
    page.wait_for_selector("body[data-state=error]", timeout=TIMEOUT_MS)
    assert "not audio this server can decode" in page.text_content("#error")
    assert page.is_hidden("#result")
