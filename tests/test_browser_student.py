"""The student's side in a real browser: the bundle's JupyterLab driven by headless Chromium.

The bundle is built by the release step, installed by its README's pip route into its own
environment (``tests/student_env.py``), and served by that environment's JupyterLab. Chromium
(Debian's package, driven by Playwright) opens notebook 1, runs all, writes exercise 1 with
the most common mistake (a mean without ``keepdims``), runs its test cell and reads what the
page shows: the compact block, no library source, no nbgrader instructor UI. It then fixes
the exercise, sees the pass block, saves, and runs the bundle's ``validate.py``.

The student has unzipped their per-student variant token beside the notebook (grading/README.md,
"Per-student variants"): the page shows their own data seed and their hidden tests say
"(your variant, N)".

Screenshots (git-ignored): ``tests/artifacts/browser/*.png``, with ``validate.txt``.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import time

import pytest
import student_env as se

from grading.course import release, variants
from grading.course.paths import Course
from helpers.variants import TOKEN_FILE, seed

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SHOTS = se.ARTIFACTS / "browser"
NOTEBOOK = "notebooks/01_normalizing_inputs/normalizing_inputs.ipynb"
MISTAKE = ("def fit_normalization(X):\n"
           "    mu = np.mean(X, axis=1)\n"
           "    sigma2 = np.mean((X - mu) ** 2, axis=1)\n"
           "    return mu, sigma2\n")
FIXED = ("def fit_normalization(X):\n"
         "    mu = np.mean(X, axis=1, keepdims=True)\n"
         "    sigma2 = np.mean((X - mu) ** 2, axis=1, keepdims=True)\n"
         "    return mu, sigma2\n")
#: alovelace's variant of notebook 1 under a test secret
VARIANT = variants.variant_of(b"browser-test course secret, 0123456789", "alovelace", "01_normalizing_inputs")
#: Library source or paths that must never be on the student's page.
LIBRARY = ("helpers/checks", "site-packages", "raise CheckFailure", "def check_fit_visible", "hints = {",
           "def call_student", "expect_array(result", "_render_traceback_")
#: nbgrader's instructor UI in JupyterLab.
INSTRUCTOR_UI = ("Nbgrader", "Formgrader", "Create Assignment", "Assignment List", "Error fetching courses",
                 "exchange directory", "Validate")


@pytest.fixture(scope="module")
def bundle():
    """The student bundle, at a fixed path (its environment is cached against it)."""
    root = SHOTS / "course"
    out = release.release(Course(root, se.REPO / "notebooks"), log=lambda *a: None)
    assert not (out / "helpers" / "_reference").exists()
    # the student's own token, as their token zip unpacks it (grading.course.variants.write_tokens)
    (out / NOTEBOOK).with_name(TOKEN_FILE).write_text(json.dumps(
        {"assignment": "01_normalizing_inputs", "student": "alovelace", "variant": VARIANT}))
    return out


def _wait_idle(page, timeout=120_000):
    page.wait_for_timeout(300)  # let the click/keys queue the execution
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.jp-Notebook .jp-InputPrompt')].some(e => e.textContent.includes('*'))",
        timeout=timeout)


def _cell(page, text: str):
    return page.locator(".jp-Notebook .jp-Cell").filter(has_text=text).first


def _type_into(page, cell, code: str):
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(code)  # as pasted: no auto-indent or bracket closing


def _run_selected(page, times=1):
    for _ in range(times):
        page.keyboard.press("Shift+Enter")
        _wait_idle(page)


def _run_cell(page, cell):
    cell.locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("Shift+Enter")
    _wait_idle(page)


def _lines(locator) -> list[str]:
    return [ln for ln in locator.inner_text().splitlines() if ln.strip()]


def _assert_every_package_pinned(python, bundle):
    """The pip route installed nothing the bundle's constraints.txt does not pin, at that version."""
    canonical = lambda name: re.sub(r"[-_.]+", "-", name).lower()  # noqa: E731
    pins = {canonical(line.split("==")[0]): line.split("==")[1].strip()
            for line in (bundle / "constraints.txt").read_text().splitlines()
            if "==" in line and not line.startswith("#")}
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format=json", "--exclude-editable"],
                            capture_output=True, text=True, check=True)
    installed = {canonical(p["name"]): p["version"] for p in json.loads(listed.stdout)}
    seeds = {"pip", "setuptools", "wheel"}  # what the venv itself starts with
    loose = {n: v for n, v in installed.items() if n not in seeds and pins.get(n) != v}
    assert not loose, f"installed without (or against) a pin in the bundle's constraints.txt: {loose}"
    litter = [p.name for p in bundle.iterdir() if p.name.endswith((".egg-info", ".dist-info")) or p.name == "build"]
    assert not litter, f"the install left build files in the student's folder: {litter}"


