"""The course on a real JupyterHub, end to end, with real Unix accounts (grading/HUB.md).

The set-up (as root; it fails, never skips, when it cannot) installs what the Hub needs with
``python -m hub install``: the users' environment from PyPI (cached between runs in
``/var/cache/dl-opt-setup-hub/env``, rebuilt when a pin changes), configurable-http-proxy from
npm, the role configs, nbgrader's exchange, and three accounts created with ``useradd`` (one
instructor, two students; random names, removed afterwards). The instructor's clone of the
repository (grading/, helpers/ with the reference, hub/) and a toy assignment live in the
instructor's home (mode 0700). The Hub runs on 127.0.0.1 with its real proxy and local process
spawner; students are driven through the Hub's REST API and their own servers' APIs (contents,
nbgrader's assignment list and validate), the instructor's steps run as the instructor's account;
one student also logs in through the Hub's login page (PAM) in headless Chromium and opens the
Assignments tab (screenshots before and after feedback in tests/artifacts/hub/). The course's
course.toml turns per-student variants on for the toy assignment: the Hub derives each student's
variant from their user name and the course secret (the instructor's file, mode 0600).

Asserted: the Assignments tab's data before fetch, after submit and after feedback; the release
notebook and the student edition of ``helpers`` in the student's kernel; validate (clean for
the correct student, the failing test named for the other); the exact grades (5/5 and 3/5) in
the sandboxed autograde report and grades.csv; each student's own feedback through the exchange;
no instructor UI on students' servers (formgrader 404, its JupyterLab plugins disabled) but on
the instructor's; and, as the real users, that a student cannot read the other's home, the
exchange's inbound folder or feedback folder listings, the instructor's course, reference or
gradebook, nor reach the other's server with their own token. Variants: each student's kernel
(in ~/<assignment>/) finds their own variant and only theirs, the two differ, the instructor's
server gets none; the hidden tests record on that variant in the student's kernel and in the
grader (5/5 and 3/5 on each student's own variant); a hand-in forged under the other student's
name is set aside by collect; the secret is unreadable by students, absent from the exchange, the
release and the servers' environments, and a secret readable by others stops a student's spawn.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import grading_support as gs
import nbformat
import pytest
import requests

from grading.course.variants import variant_of
from helpers.checks.core import PAYLOAD_KEY

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
ENV_CACHE = Path(os.environ.get("COURSE_HUB_TEST_ENV", "/var/cache/dl-opt-setup-hub/env"))
COURSE_ID = "dl-opt-setup"
A = "00_toy"
WRONG = "def square_again(x):\n    \"\"\"x squared.\"\"\"\n    return x * 2\n"
#: memory of each user's server (python -m hub install --mem-limit): room for the server and two kernels
MEM_LIMIT = "1G"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as(user: str, *cmd, check=False, env=None, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    """Run ``cmd`` as the Unix account ``user`` (runuser), with a clean environment."""
    home = pwd.getpwnam(user).pw_dir
    base = {"HOME": home, "USER": user, "LOGNAME": user, "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
    full = ["runuser", "-u", user, "--", "env", "-i", *[f"{k}={v}" for k, v in {**base, **(env or {})}.items()],
            *map(str, cmd)]
    done = subprocess.run(full, capture_output=True, text=True, cwd=cwd or home, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"{user}$ {' '.join(map(str, cmd))} -> {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


def _kill_user_processes(user: str) -> None:
    """Stop what the Hub started for ``user`` (their servers and kernels), by process id."""
    uid = pwd.getpwnam(user).pw_uid
    for _ in range(2):
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                with contextlib.suppress(OSError):
                    if proc.stat().st_uid == uid:
                        os.kill(int(proc.name), signal.SIGKILL)
        time.sleep(0.5)


class Hub:
    """A running Hub and what the test needs to talk to it."""

    def __init__(self, url, token, prefix, instructor, students, clone, proc, secret, others=(), port=0):
        self.url, self.token, self.prefix = url, token, Path(prefix)
        self.instructor, self.students, self.clone, self.proc = instructor, students, Path(clone), proc
        #: students with an account on the Hub whose servers never start (they write to the exchange by hand)
        self.others = list(others)
        self.port = port
        #: the course secret of per-student variants (in the instructor's course root, mode 0600)
        self.secret, self.secret_file = secret, self.clone / "term" / "variant-secret"
        self.tokens: dict[str, str] = {}
        #: the users' environment (the course's pins): the instructor's course tools run in it too
        self.python = Path(json.loads((self.prefix / "etc" / "hub.json").read_text())["env"]) / "bin" / "python"

    def api(self, method, path, **kw):
        r = requests.request(method, f"{self.url}/hub/api/{path}", headers={"Authorization": f"token {self.token}"},
                             timeout=60, **kw)
        assert r.status_code < 400, f"{method} {path}: {r.status_code} {r.text[:500]}\n{self.log()[-3000:]}"
        return r.json() if r.text else None

    def start_server(self, user: str) -> str:
        """Start ``user``'s server through the REST API; returns a token of that user."""
        self.api("POST", f"users/{user}/server")
        deadline = time.time() + 180
        while time.time() < deadline:
            server = self.api("GET", f"users/{user}").get("servers", {}).get("")
            if server and server.get("ready"):
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"{user}'s server did not start:\n{self.log()[-3000:]}")
        self.tokens[user] = self.api("POST", f"users/{user}/tokens", json={"note": "hub e2e test",
                                                                           "expires_in": 3600})["token"]
        return self.tokens[user]

    def user(self, method, user, path, *, as_user=None, **kw) -> requests.Response:
        """A request to ``user``'s server, authenticated as ``as_user`` (default: ``user``)."""
        token = self.tokens[as_user or user]
        return requests.request(method, f"{self.url}/user/{user}/{path}", timeout=300,
                                headers={"Authorization": f"token {token}"}, allow_redirects=False, **kw)

    def ok(self, method, user, path, **kw):
        r = self.user(method, user, path, **kw)
        assert r.status_code < 300, f"{user}: {method} {path}: {r.status_code} {r.text[:1000]}\n{self.log()[-2000:]}"
        return r.json() if r.text else None

    def log(self) -> str:
        path = self.prefix / "hub.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def instructor_run(self, *args, check=True) -> subprocess.CompletedProcess:
        """``python -m <args>`` as the instructor, in their clone (the course's environment's Python)."""
        env = {"COURSE_HUB_PREFIX": str(self.prefix), "COURSE_CELL_TIMEOUT": "60",
               "COURSE_CHECK_MODULES": str(self.clone / "source" / A / "toycheck.py"),
               "OPENBLAS_NUM_THREADS": "1"}
        return _as(self.instructor, self.python, "-m", *args, check=check, env=env, cwd=self.clone)

    def course(self, *args, check=True):
        return self.instructor_run("grading.course", "--root", self.clone / "term", "--source",
                                   self.clone / "source", *args, check=check)

    def hub_step(self, *args, check=True):
        return self.instructor_run("hub", args[0], "--root", self.clone / "term", "--source",
                                   self.clone / "source", *args[1:], check=check)


