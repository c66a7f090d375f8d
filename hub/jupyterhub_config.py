"""JupyterHub configuration of the course (copied to ``<prefix>/etc/`` by ``python -m hub install``).

Reads ``hub.json`` beside it (``hub.HubSettings``). One Unix account per user: PAM logs them in,
the local process spawner starts each user's server as that user in their home directory (the
Hub runs as root), in a control group with the install's memory and CPU limits (``hub.limits``);
``jupyterhub-idle-culler`` stops servers left idle. Each role's server gets its own Jupyter config directory
(``JUPYTER_CONFIG_PATH``): nbgrader's exchange and course id for everyone; students get the
Assignments tab and Validate only, instructors the formgrader too (``hub/install.py``).

Per-student variants: when the instructor's ``course.toml`` (``hub.json``'s ``course_root``)
turns them on for some assignments, each *student's* server gets ``COURSE_VARIANTS`` with that
student's own variant of each (derived here, in the Hub, from the user name and the course
secret, ``grading.course.variants.hub_environment``); instructors get none. The secret must be
the instructor's, mode 0600 (``variants.hub_secret``); when it or course.toml is unusable, a
student's server does not start (the Hub's log says why) rather than start on the wrong cases.
"""

import json
import os
import pwd
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (injected by traitlets)

HERE = Path(__file__).resolve().parent
S = json.loads((HERE / "hub.json").read_text())
PREFIX, ENV = Path(S["prefix"]), Path(S["env"])
INSTRUCTORS, STUDENTS = set(S["instructors"]), set(S["students"])
# root's copy of the course modules that derive variants (never the instructor's clone: the Hub is root)
sys.path.insert(0, str(PREFIX / "lib"))

c.JupyterHub.ip = S["ip"]
c.JupyterHub.port = S["port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = S["hub_port"]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{S['proxy_api_port']}"
c.ConfigurableHTTPProxy.command = [str(PREFIX / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(PREFIX / "state" / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{PREFIX / 'state' / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(PREFIX / "state" / "cookie_secret")
c.JupyterHub.cleanup_servers = True

# who may log in: the course's accounts, with their Unix passwords (PAM); nobody is a Hub admin
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = INSTRUCTORS | STUDENTS
c.Authenticator.admin_users = set()

# each user's server: the users' environment, as that user, in their home directory, in its own control
# group (memory and CPU limits: one runaway kernel is killed alone; hub/limits.py)
c.Spawner.cmd = [str(ENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
if S.get("mem_limit") or S.get("cpu_limit"):
    from hub import limits

    why = limits.unavailable()
    if why:  # never run a class with limits it believes are on
        raise SystemExit(f"per-user limits (hub.json: mem_limit {S.get('mem_limit')!r}, cpu_limit "
                         f"{S.get('cpu_limit')}) cannot be enforced here: {why}. Install again with "
                         "--mem-limit '' --cpu-limit 0 to run without them.")
    c.JupyterHub.spawner_class = limits.LimitedSpawner
    c.LimitedSpawner.hub_name = f"{S['course_id']}-{S['port']}"
    c.Spawner.mem_limit = S.get("mem_limit") or None
    c.Spawner.cpu_limit = float(S.get("cpu_limit") or 0) or None
else:
    c.JupyterHub.spawner_class = "localprocess"

c.JupyterHub.services = []
c.JupyterHub.load_roles = []
# servers idle for cull_idle seconds are stopped (jupyterhub-idle-culler, in the Hub's environment; its
# role holds only the scopes its documentation lists)
if int(S.get("cull_idle") or 0) > 0:
    c.JupyterHub.services.append({
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={int(S['cull_idle'])}",
                    f"--cull-every={max(60, min(600, int(S['cull_idle']) // 4))}"],
    })
    c.JupyterHub.load_roles.append({
        "name": "idle-culler", "services": ["idle-culler"],
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    })


def course_root() -> Path:
    root = S.get("course_root") or f"~{S['instructors'][0]}/course/grading"
    return Path(os.path.expanduser(root))


class VariantsUnavailable(RuntimeError):
    """Variants are on, but the Hub cannot derive them (the message is what the student sees)."""


def variant_environment(spawner, name: str) -> dict:
    """``{"COURSE_VARIANTS": ...}`` with ``name``'s own variants, or ``{}`` when no assignment's are on."""
    from grading.course import settings as course_settings
    from grading.course import variants

    try:
        settings = course_settings.load(course_root())  # no course.toml: no variants, as without them
        if not variants.varying(settings):
            return {}
        owners = set()
        for instructor in INSTRUCTORS:
            try:
                owners.add(pwd.getpwnam(instructor).pw_uid)
            except KeyError:
                continue
        secret = variants.hub_secret(settings, owners)
    except (course_settings.ConfigError, OSError) as exc:
        spawner.log.error("per-student variants: %s cannot start: %s", name, exc)
        raise VariantsUnavailable("this course's per-student variants are on, but the Hub cannot read the "
                                  "course's secret or course.toml; please tell your instructor") from None
    if settings.roster and settings.student(name) is None:
        spawner.log.warning("per-student variants: %s is not on the roster of %s/course.toml", name, course_root())
    env = variants.hub_environment(settings, secret, name)
    spawner.log.info("per-student variants: %s gets their own for %s", name, ", ".join(variants.varying(settings)))
    return env


def pre_spawn_hook(spawner):
    name = spawner.user.name
    role = "instructor" if name in INSTRUCTORS else "student" if name in STUDENTS else None
    if role is None:
        raise ValueError(f"{name} is neither an instructor nor a student of this course")
    env = {
        "PATH": f"{ENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "JUPYTER_CONFIG_PATH": str(PREFIX / "etc" / f"jupyter-{role}"),
        # the student edition of helpers the instructor published (instructors use their clone's)
        "PYTHONPATH": str(PREFIX / "share" / "student_helpers") if role == "student" else "",
        "COURSE_ID": S["course_id"],
        "COURSE_HUB_PREFIX": str(PREFIX),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    if role == "student":  # instructors get no variant: they see the course's literal cases
        env.update(variant_environment(spawner, name))
    else:  # the instructor grades the class from their server (autograde's own sandbox bounds each kernel)
        spawner.mem_limit, spawner.cpu_limit = None, None
    spawner.environment = {**spawner.environment, **env}


c.Spawner.pre_spawn_hook = pre_spawn_hook

# an API token for scripts (the end-to-end test, an LMS bridge): COURSE_HUB_API_TOKEN in the Hub's environment
if os.environ.get("COURSE_HUB_API_TOKEN"):
    c.JupyterHub.services.append({"name": "course-admin", "api_token": os.environ["COURSE_HUB_API_TOKEN"]})
    c.JupyterHub.load_roles.append({
        "name": "course-admin",
        "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "list:users", "read:users",
                   "list:services", "read:services"],
        "services": ["course-admin"],
    })
