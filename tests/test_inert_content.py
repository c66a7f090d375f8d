"""Student content is inert wherever it is shown (issue 21), in a real Chromium.

A toy course is released, graded and given feedback through the CLI. Four students hand in:
``honest`` (right answers), ``markup`` (active HTML and links in markdown, raw cells,
attachments, metadata), ``outputs`` (cells that display every active output type: HTML,
JavaScript, SVG, markdown, LaTeX, widgets, broken images, image sizes), and ``leaky`` (a
submission that tries to bring the hidden tests back in its feedback: prints ``In``, in clear
and in base64, from its own cells and from a hook into the test cells' outputs, with full
tracebacks on, its test cells edited).

Every vector, if it ran, would change the page's title, open a dialog, send a request to a
listener of the test's, and write a file through the Jupyter API. Chromium opens each
feedback HTML (file://) and, with the instructor's Jupyter server running formgrader on the
course (how grading/README.md says to start it), each submission's manual-grading page and
formgrader's list pages; all links on every page are clicked. Nothing may run; formgrader's
own scripts must (its models load). Screenshots: ``tests/artifacts/inert/``.
"""

from __future__ import annotations

import base64
import http.server
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import ClassVar

import grading_support as gs
import nbformat
import pytest
import student_env as se
from nbformat.v4 import new_code_cell, new_markdown_cell

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SHOTS = se.ARTIFACTS / "inert"
TOY = "00_toy"
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
#: Text of the toy's hidden tests that must never reach a student.
HIDDEN = ('grade_hidden("toy.square"', '"seed": 11', '"seed": 21', '"seed": 12', "BEGIN HIDDEN TESTS")


class _Listener(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def _hit(self):
        _Listener.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    do_GET = do_POST = do_PUT = _hit

    def log_message(self, *args):
        pass


def _js(tag: str, port: int) -> str:
    """What a vector runs: every effect the test watches for (no double quotes: it sits in attributes)."""
    return (f"document.title='PWNED-{tag}';alert('{tag}');fetch('http://127.0.0.1:{port}/{tag}');"
            f"new Image().src='http://127.0.0.1:{port}/img-{tag}';"
            "fetch('/api/contents/pwned.txt',{method:'PUT',headers:{'Content-Type':'application/json',"
            "'X-XSRFToken':(document.cookie.match(/_xsrf=([^;]+)/)||[])[1]},"
            "body:JSON.stringify({type:'file',format:'text',content:'pwned'})})")


def _markup_cells(port: int) -> list:
    js = lambda tag: _js(tag, port)  # noqa: E731
    md = "\n\n".join([
        f'<img src=x onerror="{js("md-img")}">',
        f"<script>{js('md-script')}</script>",
        f'<svg onload="{js("md-svg")}"></svg>',
        f'<iframe srcdoc="&lt;script&gt;{js("md-iframe")}&lt;/script&gt;"></iframe>',
        f"[a markdown link](javascript:{js('md-link')})",
        f'<a href="javascript:{js("md-a")}">an HTML link</a>',
        f'<details open ontoggle="{js("md-details")}">x</details>',
        f'<math><maction actiontype="statusline" xlink:href="javascript:{js("md-math")}">m</maction></math>',
        f'<object data="data:text/html,&lt;script&gt;{js("md-object")}&lt;/script&gt;"></object>',
        f'<meta http-equiv="refresh" content="0;url=javascript:{js("md-meta")}">',
        f"<style>@import 'http://127.0.0.1:{port}/md-css';</style>",
        f"![an image](http://127.0.0.1:{port}/md-remote-image)",
        f'<form action="javascript:{js("md-form")}"><button>go</button></form>',
        "![attached](attachment:x.svg)",
    ])
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" onload="{js("attachment")}">'
           f'<script>{js("attachment2")}</script></svg>')
    cell = new_markdown_cell(md, attachments={"x.svg": {"image/svg+xml": svg}})
    cell.metadata["tags"] = ['"><img src=x onerror=alert(document.domain)>']  # nbformat: no comma in a tag
    forged = new_code_cell("x = 1", metadata={"nbgrader": {
        "grade_id": f'x"><img src=x onerror="{js("grade-id")}">', "grade": True, "points": 5,
        "solution": False, "locked": False, "schema_version": 3}})
    raw = nbformat.v4.new_raw_cell(f"<script>{js('raw')}</script>", metadata={"raw_mimetype": "text/html"})
    return [cell, forged, raw]