def _instructor_clone(home: Path, owner: str, students: list[str], secret: str) -> Path:
    """The instructor's clone of the repository (the parts grading needs), a toy assignment source and the
    course root ``term/``, whose course.toml turns per-student variants on for the toy (roster: the students)."""
    clone = home / "course"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "release", "submitted", "autograded", "feedback",
                                    "bundle", "logs", ".student_helpers", "gradebook.db", "returned", "versions",
                                    "exports", "downloaded", "withdrawn")
    for part in ("grading", "helpers", "hub"):
        shutil.copytree(REPO / part, clone / part, ignore=ignore)
    for name in ("constraints.txt", "pyproject.toml", "environment.yml"):
        shutil.copy(REPO / name, clone / name)
    gs.make_toy_source(clone / "source", A)
    term = clone / "term"
    term.mkdir()
    (term / "course.toml").write_text(
        '[course]\nname = "hub e2e"\nvariant_secret_file = "variant-secret"\n\n'
        f'[assignments.{A}]\nvariants = true\n\n' + "".join(f'[[students]]\nid = "{s}"\n\n' for s in students))
    (term / "variant-secret").write_text(secret + "\n")
    os.chmod(term / "variant-secret", 0o600)
    # the formgrader in the instructor's server reads the course's configuration (grading/HUB.md)
    (home / ".jupyter").mkdir(exist_ok=True)
    (home / ".jupyter" / "nbgrader_config.py").write_text(
        "import os\n"
        f"os.environ.setdefault('COURSE_ROOT', {str(clone / 'term')!r})\n"
        f"os.environ.setdefault('COURSE_SOURCE', {str(clone / 'source')!r})\n"
        f"load_subconfig({str(clone / 'grading' / 'nbgrader_config.py')!r})  # noqa: F821\n")
    subprocess.run(["chown", "-R", f"{owner}:{owner}", str(home / ".jupyter")], check=True)
    subprocess.run(["chown", "-R", f"{owner}:{owner}", str(clone)], check=True)
    return clone


