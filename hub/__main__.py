"""``python -m hub <step>``: run the course on a JupyterHub (grading/HUB.md).

As root: ``install`` (environment, proxy, role configs, exchange, accounts) and ``start``.
As the instructor, in their clone of the repository: ``release``, ``collect``, ``return``
(the steps that go through nbgrader's exchange); autograde, grades and exports are
``python -m grading.course`` as usual.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import DEFAULT_PREFIX, PREFIX_ENV, HubSettings


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m hub", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--prefix", default=os.environ.get(PREFIX_ENV) or DEFAULT_PREFIX,
                   help=f"the Hub's folder (default: ${PREFIX_ENV}, else {DEFAULT_PREFIX})")
    sub = p.add_subparsers(dest="step", required=True)
    i = sub.add_parser("install", help="(root) the users' environment, the proxy, role configs, exchange, accounts")
    i.add_argument("--course-id", default="dl-opt-setup")
    i.add_argument("--instructor", action="append", default=[], help="instructor account (repeatable)")
    i.add_argument("--student", action="append", default=[], help="student account (repeatable)")
    i.add_argument("--exchange", default="", help="nbgrader's exchange folder (default: PREFIX/exchange)")
    i.add_argument("--env", default="", help="the users' environment (default: PREFIX/env)")
    i.add_argument("--ip", default="127.0.0.1", help="address the Hub listens on (default: 127.0.0.1)")
    i.add_argument("--port", type=int, default=8000)
    i.add_argument("--hub-port", type=int, default=8081)
    i.add_argument("--proxy-api-port", type=int, default=8001)
    i.add_argument("--course-root", default="",
                   help="the instructor's course root, whose course.toml may turn per-student variants on "
                        "(default: ~INSTRUCTOR/course/grading, the first instructor's)")
    i.add_argument("--mem-limit", default="2G",
                   help="memory of each user's server, its kernels included (default 2G; '' for none)")
    i.add_argument("--cpu-limit", type=float, default=1.0, help="CPUs of each user's server (default 1; 0 for none)")
    i.add_argument("--cull-idle", type=int, default=3600,
                   help="stop a server idle this many seconds (jupyterhub-idle-culler; default 3600; 0: never)")
    i.add_argument("--create-accounts", action="store_true", help="useradd the accounts that are missing")
    sub.add_parser("start", help="(root) run the Hub in the foreground")
    for name, what in (("release", "release the assignments to the exchange and publish the student helpers"),
                       ("collect", "collect hand-ins from the exchange into submitted/"),
                       ("return", "generate feedback and release it to the exchange")):
        s = sub.add_parser(name, help=f"(instructor) {what}")
        s.add_argument("assignments", nargs="*")
        s.add_argument("--root", type=Path, default=None, help="course root (default: grading/)")
        s.add_argument("--source", type=Path, default=None, help="source assignments (default: notebooks/)")
        if name == "return":
            s.add_argument("--student", action="append", default=None)
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.step == "install":
        from .install import InstallError, install

        settings = HubSettings(prefix=args.prefix, course_id=args.course_id, instructors=args.instructor,
                               students=args.student, exchange=args.exchange, env=args.env, ip=args.ip,
                               port=args.port, hub_port=args.hub_port, proxy_api_port=args.proxy_api_port,
                               course_root=args.course_root, mem_limit=args.mem_limit,
                               cpu_limit=args.cpu_limit, cull_idle=args.cull_idle)
        try:
            install(settings, create_accounts=args.create_accounts)
        except InstallError as exc:
            print(f"install: {exc}", file=sys.stderr)
            return 2
        return 0
    settings = HubSettings.load(args.prefix)
    if args.step == "start":
        return start(settings)
    from grading.course.paths import GRADING, REPO, Course

    course = Course(args.root or GRADING, args.source or REPO / "notebooks", os.environ.get("COURSE_DB_URL"))
    from . import course as steps

    if args.step == "release":
        steps.release(course, settings, args.assignments)
        return 0
    if args.step == "collect":
        steps.collect(course, settings, args.assignments)
        return 0
    return 1 if steps.hand_back(course, settings, args.assignments, args.student) else 0


def ports_in_use(settings: HubSettings) -> str | None:
    """Which of the Hub's three ports another program holds (two course Hubs on one machine), or None."""
    import socket

    own_proxy = settings.path / "state" / "proxy.pid"
    try:  # this Hub's proxy left running holds the proxy port; JupyterHub takes it over
        os.kill(int(own_proxy.read_text().strip()), 0)
        skip = {"proxy API"}
    except (OSError, ValueError):
        skip = set()
    for what, ip, port, option in (("public", settings.ip, settings.port, "--port"),
                                   ("hub API", "127.0.0.1", settings.hub_port, "--hub-port"),
                                   ("proxy API", "127.0.0.1", settings.proxy_api_port, "--proxy-api-port")):
        if what in skip:
            continue
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((ip, port))
            except OSError:
                return (f"the {what} port {ip}:{port} is in use (another Hub on this machine?): install again "
                        f"with {option} set to a free port")
    return None


def start(settings: HubSettings) -> int:
    """Replace this process with the Hub (its own environment, its state folder as working directory)."""
    if os.geteuid() != 0:
        print("start: the Hub must run as root (it starts each user's server as that user)", file=sys.stderr)
        return 2
    busy = ports_in_use(settings)
    if busy:
        print(f"start: {busy}", file=sys.stderr)
        return 2
    exe = Path(settings.env) / "bin" / "jupyterhub"
    config = settings.path / "etc" / "jupyterhub_config.py"
    os.chdir(settings.path / "state")
    env = {**os.environ, "PATH": f"{Path(settings.env) / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    env.pop("PYTHONPATH", None)
    os.execve(exe, [str(exe), "-f", str(config)], env)
    return 0  # not reached


if __name__ == "__main__":
    raise SystemExit(main())