def _outputs_cell(port: int) -> str:
    js = _js("x", port).replace("x'", "'")  # a per-vector tag is set below
    lines = ["from IPython.display import display, HTML, Javascript", f"J = {js!r}",
             "def j(tag): return J.replace('PWNED-', 'PWNED-' + tag).replace('/img-', '/img-' + tag)"]
    for call in (
            "display(HTML('<img src=x onerror=\"' + j('html-img') + '\">'))",
            "display(HTML('<script>' + j('html-script') + '</script>'))",
            "display(Javascript(j('javascript')))",
            "display({'image/svg+xml': '<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"' + j('svg') + '\">"
            "<script>' + j('svg2') + '</script></svg>'}, raw=True)",
            "display({'text/markdown': '<img src=x onerror=\"' + j('markdown') + '\">'}, raw=True)",
            "display({'text/latex': '</div><img src=x onerror=\"' + j('latex') + '\">'}, raw=True)",
            "display({'application/vnd.jupyter.widget-view+json': {'model_id': '</script><script>' + j('widget') "
            "+ '</script>'}, 'text/plain': 'w'}, raw=True)",
            "display({'image/png': '\"><img src=x onerror=\"' + j('png') + '\">'}, raw=True)",
            f"display({{'image/png': {PNG!r}}}, metadata={{'image/png': {{'width': '1\" onload=\"' + j('size')}}}},"
            " raw=True)",
            "display({'text/html': '<a href=\"javascript:' + j('html-a') + '\">x</a>'}, raw=True)",
            "print('<script>' + j('stream') + '</script>')"):
        lines.append(call)
    return "\n".join(lines)


LEAK_HOOK = ("import os\nos.environ['HELPERS_FULL_TRACEBACK'] = '1'\n"
             "get_ipython().events.register('post_run_cell', lambda r: print('CELL:', r.info.raw_cell))\n")
LEAK_PRINT = ("import base64\nprint('\\n'.join(In))\n"
              "print(base64.b64encode('\\n'.join(In).encode()).decode())\n"
              "import linecache\nprint([''.join(v[2]) for v in linecache.cache.values() if isinstance(v, tuple)])\n")


def _submissions(release, source, port: int) -> dict:
    honest = gs.with_solutions(release, source)
    markup = gs.with_solutions(release, source)
    markup.cells[1:1] = _markup_cells(port)
    markup.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": "</script><script>" + _js("widget-state", port) + "</script>"}}
    markup.metadata["language_info"] = {"name": '"><script>' + _js("language", port) + "</script>"}
    outputs = gs.with_solutions(release, source)
    outputs.cells.insert(2, new_code_cell(_outputs_cell(port)))
    outputs.cells.append(new_code_cell(f"raise ValueError('<img src=x onerror=\"{_js('error', port)}\">')"))
    leaky = gs.with_solutions(release, source)
    tests = [i for i, c in enumerate(leaky.cells) if "grade_hidden" in c.source or gs._is_test(c)]
    for i in tests:  # edited test cells: the grader restores them
        leaky.cells[i].source += "\nprint(In[-1])"
    leaky.cells.insert(2, new_code_cell(LEAK_HOOK))
    leaky.cells.insert(tests[0] + 2, new_code_cell(LEAK_PRINT))
    leaky.cells.append(new_code_cell(LEAK_PRINT))
    return {"honest": honest, "markup": markup, "outputs": outputs, "leaky": leaky}