def test_student_bundle_in_jupyterlab(bundle):
    started = time.monotonic()
    chromium = se.ensure_chromium()
    python = se.student_environment(bundle)
    shown = subprocess.run([str(python), "-m", "pip", "show", "nbgrader"], capture_output=True, text=True)
    assert shown.returncode != 0, "nbgrader is installed in the student environment"
    _assert_every_package_pinned(python, bundle)
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    with se.jupyterlab(python, bundle) as (url, token, _home, env), sync_playwright() as pw, \
            tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        browser = pw.chromium.launch_persistent_context(
            profile, executable_path=chromium, headless=True, args=se.CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000})
        page = browser.pages[0] if browser.pages else browser.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{url}/lab/tree/{NOTEBOOK}?token={token}")
        page.wait_for_selector(".jp-Notebook .jp-Cell")
        page.wait_for_function("() => document.querySelector('.jp-Notebook-ExecutionIndicator') !== null")
        page.wait_for_timeout(1500)  # the kernel starts

        # --- no instructor UI: the menus are JupyterLab's own, nothing of nbgrader anywhere
        menus = [m.strip() for m in page.locator(".lm-MenuBar-itemLabel").all_inner_texts()]
        assert menus[:4] == ["File", "Edit", "View", "Run"], menus
        body = page.inner_text("body")
        assert not [w for w in INSTRUCTOR_UI if w in menus or w in body], menus
        tabs = " ".join(t.get_attribute("title") or "" for t in page.locator(".lm-TabBar-tab").all())
        assert "Assignment" not in tabs and "nbgrader" not in tabs.lower(), tabs

        # --- Run > Run All Cells: the untouched exercise stops the run with its short message
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
        _wait_idle(page)
        call_cell = _cell(page, "mu, sigma2 = call_student(fit_normalization, X_train)")
        call_cell.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "01-run-all-untouched.png"))
        assert "fit_normalization is not written yet" in call_cell.locator(".jp-OutputArea").inner_text()
        setup = _cell(page, "VARIANT = variants.current()")
        setup.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "00-your-variant.png"))
        said = setup.locator(".jp-OutputArea").inner_text().strip()
        assert said == f"data seed: {seed(1, VARIANT)} (your variant, {VARIANT})", said

        # --- exercise 1 with the keepdims mistake, then its test cell
        solution = _cell(page, "def fit_normalization(X):")
        _type_into(page, solution, MISTAKE)
        _run_selected(page, times=2)  # the solution cell, then the cell that tries it
        test_cell = _cell(page, '"""Exercise 1: mu and sigma2')
        _run_cell(page, test_cell)
        output = test_cell.locator(".jp-OutputArea")
        output.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "02-keepdims-mistake.png"))
        output.screenshot(path=str(SHOTS / "02b-keepdims-mistake-output.png"))
        lines = _lines(output)
        assert len(lines) <= 8, lines
        assert lines[0] == "✗ Exercise 1: fit_normalization crashed (test cell, line 4)", lines
        assert re.fullmatch(r"Cell In\[\d+\], line 3, in fit_normalization", lines[1].strip()), lines
        assert lines[2].strip() == "sigma2 = np.mean((X - mu) ** 2, axis=1)", lines
        assert lines[3] == "ValueError: operands could not be broadcast together with shapes (2,4) (2,)", lines
        assert lines[4].startswith("Hint: ") and "keepdims=True" in lines[4], lines
        box, viewport = output.bounding_box(), page.viewport_size
        assert box["height"] < 260 and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], box
        body = page.inner_text("body")
        assert not [s for s in LIBRARY if s in body], [s for s in LIBRARY if s in body]

        # --- fixed: the pass block, with the points
        _type_into(page, solution, FIXED)
        _run_selected(page, times=2)
        _run_cell(page, test_cell)
        output.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "03-fixed-passes.png"))
        passed = output.inner_text()
        assert "✓ Exercise 1: visible tests passed." in passed, passed
        assert "Worth 4 points" in passed and "hidden tests" in passed, passed
        assert f"on inputs you have not seen, drawn for your variant ({VARIANT})," in passed, passed
        assert not test_cell.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count()

        # --- save, then the bundle's validate.py, as the README says
        page.keyboard.press("Control+s")
        path = bundle / NOTEBOOK
        deadline = time.monotonic() + 30
        while "keepdims=True)\\n" not in path.read_text() and time.monotonic() < deadline:
            time.sleep(0.3)
        browser.close()
        done = subprocess.run([str(python), "validate.py", NOTEBOOK], cwd=bundle, env=env,
                              capture_output=True, text=True, timeout=300)
    (SHOTS / "validate.txt").write_text(done.stdout + done.stderr)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out  # exercises 2 and 3 are still to do
    assert "  Exercise 1 (4 points): passed" in out, out
    assert "  Exercise 2 (4 points): FAILED - normalize is not written yet" in out, out
    assert "Next: fix Exercise 2" in out.splitlines()[-1], out
    assert not re.search(r"<span|</|\x1b\[|WARNING|Traceback", out), out
    assert time.monotonic() - started < 600
