"""``python -m hub install``: the Hub's environment, proxy, role configuration, exchange and accounts.

Idempotent: the environment and the proxy are (re)built only when their pins changed (a stamp
file holds a hash of the requirement files); the rest is rewritten every time. Run as root.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

from . import HubSettings

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
#: configurable-http-proxy from the npm registry (the Hub's default proxy).
PROXY_PACKAGE = "configurable-http-proxy@5.3.0"
#: nbgrader's JupyterLab plugins and server extensions that are the instructor's UI.
INSTRUCTOR_LAB_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                          "@jupyter/nbgrader:course-list")
INSTRUCTOR_SERVER_EXTENSIONS = ("nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list")
STUDENT_SERVER_EXTENSIONS = ("nbgrader.server_extensions.assignment_list",
                             "nbgrader.server_extensions.validate_assignment")


class InstallError(RuntimeError):
    """Something the Hub needs could not be installed; the message says what and how to fix it."""


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if done.returncode != 0:
        raise InstallError(f"`{' '.join(map(str, cmd))}` failed (exit {done.returncode}):\n"
                           f"{(done.stdout + done.stderr)[-3000:]}")
    return done


def _stamp(*files: Path, extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


class _Lock:
    """An exclusive file lock: two installs (two test runs) never build one environment at once."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(path, "w")

    def __enter__(self):
        fcntl.flock(self.fh, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


def shared_python() -> str:
    """A Python >= 3.10 every account can run: this one, else the system's (``/usr/bin/python3``).

    A Python installed under a private home (pyenv in ``/root``) cannot be the base of the users'
    environment: a venv keeps using its standard library.
    """
    probe = "import sys, venv; assert sys.version_info >= (3, 10)"
    for candidate in (getattr(sys, "_base_executable", None) or sys.executable, "/usr/bin/python3"):
        if not candidate or not os.path.exists(candidate):
            continue
        if os.geteuid() != 0:
            return candidate
        done = subprocess.run(["runuser", "-u", "nobody", "--", candidate, "-c", probe], capture_output=True)
        if done.returncode == 0:
            return candidate
    raise InstallError("no Python >= 3.10 with venv that every account can run: apt-get install python3-venv")


def ensure_env(env: Path, log=print) -> Path:
    """The users' environment at ``env`` (a venv of a shared Python), at the course's and the Hub's pins."""
    reqs = [HERE / "requirements.txt", REPO / "constraints.txt", HERE / "constraints.txt"]
    base = shared_python()
    version = subprocess.run([base, "-c", "import sys; print(sys.version)"], capture_output=True, text=True).stdout
    want = _stamp(*reqs, extra=base + version)
    stamp = env / ".course-hub-stamp"
    with _Lock(env.parent / f".{env.name}.lock"):
        if stamp.is_file() and stamp.read_text() == want and (env / "bin" / "jupyterhub-singleuser").exists():
            return env
        log(f"[hub] building the users' environment in {env} (pip, a minute or two)")
        if env.exists():
            shutil.rmtree(env)
        _run([base, "-m", "venv", env])
        _run([env / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check",
              "-r", reqs[0], "-c", reqs[1], "-c", reqs[2]])
        _run([env / "bin" / "python", "-m", "pip", "check"])
        os.chmod(env, 0o755)
        stamp.write_text(want)
    return env


def ensure_proxy(proxy: Path, log=print) -> Path:
    """configurable-http-proxy installed from npm under ``proxy``; returns its executable."""
    exe = proxy / "node_modules" / ".bin" / "configurable-http-proxy"
    stamp = proxy / ".course-hub-stamp"
    with _Lock(proxy.parent / f".{proxy.name}.lock"):
        if stamp.is_file() and stamp.read_text() == PROXY_PACKAGE and exe.exists():
            return exe
        if shutil.which("npm") is None or shutil.which("node") is None:
            raise InstallError("the Hub's proxy needs Node.js and npm: apt-get install nodejs npm")
        log(f"[hub] installing {PROXY_PACKAGE} (npm) in {proxy}")
        proxy.mkdir(parents=True, exist_ok=True)
        _run(["npm", "install", "--prefix", proxy, "--no-audit", "--no-fund", "--loglevel=error", PROXY_PACKAGE])
        _run([exe, "--version"])
        stamp.write_text(PROXY_PACKAGE)
    return exe


def nbgrader_config(settings: HubSettings) -> str:
    return ("# written by python -m hub install (grading/HUB.md): nbgrader's exchange on this Hub\n"
            "c = get_config()  # noqa\n"
            f"c.Exchange.root = {settings.exchange!r}\n"
            f"c.CourseDirectory.course_id = {settings.course_id!r}\n")


def write_role_configs(settings: HubSettings) -> None:
    """``etc/jupyter-<role>/``: the Jupyter config directory each role's server is given (JUPYTER_CONFIG_PATH)."""
    for role in ("student", "instructor"):
        d = settings.config_dir(role)
        (d / "labconfig").mkdir(parents=True, exist_ok=True)
        (d / "nbgrader_config.py").write_text(nbgrader_config(settings))
        student = role == "student"
        server = {"ServerApp": {"jpserver_extensions": {
            **{e: not student for e in INSTRUCTOR_SERVER_EXTENSIONS},
            **dict.fromkeys(STUDENT_SERVER_EXTENSIONS, True)}}}
        (d / "jupyter_server_config.json").write_text(json.dumps(server, indent=1) + "\n")
        page = {"disabledExtensions": {p: True for p in INSTRUCTOR_LAB_PLUGINS} if student else {}}
        (d / "labconfig" / "page_config.json").write_text(json.dumps(page, indent=1) + "\n")
        for path in [d, *d.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)


def ensure_account(name: str, log=print) -> None:
    """A Unix account with a home directory (mode 0700), created with useradd when missing."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        if os.geteuid() != 0:
            raise InstallError(f"account {name!r} does not exist and only root can create it (useradd)") from None
        log(f"[hub] creating the account {name} (useradd)")
        _run(["useradd", "--create-home", "--shell", "/bin/bash", "--user-group", name])
    home = Path(pwd.getpwnam(name).pw_dir)
    if home.is_dir():
        os.chmod(home, 0o700)


def install(settings: HubSettings, *, create_accounts: bool = False, log=print) -> HubSettings:
    if os.geteuid() != 0:
        raise InstallError("python -m hub install must run as root (the Hub spawns each user's server "
                           "as that user)")
    if not settings.instructors:
        raise InstallError("name at least one instructor (--instructor NAME)")
    both = set(settings.instructors) & set(settings.students)
    if both:
        raise InstallError(f"{sorted(both)} cannot be both instructor and student")
    prefix = settings.path
    prefix.mkdir(parents=True, exist_ok=True)
    os.chmod(prefix, 0o755)
    for user in (*settings.instructors, *settings.students):
        if create_accounts:
            ensure_account(user, log)
        else:
            try:
                pwd.getpwnam(user)
            except KeyError:
                raise InstallError(f"no Unix account {user!r}: create it (useradd -m {user}) or pass "
                                   "--create-accounts") from None
    ensure_env(Path(settings.env), log)
    ensure_proxy(prefix / "proxy", log)
    (prefix / "etc").mkdir(exist_ok=True)
    os.chmod(prefix / "etc", 0o755)
    shutil.copy(HERE / "jupyterhub_config.py", prefix / "etc" / "jupyterhub_config.py")
    write_role_configs(settings)
    settings.save()
    state = prefix / "state"
    state.mkdir(exist_ok=True)
    os.chmod(state, 0o700)
    # nbgrader's exchange: writable by everyone (nbgrader sets 0777 itself on release; its own
    # course folders then restrict inbound to write-only and feedback to traverse-only)
    exchange = Path(settings.exchange)
    exchange.mkdir(parents=True, exist_ok=True)
    os.chmod(exchange, 0o777)
    # the published student edition of helpers: written by the (first) instructor, read by everyone
    share = settings.published_helpers
    share.mkdir(parents=True, exist_ok=True)
    owner = pwd.getpwnam(settings.instructors[0])
    for path in (share.parent, share):
        os.chown(path, owner.pw_uid, owner.pw_gid)
        os.chmod(path, 0o755)
    log(f"[hub] ready: {prefix} (course {settings.course_id}; instructors {settings.instructors}; "
        f"students {settings.students}); start it with python -m hub start --prefix {prefix}")
    return settings