def _cli(course, *argv, env):
    done = subprocess.run([sys.executable, "-m", "grading.course", "--root", str(course.root), "--source",
                           str(course.source), *argv], cwd=gs.REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{argv}: {done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("inert")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Listener)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    source = tmp / "source"
    gs.make_toy_source(source, TOY)
    from grading.course.paths import Course

    course = Course(tmp / "course", source)
    env = {**os.environ, "COURSE_CHECK_MODULES": str(source / TOY / "toycheck.py"), "PYTHONPATH": str(gs.REPO)}
    _cli(course, "release", env=env)
    release = nbformat.read(course.root / "release" / TOY / "toy.ipynb", as_version=4)
    src = nbformat.read(source / TOY / "toy.ipynb", as_version=4)
    for student, nb in _submissions(release, src, port).items():
        folder = course.root / "submitted" / student / TOY
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / "toy.ipynb")
    _cli(course, "autograde", env=env)
    _cli(course, "feedback", env=env)
    yield {"course": course, "port": port, "env": env, "tmp": tmp}
    server.shutdown()


def _axe() -> Path:
    """axe-core's script, from the npm registry (installed once into the test artifacts)."""
    prefix = se.ARTIFACTS / "node"
    script = prefix / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise se.SetupFailed("npm is missing: sudo apt-get install npm (the accessibility test needs axe-core)")
        done = subprocess.run([npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(prefix),
                               "axe-core@4.14.1"], capture_output=True, text=True)
        if done.returncode or not script.exists():
            raise se.SetupFailed(f"npm install axe-core failed: {done.stderr[-1500:]}")
    return script


def _feedback(course, student) -> Path:
    return course.root / "feedback" / student / TOY / "toy.html"


def test_feedback_holds_no_hidden_test(graded):
    for student in ("honest", "markup", "outputs", "leaky"):
        page = _feedback(graded["course"], student).read_text()
        found = [h for h in HIDDEN if h in page]
        assert not found, (student, found)
        for token in re.findall(r"[A-Za-z0-9+/]{40,}={0,2}", page):
            try:
                text = base64.b64decode(token + "=" * (-len(token) % 4)).decode("utf-8", "replace")
            except ValueError:
                continue
            assert not [h for h in HIDDEN if h in text], (student, "base64")
    honest = _feedback(graded["course"], "honest").read_text()
    assert honest.count("✓ Passed") == 2 and honest.count("toy.square: all 2 hidden cases passed") == 2


def _watch(page, dialogs: list):
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))


def _click_everything(page):
    """Click what could run code when clicked (not plain http links: following one is the reader's choice)."""
    page.evaluate("() => { for (const a of document.querySelectorAll('a, button, details, summary, form input')) "
                  "{ const h = (a.getAttribute('href') || '').trim().toLowerCase(); "
                  "if (h.startsWith('http') || h.startsWith('/') || h.startsWith('#') || h.startsWith('?')) continue; "
                  "try { a.click(); } catch (e) {} } }")
    page.wait_for_timeout(300)


def _assert_inert(page, dialogs, where):
    assert not page.title().startswith("PWNED"), (where, page.title())
    assert not dialogs, (where, dialogs)


def test_feedback_pages_run_nothing(graded):
    chromium = se.ensure_chromium()
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    _Listener.hits.clear()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=se.CHROMIUM_ARGS)
        for student in ("honest", "markup", "outputs", "leaky"):
            page, dialogs = browser.new_page(), []
            _watch(page, dialogs)
            page.goto(_feedback(graded["course"], student).as_uri())
            page.wait_for_timeout(500)
            page.screenshot(path=str(SHOTS / f"feedback-{student}.png"), full_page=True)
            _click_everything(page)
            _assert_inert(page, dialogs, f"feedback {student}")
            page.close()
        browser.close()
    assert not _Listener.hits, _Listener.hits