@pytest.fixture(scope="module")
def hub():
    if os.geteuid() != 0:
        pytest.fail("the JupyterHub test needs root: it creates Unix accounts (useradd) and the Hub spawns each "
                    "user's server as that user. Run `make test` as root (CI does).")
    for tool in ("useradd", "userdel", "runuser", "npm", "node", "bwrap"):
        if shutil.which(tool) is None:
            pytest.fail(f"the JupyterHub test needs `{tool}` (Node.js/npm: apt-get install nodejs npm; "
                        "bwrap: make sandbox)")
    tag = secrets.token_hex(3)
    instructor, students, others = f"dlo{tag}i", [f"dlo{tag}a", f"dlo{tag}b"], [f"dlo{tag}c", f"dlo{tag}d"]
    prefix = Path(tempfile.mkdtemp(prefix="course-hub-"))
    port = _free_port()
    token = secrets.token_hex(24)
    secret = secrets.token_hex(32)
    proc = None
    try:
        install = subprocess.run(
            [PY, "-m", "hub", "--prefix", prefix, "install", "--course-id", COURSE_ID, "--instructor", instructor,
             *[a for s in students + others for a in ("--student", s)], "--env", ENV_CACHE, "--create-accounts",
             "--port", str(port), "--hub-port", str(_free_port()), "--proxy-api-port", str(_free_port()),
             "--course-root", f"~{instructor}/course/term", "--mem-limit", MEM_LIMIT, "--cpu-limit", "1"],
            cwd=REPO, capture_output=True, text=True, timeout=900)
        if install.returncode != 0:
            pytest.fail(f"python -m hub install failed:\n{install.stdout}\n{install.stderr}")
        clone = _instructor_clone(Path(pwd.getpwnam(instructor).pw_dir), instructor, students + others, secret)
        log = open(prefix / "hub.log", "w")
        proc = subprocess.Popen([PY, "-m", "hub", "--prefix", str(prefix), "start"], cwd=REPO, stdout=log,
                                stderr=subprocess.STDOUT, env={**os.environ, "COURSE_HUB_API_TOKEN": token},
                                start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 120
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{url}/hub/api/", timeout=5).status_code == 200:
                    break
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail(f"the Hub did not start:\n{(prefix / 'hub.log').read_text()[-4000:]}")
            time.sleep(0.5)
        yield Hub(url, token, prefix, instructor, students, clone, proc, secret, others, port)
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the Hub stops the users' servers and its proxy
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for user in (instructor, *students, *others):
            with contextlib.suppress(KeyError):
                _kill_user_processes(user)
                subprocess.run(["userdel", "--remove", user], capture_output=True)
        if (prefix / "hub.log").exists():  # kept for a look after a failure
            shutil.copy(prefix / "hub.log", Path(tempfile.gettempdir()) / "course-hub-e2e-last.log")
        shutil.rmtree(prefix, ignore_errors=True)


def _assignments(hub: Hub, user: str) -> dict:
    listing = hub.ok("GET", user, f"assignments?course_id={COURSE_ID}")
    assert listing["success"], listing
    return {a["assignment_id"]: a for a in listing["value"]}


def _page_config(hub: Hub, user: str) -> dict:
    r = hub.user("GET", user, "lab")
    assert r.status_code == 200, r.status_code
    m = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', r.text, re.S)
    assert m, r.text[:500]
    return json.loads(m.group(1))


def _in_kernel(hub: Hub, user: str, code: str, path: str = "") -> tuple[str, list[dict]]:
    """Run ``code`` in a new kernel of ``user``'s own server, working folder ``path`` (websocket through the
    Hub's proxy, as JupyterLab does); returns its printed text and the metadata of its displays."""
    kernel = hub.ok("POST", user, "api/kernels", json={"name": "python3", "path": path})
    try:
        return _execute(hub, user, kernel["id"], code)
    finally:
        hub.user("DELETE", user, f"api/kernels/{kernel['id']}")


def _execute_request(user: str, code: str) -> tuple[str, str]:
    """A Jupyter ``execute_request`` message for a kernel's websocket: its id and its text."""
    import datetime as dt

    msg_id = secrets.token_hex(8)
    header = {"msg_id": msg_id, "msg_type": "execute_request", "username": user, "session": secrets.token_hex(8),
              "version": "5.3", "date": dt.datetime.now(dt.timezone.utc).isoformat()}
    return msg_id, json.dumps({"header": header, "parent_header": {}, "metadata": {}, "channel": "shell",
                               "content": {"code": code, "silent": False, "store_history": False,
                                           "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}})


def _execute(hub: Hub, user: str, kernel: str, code: str) -> tuple[str, list[dict]]:
    """Run ``code`` in the kernel ``kernel`` of ``user``'s server; its printed text and its displays' metadata."""
    import asyncio

    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    async def run():
        url = f"ws{hub.url[4:]}/user/{user}/api/kernels/{kernel}/channels"
        ws = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {hub.tokens[user]}"}))
        msg_id, request = _execute_request(user, code)
        ws.write_message(request)
        text, displays = [], []
        try:
            while True:
                raw = await asyncio.wait_for(ws.read_message(), 120)
                assert raw is not None, f"{user}'s kernel closed its channels: {''.join(text)}"
                msg = json.loads(raw)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    text.append(content["text"])
                elif kind == "display_data":
                    displays.append(content.get("metadata", {}))
                elif kind == "error":
                    raise AssertionError(f"{user}'s kernel: {content['ename']}: {content['evalue']}")
                elif kind == "status" and content["execution_state"] == "idle":
                    return "".join(text), displays
        finally:
            ws.close()

    return asyncio.run(run())


#: In a student's kernel: the environment and variant it sees, and one hidden test's record.
KERNEL_PROBE = """import json, os
import toycheck
from helpers import variants
from helpers.checks import grade_hidden
print(json.dumps({"cwd": os.getcwd(), "variant": variants.current(), "env": dict(os.environ)}))
grade_hidden("toy.square", lambda x: x ** 2, cases=[{"seed": 1, "n": 3}])
"""


def _recorded_variants(path: Path) -> set[int]:
    """The variants the hidden tests of an autograded notebook said they recorded on ("(your variant, N)"; the
    grader keeps that text and drops the records themselves)."""
    nb = nbformat.read(path, as_version=4)
    texts = [out.get("data", {}).get("text/plain", "") for cell in nb.cells for out in cell.get("outputs", [])]
    return {int(v) for text in texts for v in re.findall(r"\(your variant, (\d+)\)", "".join(text))}


def _terminal(hub: Hub, user: str, command: str, until: str = r"EXIT=(\d+)", timeout: float = 600) -> str:
    """Type ``command`` into a new terminal of ``user``'s server (JupyterLab's terminal: a websocket through the
    Hub's proxy) and return what it printed up to ``until`` (a pattern the typed line's echo cannot match)."""
    import asyncio

    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    name = hub.ok("POST", user, "api/terminals")["name"]

    async def run():
        url = f"ws{hub.url[4:]}/user/{user}/terminals/websocket/{name}"
        ws = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {hub.tokens[user]}"}))
        ws.write_message(json.dumps(["stdin", command + "\r"]))
        out, end = [], time.time() + timeout
        try:
            while not re.search(until, "".join(out)):
                raw = await asyncio.wait_for(ws.read_message(), max(1.0, end - time.time()))
                assert raw is not None, f"{user}'s terminal closed: {''.join(out)[-2000:]}"
                msg = json.loads(raw)
                if msg[0] == "stdout":
                    out.append(msg[1])
        finally:
            ws.close()
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r", "", "".join(out))

    try:
        return asyncio.run(run())
    finally:
        hub.user("DELETE", user, f"api/terminals/{name}")


def _server_groups(hub: Hub, user: str) -> list[Path]:
    """The control groups of ``user``'s server (hub/limits.py: one per server, named after the Hub)."""
    from hub import limits

    bases, why = limits.bases()
    assert not why, why
    return [base / limits.group_name(f"{COURSE_ID}-{hub.port}", user) for base in bases]


def _oom_kills(groups: list[Path]) -> int:
    """How many processes the kernel's out-of-memory killer has killed in these groups (v1 or v2 counters)."""
    total = 0
    for group in groups:
        for name in ("memory.oom_control", "memory.events"):
            if (group / name).exists():
                m = re.search(r"^oom_kill (\d+)$", (group / name).read_text(), re.M)
                total += int(m.group(1)) if m else 0
    return total


def _hog(hub: Hub, user: str, kernel: str, code: str, groups: list[Path], timeout: float = 90) -> None:
    """Start ``code`` in ``user``'s kernel and wait until the out-of-memory killer has acted in ``groups``."""
    import asyncio

    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    async def run():
        url = f"ws{hub.url[4:]}/user/{user}/api/kernels/{kernel}/channels"
        ws = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {hub.tokens[user]}"}))
        ws.write_message(_execute_request(user, code)[1])
        end = time.time() + timeout
        try:
            while _oom_kills(groups) == 0:
                assert time.time() < end, f"{user}'s memory hog was not killed within {timeout} s"
                await asyncio.sleep(0.5)
        finally:
            ws.close()

    asyncio.run(run())


def _digest(path: Path) -> dict[str, str]:
    """Every entry below ``path`` (itself included): its kind and content hash (files) or link target."""
    import hashlib

    out = {}
    for p in [path, *sorted(path.rglob("*"))]:
        rel = str(p.relative_to(path))
        if p.is_symlink():
            out[rel] = "link " + os.readlink(p)
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


def _nbgrader_time(when: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(when, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


SHOTS = REPO / "tests" / "artifacts" / "hub"


@contextlib.contextmanager
def _lab(hub: Hub, user: str, password: str):
    """Headless Chromium logged in through the Hub's login page (PAM) as ``user``; yields JupyterLab's page."""
    import student_env as se
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        browser = pw.chromium.launch_persistent_context(profile, executable_path=se.ensure_chromium(), headless=True,
                                                        args=se.CHROMIUM_ARGS, viewport={"width": 1300, "height": 800})
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            page.set_default_timeout(60_000)
            page.goto(f"{hub.url}/hub/login")
            page.fill("#username_input", user)
            page.fill("#password_input", password)
            page.click("#login_submit")
            page.wait_for_url(re.compile(rf".*/user/{user}/lab.*"))
            yield page
        finally:
            browser.close()


def _nbgrader_menu(page, item: str) -> str:
    """Open JupyterLab's Nbgrader menu, pick ``item``; returns the menu's items."""
    page.locator(".lm-MenuBar-item", has_text="Nbgrader").first.click()
    items = page.locator(".lm-Menu-item:visible").all_inner_texts()
    page.locator(".lm-Menu-item", has_text=item).first.click()
    return " | ".join(i.strip() for i in items)


def _assignments_tab(hub: Hub, user: str, password: str, shot: str, expect: str) -> str:
    """Nbgrader > Assignment List in ``user``'s JupyterLab: wait for ``expect`` and save a screenshot
    (tests/artifacts/hub/, git-ignored); returns the Nbgrader menu's items."""
    with _lab(hub, user, password) as page:
        items = _nbgrader_menu(page, "Assignment List")
        page.wait_for_selector(f"text={expect}")
        page.wait_for_timeout(500)
        page.screenshot(path=str(SHOTS / shot))
        return items


def _formgrader_tab(hub: Hub, user: str, password: str, shot: str) -> None:
    """Nbgrader > Formgrader in the instructor's JupyterLab: the formgrader's own page shows inside the tab's
    frame (a frame refused by the server's framing rules stays empty and this times out)."""
    with _lab(hub, user, password) as page:
        _nbgrader_menu(page, "Formgrader")
        frame = page.frame_locator("#formgrader-iframe iframe")
        frame.locator("text=Manage Assignments").first.wait_for()
        frame.locator(f"text={A}").first.wait_for()  # the course's assignment, from the gradebook
        page.wait_for_timeout(500)
        page.screenshot(path=str(SHOTS / shot))


def test_course_on_jupyterhub(hub: Hub):
    t0 = time.time()
    inst, (good, partial) = hub.instructor, hub.students
    exchange = hub.prefix / "exchange" / COURSE_ID

    # ---- the instructor releases to the exchange (course release + helpers published + nbgrader release)
    out = hub.hub_step("release", A).stdout
    assert f"released {A} to the exchange" in out, out
    published = hub.prefix / "share" / "student_helpers" / "helpers"
    assert (published / "checks" / "core.py").is_file() and not (published / "_reference").exists()
    assert (exchange / "outbound" / A / "toy.ipynb").is_file()
    # the exchange's layout (hub/exchange.py): sticky wherever students write, the course folders the instructor's
    layout = {exchange.parent: ("root", 0o1777), exchange: (inst, 0o755), exchange / "outbound": (inst, 0o755),
              exchange / "inbound": (inst, 0o3733), exchange / "feedback": (inst, 0o711)}
    for folder, (owner, mode) in layout.items():
        info = folder.lstat()
        assert (pwd.getpwuid(info.st_uid).pw_name, oct(info.st_mode & 0o7777)) == (owner, oct(mode)), folder

    for user in (inst, good, partial):
        hub.start_server(user)

    # ---- no instructor UI for students; the instructor has it
    for student in (good, partial):
        disabled = _page_config(hub, student).get("disabledExtensions", [])
        disabled = disabled if isinstance(disabled, list) else [k for k, v in disabled.items() if v]
        for plugin in ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                       "@jupyter/nbgrader:course-list"):
            assert plugin in disabled, (student, disabled)
        assert "@jupyter/nbgrader:assignment-list" not in disabled
        assert "@jupyter/nbgrader:validate-assignment" not in disabled
        assert hub.user("GET", student, "formgrader").status_code == 404
        assert hub.user("GET", student, "formgrader/api/assignments").status_code == 404
    instructor_disabled = _page_config(hub, inst).get("disabledExtensions", [])
    assert not any("nbgrader" in str(k) for k in instructor_disabled), instructor_disabled
    r = hub.user("GET", inst, "formgrader")
    assert r.status_code in (200, 302) and "formgrader" in r.headers.get("Location", "formgrader"), r.status_code
    assert A in json.dumps(hub.ok("GET", inst, "formgrader/api/assignments"))  # the course, from the gradebook

    # ---- students: the Assignments tab lists the release; fetch; solve; validate; submit
    source = nbformat.read(hub.clone / "source" / A / "toy.ipynb", as_version=4)
    for student in (good, partial):
        listing = _assignments(hub, student)
        assert listing[A]["status"] == "released", listing
        fetched = hub.ok("POST", student, "assignments/fetch", json={"course_id": COURSE_ID, "assignment_id": A})
        assert any(a["assignment_id"] == A and a["status"] == "fetched" for a in fetched["value"]), fetched
        release = hub.ok("GET", student, f"api/contents/{A}/toy.ipynb")["content"]
        text = json.dumps(release)
        assert "raise NotImplementedError" in text and "BEGIN HIDDEN TESTS" not in text and "grade_hidden(" not in text
        assert hub.ok("GET", student, f"api/contents/{A}/toycheck.py")["type"] == "file"
        release_nb = nbformat.from_dict(release)
        if student == good:
            solved = gs.with_solutions(release_nb, source)
        else:
            solved = gs.with_solutions(release_nb, source,
                                       replace=lambda g, code: WRONG if "square_again" in code else code)
        hub.ok("PUT", student, f"api/contents/{A}/toy.ipynb",
               json={"type": "notebook", "format": "json", "content": json.loads(nbformat.writes(solved))})
        owner = pwd.getpwuid((Path(pwd.getpwnam(student).pw_dir) / A / "toy.ipynb").stat().st_uid).pw_name
        assert owner == student  # written by the student's own server, as the student
        checked = hub.ok("POST", student, "assignments/validate", json={"path": f"{A}/toy.ipynb"})
        assert checked["success"], checked
        result = checked["value"]
        if student == good:
            assert not result.get("failed") and not result.get("changed"), result
        else:
            failed = json.dumps(result.get("failed"))
            assert "expected [[9], [1]]" in failed and len(result["failed"]) == 1, result
        submitted = hub.ok("POST", student, "assignments/submit", json={"course_id": COURSE_ID, "assignment_id": A})
        assert submitted.get("success", True), submitted
        assert _assignments(hub, student)[A]["status"] == "submitted"

    # ---- a student cannot rename, replace or delete the exchange's or a classmate's files (sticky folders, hand-ins
    # their author's alone); the attacker is assumed to know the classmate's hand-in's name
    handins = {s: next(p for p in (exchange / "inbound").iterdir() if p.name.startswith(f"{s}+{A}+"))
               for s in (good, partial)}
    theirs = handins[good]
    info = theirs.lstat()
    assert pwd.getpwuid(info.st_uid).pw_name == good and oct(info.st_mode & 0o7777) == "0o755", oct(info.st_mode)
    before = {"course": _digest(exchange), "exchange": sorted(p.name for p in exchange.parent.iterdir())}
    evil = Path(pwd.getpwnam(partial).pw_dir) / "evil.ipynb"
    _as(partial, "sh", "-c", f"echo '{{}}' > {evil}", check=True)
    attacks = {
        "rename the course's folder": ["mv", exchange, exchange.parent / "taken"],
        "delete the release": ["rm", "-rf", exchange / "outbound" / A],
        "replace the release notebook": ["cp", evil, exchange / "outbound" / A / "toy.ipynb"],
        "add to the release": ["cp", evil, exchange / "outbound" / A / "extra.ipynb"],
        "write into feedback/": ["cp", evil, exchange / "feedback" / "x.html"],
        "rename a classmate's hand-in": ["mv", theirs, exchange / "inbound" / f".{theirs.name}"],
        "delete a classmate's hand-in": ["rm", "-rf", theirs],
        "replace a classmate's notebook": ["cp", evil, theirs / "toy.ipynb"],
        "delete a classmate's notebook": ["rm", "-f", theirs / "toy.ipynb"],
        "rename a classmate's notebook": ["mv", theirs / "toy.ipynb", theirs / "old.ipynb"],
        "add to a classmate's hand-in": ["cp", evil, theirs / "extra.ipynb"],
        "replace a classmate's timestamp": ["cp", evil, theirs / "timestamp.txt"],
    }
    for what, cmd in attacks.items():
        done = _as(partial, *cmd)
        assert done.returncode != 0, (what, done.stdout, done.stderr)
    after = {"course": _digest(exchange), "exchange": sorted(p.name for p in exchange.parent.iterdir())}
    assert after == before  # nothing moved, nothing changed

    # the student's Assignments tab in a real browser, after a PAM login with their Unix password
    password = secrets.token_urlsafe(12)
    subprocess.run(["chpasswd"], input=f"{good}:{password}\n", text=True, check=True)
    menu = _assignments_tab(hub, good, password, "1-assignments-submitted.png", "Submitted assignments")
    assert "Assignment List" in menu and not any(w in menu for w in ("Formgrader", "Course List", "Create")), menu
    # the instructor's Formgrader tab in JupyterLab shows the formgrader (the frame its own page may hold)
    subprocess.run(["chpasswd"], input=f"{inst}:{password}\n", text=True, check=True)
    _formgrader_tab(hub, inst, password, "0-instructor-formgrader.png")

    # the students' kernels import the student edition published by the instructor (no reference)
    probe = ("import helpers, helpers.checks, importlib.util as u; print(helpers.__file__); "
             "print(u.find_spec('helpers._reference') is None)")
    env = {"PYTHONPATH": str(hub.prefix / "share" / "student_helpers")}
    seen = _as(good, hub.python, "-c", probe, env=env, check=True).stdout.split()
    assert seen == [str(published / "__init__.py"), "True"], seen

    # ---- per-student variants: each student's kernel (in ~/<assignment>/) has their own variant, and only
    # theirs; the hidden tests record on its cases; the instructor's server has none (the literal cases)
    variant = {s: variant_of(hub.secret.encode(), s, A) for s in (good, partial)}
    assert variant[good] != variant[partial]
    for student, other in ((good, partial), (partial, good)):
        text, displays = _in_kernel(hub, student, KERNEL_PROBE, A)
        seen = json.loads(text.splitlines()[0])
        assert seen["cwd"] == str(Path(pwd.getpwnam(student).pw_dir) / A), seen["cwd"]
        assert seen["variant"] == variant[student], (student, seen["variant"], variant)
        assert json.loads(seen["env"]["COURSE_VARIANTS"]) == {A: variant[student]}, seen["env"]["COURSE_VARIANTS"]
        environment = json.dumps(seen["env"])
        assert hub.secret not in environment and str(variant[other]) not in environment and other not in environment
        records = [d[PAYLOAD_KEY] for d in displays if PAYLOAD_KEY in d]
        assert [r["variant"] for r in records] == [variant[student]], displays
        assert records[0]["cases"] != [{"seed": 1, "n": 3}], records[0]["cases"]  # the variant's case
    text, _ = _in_kernel(hub, inst, "import os; print(repr(os.environ.get('COURSE_VARIANTS')))")
    assert text.strip() == "None", text

    # a hand-in forged under the other student's name (the inbound folder is writable by all; the name is the
    # submitter's choice, the owner is not): collect sets it aside, so it earns the other nothing
    forged = f"{good}+{A}+2999-01-01 00:00:00.000000 UTC+forgedforged"
    _as(partial, "cp", "-r", Path(pwd.getpwnam(partial).pw_dir) / A, exchange / "inbound" / forged, check=True)
    # a backdated hand-in: the student's own earlier hand-in (their nbgrader cache, same secret), handed in again
    # under a name and a timestamp.txt of the year 2000; the time that counts is the server's (when it was made)
    cache = Path(pwd.getpwnam(partial).pw_dir) / ".local/share/jupyter/nbgrader_cache" / COURSE_ID
    earlier = next(cache.glob(f"{partial}+{A}+*"))
    old = "2000-01-01 00:00:00.000000 UTC"
    t_back = time.time()
    backdated = exchange / "inbound" / f"{partial}+{A}+{old}+backdated"
    _as(partial, "cp", "-r", earlier, backdated, check=True)
    _as(partial, "sh", "-c", f"printf '%s' '{old}' > '{backdated}/timestamp.txt'", check=True)
    # with one comment added (a new version, not a copy collect recognises): the same answers, the same grade
    touch = ("import json, sys; p = sys.argv[1]; nb = json.load(open(p)); "
             "cell = next(c for c in nb['cells'] if 'return x * 2' in ''.join(c['source'])); "
             "cell['source'] = ''.join(cell['source']) + '\\n# handed in again'; json.dump(nb, open(p, 'w'))")
    _as(partial, hub.python, "-c", touch, backdated / "toy.ipynb", check=True)
    # a hand-in made by hand, without nbgrader's submission_secret.txt: collected and graded, not returnable
    nosecret, bad = hub.others
    made_by_hand = exchange / "inbound" / f"{nosecret}+{A}+{_nbgrader_time(time.time())}+byhandbyhand"
    _as(nosecret, "cp", "-r", exchange / "outbound" / A, made_by_hand, check=True)
    _as(nosecret, "sh", "-c", f"printf '%s' '{_nbgrader_time(time.time())}' > '{made_by_hand}/timestamp.txt'",
        check=True)
    # a dangling link and an over-size hand-in (a 200 MB notebook, sparse on disk): set aside, the class collected
    dangling = exchange / "inbound" / f"{bad}+{A}+{_nbgrader_time(time.time() - 60)}+danglinglink"
    _as(bad, "ln", "-s", "/nonexistent/hand-in", dangling, check=True)
    oversize = exchange / "inbound" / f"{bad}+{A}+{_nbgrader_time(time.time())}+oversizedxyz"
    _as(bad, "mkdir", oversize, check=True)
    _as(bad, "truncate", "-s", "200M", oversize / "toy.ipynb", check=True)
    _as(bad, "sh", "-c", f"printf '%s' '{_nbgrader_time(time.time())}' > '{oversize}/timestamp.txt'", check=True)

    # ---- the instructor collects, autogrades (sandboxed), returns feedback through the exchange
    done = hub.hub_step("collect", A, check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out  # one bad hand-in never stops the class
    assert f"NOT collected: {forged} claims to be {good}'s hand-in but was written by {partial}" in out, out
    collected = sorted(p.parent.name for p in (hub.clone / "term" / "submitted").glob(f"*/{A}"))
    assert collected == sorted([good, partial, nosecret]), (collected, out)
    for entry in (dangling, oversize):  # set aside with a reason naming it, never deleted
        assert entry.name in out, (entry.name, out)
        assert any(p.name.endswith(entry.name) for p in (exchange / "inbound").iterdir()), entry
    import datetime as dt

    from nbgrader.utils import parse_utc

    filed = parse_utc((hub.clone / "term" / "submitted" / partial / A / "timestamp.txt").read_text().strip())
    filed = filed.replace(tzinfo=filed.tzinfo or dt.timezone.utc)  # nbgrader's times are UTC
    assert filed.year != 2000 and filed.timestamp() >= t_back - 1, (filed, t_back)  # the server's time wins
    assert "# handed in again" in (hub.clone / "term" / "submitted" / partial / A / "toy.ipynb").read_text()
    graded = hub.course("autograde", "--jobs", "1")
    report = json.loads((hub.clone / "term" / "logs" / "autograde-report.json").read_text())
    scores = {e["student"]: e for e in report}
    assert all(e["success"] and e["sandboxed"] for e in report), graded.stdout
    assert "5/5" in scores[good]["score"] and "3/5" in scores[partial]["score"], graded.stdout
    assert scores[partial]["cells"] and all("ex2" in c for c in scores[partial]["cells"]), scores[partial]
    for student in (good, partial):  # graded on the variant the grader derives from the submission folder's id
        graded_nb = hub.clone / "term" / "autograded" / student / A / "toy.ipynb"
        assert _recorded_variants(graded_nb) == {variant[student]}, (student, _recorded_variants(graded_nb))
    hub.course("grades")
    with open(hub.clone / "term" / "grades.csv", newline="") as fh:
        rows = {r["student"] if "student" in r else r[next(iter(r))]: r for r in csv.DictReader(fh)}
    assert float(rows[good][A]) == 5.0 and float(rows[partial][A]) == 3.0, rows
    # the instructor returns feedback from a JupyterLab terminal: the course's tools are on its PATH
    out = _terminal(hub, inst, "command -v python; cd ~/course && COURSE_CELL_TIMEOUT=60 OPENBLAS_NUM_THREADS=1 "
                    f"COURSE_CHECK_MODULES={hub.clone / 'source' / A / 'toycheck.py'} python -m hub return "
                    f"--root term --source source {A}; echo EXIT=$?")
    assert f"\n{hub.python}\n" in out, out  # `command -v python` is the Hub's environment's
    assert "EXIT=0" in out and f"feedback of {A} released to the exchange (2 student(s))" in out, out
    assert f"NOT returned: {nosecret} / {A}: no submission_secret.txt" in out, out  # the others returned all the same

    # ---- each student fetches and sees their own feedback
    for student, score in ((good, (5.0, 5.0)), (partial, (3.0, 5.0))):
        listing = hub.ok("POST", student, "assignments/fetch_feedback",
                         json={"course_id": COURSE_ID, "assignment_id": A})
        entry = next(a for a in listing["value"] if a["assignment_id"] == A and "submissions" in a)
        latest = entry["submissions"][-1]
        assert latest["has_local_feedback"] and not latest["feedback_updated"], entry
        feedback_dir = latest["local_feedback_path"]
        assert feedback_dir.startswith(f"{A}/feedback/"), feedback_dir
        page = hub.ok("GET", student, f"api/contents/{quote(feedback_dir)}/toy.html")
        html = page["content"]
        shown = re.search(r"Score:\s*([0-9.]+)\s*/\s*([0-9.]+)", html)  # "Score: 5 / 5 points" (the page's header)
        assert shown and (float(shown.group(1)), float(shown.group(2))) == score, html[html.find("<header"):][:500]
        assert "grade_hidden(" not in html and str(hub.clone) not in html

    _assignments_tab(hub, good, password, "2-assignments-feedback.png", "view feedback")

    # ---- isolation, as the real users
    s1_home, inst_home = Path(pwd.getpwnam(good).pw_dir), Path(pwd.getpwnam(inst).pw_dir)
    assert (exchange / "inbound" / f".forged+{forged}").is_dir()
    for handin in handins.values():  # nbgrader's names: 12 random characters after the time
        assert handin.is_dir() and re.fullmatch(r"[a-z0-9]+\+00_toy\+[^+]+\+[A-Za-z0-9_-]{12}", handin.name), handin
    denied = {
        "the other student's notebook": ["cat", s1_home / A / "toy.ipynb"],
        "the other student's home": ["ls", s1_home],
        "the other student's nbgrader cache": ["ls", s1_home / ".local/share/jupyter/nbgrader_cache"],
        "the exchange's inbound listing": ["ls", exchange / "inbound"],
        "the exchange's feedback listing": ["ls", exchange / "feedback"],
        "the instructor's home": ["ls", inst_home],
        "the instructor's reference": ["cat", hub.clone / "helpers" / "_reference" / "__init__.py"],
        "the instructor's source notebook": ["cat", hub.clone / "source" / A / "toy.ipynb"],
        "the gradebook": ["cat", hub.clone / "term" / "gradebook.db"],
        "the collected submissions": ["ls", hub.clone / "term" / "submitted"],
        "the course's variant secret": ["cat", hub.secret_file],
    }
    for what, cmd in denied.items():
        done = _as(partial, *cmd)
        assert done.returncode != 0 and "Permission denied" in done.stderr, (what, done.stdout[:300], done.stderr)
    # ... nor reach the other's server with their own token
    for path in ("api/contents", f"api/contents/{A}/toy.ipynb", f"assignments?course_id={COURSE_ID}"):
        assert hub.user("GET", good, path, as_user=partial).status_code == 403
    # a student may not start or read another's server through the Hub's API either
    r = requests.get(f"{hub.url}/hub/api/users/{good}", headers={"Authorization": f"token {hub.tokens[partial]}"},
                     timeout=30)
    assert r.status_code == 404 or r.status_code == 403, r.status_code

    # ---- limits: each server in its own control group; a memory hog is killed alone, a classmate's kernel runs on
    groups = {s: _server_groups(hub, s) for s in (good, partial)}
    for student, found in groups.items():
        pids = {int(p) for g in found for p in (g / "cgroup.procs").read_text().split()}
        assert pids and all(Path(f"/proc/{p}").stat().st_uid == pwd.getpwnam(student).pw_uid for p in pids), pids
        for g in found:
            if (g / "memory.limit_in_bytes").exists():
                assert int((g / "memory.limit_in_bytes").read_text()) == 1 << 30
            if (g / "cpu.cfs_quota_us").exists():
                assert int((g / "cpu.cfs_quota_us").read_text()) == int((g / "cpu.cfs_period_us").read_text())
            if (g / "memory.max").exists():
                assert int((g / "memory.max").read_text()) == 1 << 30
                assert (g / "cpu.max").read_text().split()[0] == "100000"
    usage = {s: sum(int((g / f).read_text()) for g in found for f in ("memory.usage_in_bytes", "memory.current")
                    if (g / f).exists()) >> 20 for s, found in groups.items()}
    print(f"hub e2e: memory of each student's server group after the course's steps (no kernel): {usage} MiB")
    calm = hub.ok("POST", partial, "api/kernels", json={"name": "python3"})["id"]
    _execute(hub, partial, calm, "x = 41")
    hog = hub.ok("POST", good, "api/kernels", json={"name": "python3"})["id"]
    assert _oom_kills(groups[good]) == 0
    _hog(hub, good, hog, "import numpy as np\nhog = np.ones(3 * 2**30 // 8)", groups[good])
    assert _oom_kills(groups[good]) >= 1 and _oom_kills(groups[partial]) == 0
    assert _execute(hub, partial, calm, "print(x + 1)")[0].strip() == "42"  # the same kernel, its state intact
    assert hub.ok("GET", good, "api/status") is not None  # the hog's own server is still up
    hub.user("DELETE", partial, f"api/kernels/{calm}")
    hub.user("DELETE", good, f"api/kernels/{hog}")
    # the idle culler runs as a Hub service (jupyterhub-idle-culler)
    services = hub.api("GET", "services")  # {name: model}
    pid = services["idle-culler"].get("pid")
    assert pid and "jupyterhub_idle_culler" in Path(f"/proc/{pid}/cmdline").read_text(), services["idle-culler"]
    # the formgrader may be framed by its own page (JupyterLab's Formgrader tab), by no other site
    csp = hub.user("GET", inst, "formgrader").headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'self'" in csp, csp

    # ---- the variant secret: the instructor's file, 0600; in no release, exchange, student folder or server
    info = hub.secret_file.stat()
    assert pwd.getpwuid(info.st_uid).pw_name == inst and oct(info.st_mode & 0o777) == "0o600", oct(info.st_mode)
    needle = hub.secret.encode()
    places = [hub.prefix / "exchange", hub.prefix / "share", hub.clone / "term" / "release", s1_home,
              Path(pwd.getpwnam(partial).pw_dir)]
    for path in (p for place in places for p in place.rglob("*")):
        if path.is_file() and not path.is_symlink():
            assert needle not in path.read_bytes(), path
    # a secret others could read stops a student's spawn (fails closed; the Hub's log says why)
    hub.api("DELETE", f"users/{partial}/server")
    deadline = time.time() + 60
    while hub.api("GET", f"users/{partial}").get("servers", {}).get("") and time.time() < deadline:
        time.sleep(0.5)
    os.chmod(hub.secret_file, 0o644)
    try:
        r = requests.post(f"{hub.url}/hub/api/users/{partial}/server", timeout=60,
                          headers={"Authorization": f"token {hub.token}"})
        assert r.status_code >= 400, (r.status_code, r.text[:300])
        assert "has mode 0644; only its owner may read it" in hub.log(), hub.log()[-2000:]
    finally:
        os.chmod(hub.secret_file, 0o600)
    print(f"hub end-to-end: {time.time() - t0:.0f} s after the Hub started")


def test_a_second_hub_on_taken_ports_is_refused_naming_the_option(tmp_path):
    """Two course Hubs on one machine: ``start`` names the port another program holds and the option to change."""
    from hub import HubSettings

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for field, option in (("hub_port", "--hub-port"), ("proxy_api_port", "--proxy-api-port"), ("port", "--port")):
            free = {"port": _free_port(), "hub_port": _free_port(), "proxy_api_port": _free_port()}
            settings = HubSettings(prefix=str(tmp_path / field), instructors=["root"], **{**free, field: port})
            settings.save()
            done = subprocess.run([PY, "-m", "hub", "--prefix", settings.prefix, "start"], cwd=REPO,
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == 2, (field, done.stdout, done.stderr)
            assert f"127.0.0.1:{port} is in use" in done.stderr and option in done.stderr, done.stderr


def test_install_refuses_a_course_folder_someone_else_made(tmp_path):
    """A course folder made in the exchange before the install, by another account, is not taken over."""
    from hub.exchange import LayoutError, lay_out

    if os.geteuid() != 0:
        pytest.fail("laying out the exchange needs root (chown): run as root")
    exchange = tmp_path / "exchange"
    (exchange / COURSE_ID).mkdir(parents=True)
    os.chown(exchange / COURSE_ID, pwd.getpwnam("nobody").pw_uid, -1)
    with pytest.raises(LayoutError, match="belongs to nobody, not to the instructor root"):
        lay_out(exchange, COURSE_ID, "root")
    os.chown(exchange / COURSE_ID, 0, 0)
    course = lay_out(exchange, COURSE_ID, "root")
    assert oct(exchange.stat().st_mode & 0o7777) == "0o1777" and oct((course / "inbound").stat().st_mode & 0o7777) \
        == "0o3733"
