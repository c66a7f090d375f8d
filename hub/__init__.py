"""The course on a JupyterHub: one server, one Unix account per user, nbgrader's exchange.

``python -m hub install`` (as root) lays out a *prefix* (default ``/srv/dl-opt-setup``)::

    env/            the users' environment: JupyterHub, JupyterLab, nbgrader, ipykernel, numpy,
                    matplotlib at the course's pins (no ``helpers``: see share/ below)
    proxy/          configurable-http-proxy (npm)
    etc/hub.json    this deployment's settings (course id, users, exchange, address)
    etc/jupyterhub_config.py                the Hub's configuration (a copy of hub/jupyterhub_config.py)
    etc/jupyter-student/, etc/jupyter-instructor/
                    Jupyter config of each role (nbgrader's exchange and course id; which of
                    nbgrader's extensions are on: students get the Assignments tab and Validate,
                    never the formgrader, Create Assignment or the course list)
    share/student_helpers/helpers/           the student edition of helpers, published by the
                    instructor at release (owned by the instructor, readable by everyone): the
                    students' kernels import it (``PYTHONPATH``)
    state/          the Hub's database, cookie secret, proxy pid (root only)
    lib/            the few course modules the Hub imports to derive per-student variants
                    (``grading/course/variants.py`` and what it needs; root's copy, never the
                    instructor's clone, since the Hub runs as root)
    exchange/       nbgrader's exchange, unless --exchange: root's, mode 1777 (sticky: nobody renames
                    or deletes what another account made); the course folder and its outbound/
                    the instructor's (0755), inbound/ the instructor's with mode 3733 (students
                    create their own hand-ins, cannot list, rename, replace or delete others'),
                    see :mod:`hub.exchange`

Each user's server runs in its own control group (memory and CPU limits, :mod:`hub.limits`); an
idle culler (``jupyterhub-idle-culler``) stops servers left idle.

The instructor's commands (``python -m hub release|collect|return``) run as the instructor, in
their clone of the repository (the one place holding the reference answers, mode 0700). On
Kubernetes there is no ``hub.json``: the instructor's pod names the exchange and the prefix in its
environment (``COURSE_HUB_EXCHANGE``, ``COURSE_HUB_PREFIX``, ``COURSE_ID``; :meth:`HubSettings.load`).
See grading/HUB.md.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_PREFIX = "/srv/dl-opt-setup"
PREFIX_ENV = "COURSE_HUB_PREFIX"
#: Set in the instructor's pod on Kubernetes (hub/k8s/values.yaml), where there is no ``hub.json``.
EXCHANGE_ENV = "COURSE_HUB_EXCHANGE"
SETTINGS_FILE = "etc/hub.json"


@dataclass
class HubSettings:
    """One Hub deployment (written to ``<prefix>/etc/hub.json`` by ``install``)."""

    prefix: str = DEFAULT_PREFIX
    course_id: str = "dl-opt-setup"
    instructors: list[str] = field(default_factory=list)
    students: list[str] = field(default_factory=list)
    exchange: str = ""  # default: <prefix>/exchange
    env: str = ""  # default: <prefix>/env
    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001
    #: The instructor's course root (its ``course.toml`` turns per-student variants on), read by the
    #: Hub (root) when it starts a student's server; ``~user/...`` allowed. Default: ``~<first
    #: instructor>/course/grading`` (the clone grading/HUB.md describes).
    course_root: str = ""
    #: Per user server (its kernels and terminals included): memory in bytes-like units ("2G"; "" none)
    #: and CPUs (0: none), enforced by the server's control group (hub.limits).
    mem_limit: str = "2G"
    cpu_limit: float = 1.0
    #: Seconds without activity after which jupyterhub-idle-culler stops a user's server (0: never).
    cull_idle: int = 3600

    def __post_init__(self):
        self.prefix = str(Path(self.prefix).resolve())
        self.exchange = self.exchange or str(Path(self.prefix) / "exchange")
        self.env = self.env or str(Path(self.prefix) / "env")
        if not self.course_root and self.instructors:
            self.course_root = f"~{self.instructors[0]}/course/grading"

    @property
    def path(self) -> Path:
        return Path(self.prefix)

    @property
    def published_helpers(self) -> Path:
        """Folder whose ``helpers/`` is the student edition the students' kernels import."""
        return self.path / "share" / "student_helpers"

    @property
    def library(self) -> Path:
        """The course code the Hub process imports (``hub.install.install_library``; root's, not the instructor's)."""
        return self.path / "lib"

    def course_root_path(self) -> Path:
        """Where the instructor's ``course.toml`` is (``course_root``, ``~user`` expanded)."""
        return Path(os.path.expanduser(self.course_root or "~/course/grading"))

    def config_dir(self, role: str) -> Path:
        return self.path / "etc" / f"jupyter-{role}"

    def role(self, user: str) -> str | None:
        if user in self.instructors:
            return "instructor"
        if user in self.students:
            return "student"
        return None

    def save(self) -> Path:
        target = self.path / SETTINGS_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(asdict(self), indent=1) + "\n")
        os.chmod(target, 0o644)
        return target

    @classmethod
    def load(cls, prefix: str | os.PathLike | None = None) -> HubSettings:
        """``<prefix>/etc/hub.json``; without one, the settings a Kubernetes pod's environment names."""
        prefix = Path(prefix or os.environ.get(PREFIX_ENV) or DEFAULT_PREFIX)
        target = prefix / SETTINGS_FILE
        if target.is_file():
            return cls(**json.loads(target.read_text()))
        if os.environ.get(EXCHANGE_ENV) and os.environ.get("COURSE_ID"):
            # a pod has no install: the values' pre-spawn hook names the exchange volume and the course
            return cls(prefix=str(prefix), course_id=os.environ["COURSE_ID"], exchange=os.environ[EXCHANGE_ENV])
        raise FileNotFoundError(f"no Hub at {prefix} ({target} is missing, and no {EXCHANGE_ENV} and COURSE_ID "
                                "in the environment): run `python -m hub install` as root")