def test_feedback_page_is_accessible(graded):
    """axe-core (WCAG 2 A/AA rules and best practices) finds nothing on the returned feedback pages."""
    chromium, axe = se.ensure_chromium(), _axe()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=se.CHROMIUM_ARGS)
        context = browser.new_context(bypass_csp=True)  # the page's policy would refuse the test's own script
        for student in ("honest", "outputs"):
            page = context.new_page()
            page.goto(_feedback(graded["course"], student).as_uri())
            page.add_script_tag(path=str(axe))
            found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                                  ".map(v => v.id + ': ' + v.nodes.length + ' ' + v.nodes[0].html.slice(0, 120))")
            assert found == [], (student, found)
            page.keyboard.press("Tab")  # the first stop is a link of the page, visibly focused
            assert page.evaluate("() => document.activeElement.tagName") in ("A", "PRE")
            page.close()
        browser.close()


def _formgrader(graded):
    """The instructor's Jupyter server on the course (grading/README.md: ``cd grading && jupyter lab``)."""
    port, token = se._free_port(), secrets.token_hex(16)
    home = graded["tmp"] / "instructor-home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in graded["env"].items() if not k.startswith("JUPYTER")}
    env.update(COURSE_ROOT=str(graded["course"].root), COURSE_SOURCE=str(graded["course"].source), HOME=str(home),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTER_CONFIG_DIR=str(home / "config"))
    cmd = [sys.executable, "-m", "jupyter", "server", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           f"--ServerApp.token={token}", f"--ServerApp.root_dir={graded['tmp']}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(home / "server.log", "w+")
    proc = subprocess.Popen(cmd, cwd=gs.REPO / "grading", env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    se.wait_until_up(url, token, proc, log, "the instructor's jupyter server")
    return proc, log, url, token


def test_formgrader_pages_run_nothing(graded):
    chromium = se.ensure_chromium()
    from nbgrader.api import Gradebook
    from playwright.sync_api import sync_playwright

    course = graded["course"]
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}", "default_course") as gb:
        ids = {s: gb.find_submission_notebook("toy", TOY, s).id for s in ("honest", "markup", "outputs", "leaky")}
    # a file a student handed in beside the notebook, served from the autograded folder
    (course.root / "autograded" / "markup" / TOY / "evil.html").write_text(
        f"<script>{_js('served-file', graded['port'])}</script>")
    proc, log, url, token = _formgrader(graded)
    _Listener.hits.clear()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True, args=se.CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1300, "height": 900})
            page, dialogs = context.new_page(), []
            _watch(page, dialogs)
            page.goto(f"{url}/?token={token}")
            pages = [f"/formgrader/submissions/{sid}/" for sid in ids.values()]
            pages += [f"/formgrader/submissions/{ids['markup']}/evil.html", "/formgrader/gradebook",
                      f"/formgrader/gradebook/{TOY}/toy", "/formgrader/manage_students",
                      "/formgrader/manage_students/markup", f"/formgrader/manage_students/markup/{TOY}",
                      # an id from a link a student crafted (no slash: it must reach the page's route)
                      "/formgrader/manage_students/%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(document.domain)%3E"]
            for n, path in enumerate(pages):
                response = page.goto(url + path)
                page.wait_for_timeout(800)
                policy = response.headers.get("content-security-policy", "")
                assert "default-src 'none'" in policy and "unsafe-inline' " not in policy.split("style-src")[0], \
                    (path, policy)
                if path.endswith("/") and "/submissions/" in path:
                    # formgrader's own scripts still run under the policy: its models and the page's variables
                    page.wait_for_function("() => typeof submission_id === 'string' && window.jQuery !== undefined")
                    assert page.locator(".score").count() >= 2, path
                page.screenshot(path=str(SHOTS / f"formgrader-{n:02d}.png"), full_page=True)
                _click_everything(page)
                page.goto(url + path)
                page.wait_for_timeout(300)
                _assert_inert(page, dialogs, path)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
    assert not _Listener.hits, _Listener.hits
    assert not (graded["tmp"] / "pwned.txt").exists()
    assert not list(graded["tmp"].rglob("pwned.txt"))
    shutil.rmtree(graded["tmp"] / "instructor-home", ignore_errors=True)
