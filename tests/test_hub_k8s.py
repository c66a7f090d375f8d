"""The Kubernetes set-up of grading/HUB.md, checked without a cluster: YAML syntax, the settings the
course relies on, the Hub's extra configuration as Python, and the Indexed Job's shard arithmetic."""

from __future__ import annotations

import ast
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from grading.course.autograde import in_shard, parse_shard

REPO = Path(__file__).resolve().parent.parent
K8S = REPO / "hub" / "k8s"


def _load(name):
    return yaml.safe_load((K8S / name).read_text())


def test_helm_values_parse_and_hold_the_course_settings():
    values = _load("values.yaml")
    hub, single = values["hub"], values["singleuser"]
    assert hub["extraEnv"]["COURSE_ID"] == single["extraEnv"]["COURSE_ID"] == "dl-opt-setup"
    assert hub["extraEnv"]["COURSE_DB_URL"]["valueFrom"]["secretKeyRef"]["key"] == "url"
    assert hub["config"]["Authenticator"]["admin_users"] == []
    mounts = {m["name"]: m for m in single["storage"]["extraVolumeMounts"]}
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in single["storage"]["extraVolumes"]}
    assert mounts["nbgrader-exchange"]["mountPath"] == "/srv/nbgrader/exchange" and "nbgrader-exchange" in claims
    for name, code in hub["extraConfig"].items():
        tree = ast.parse(code, filename=name)  # the Hub runs it as Python
        assigned = {ast.unparse(t) for node in ast.walk(tree) if isinstance(node, ast.Assign) for t in node.targets}
        assert {"c.KubeSpawner.uid", "c.KubeSpawner.pre_spawn_hook"} <= assigned
        # students mount only the published helpers (read-only), never the instructor's course
        assert '"subPath": "share", "readOnly": True' in code
        users = set(hub["config"]["Authenticator"]["allowed_users"])
        uids = ast.literal_eval(re.search(r"UIDS = (\{.*?\})", code).group(1))
        assert set(uids) == users and len(set(uids.values())) == len(uids)  # one uid per user


class _Config:
    """Stands in for the Hub's ``c``: any attribute chain can be assigned."""

    def __getattr__(self, name):
        value = _Config()
        object.__setattr__(self, name, value)
        return value


class _Spawner:
    def __init__(self, name):
        self.user = type("User", (), {"name": name})()
        self.environment, self.volumes, self.volume_mounts = {}, [], []


def _pre_spawn():
    """The Hub's pre-spawn hook, from the values' extra configuration run as the Hub runs it."""
    code = _load("values.yaml")["hub"]["extraConfig"]["10-course-roles"]
    scope = {"c": _Config()}
    exec(compile(code, "10-course-roles", "exec"), scope)
    return scope["c"].KubeSpawner.pre_spawn_hook


def test_per_student_variants_on_kubernetes_match_the_graders(monkeypatch):
    from grading.course.variants import variant_of

    secret, varying = "k8s-course-secret-0123456789abcdef", ("01_normalizing_inputs", "04_gradient_checking")
    monkeypatch.setenv("COURSE_ID", "dl-opt-setup")
    monkeypatch.setenv("COURSE_DB_URL", "postgresql+psycopg://x@y/z")
    monkeypatch.setenv("COURSE_VARIANT_ASSIGNMENTS", " , ".join(varying))
    monkeypatch.setenv("COURSE_VARIANT_SECRET", secret + "\n")  # a file's newline, stripped as read_secret does
    hook = _pre_spawn()
    spawners = {who: _Spawner(who) for who in ("alovelace", "bhopper", "instructor")}
    for spawner in spawners.values():
        hook(spawner)
    for who in ("alovelace", "bhopper"):
        got = json.loads(spawners[who].environment["COURSE_VARIANTS"])
        assert got == {a: variant_of(secret.encode(), who, a) for a in varying}
        assert secret not in json.dumps(spawners[who].environment)
    assert "COURSE_VARIANTS" not in spawners["instructor"].environment
    monkeypatch.delenv("COURSE_VARIANT_SECRET")
    with pytest.raises(KeyError):  # variants on, no secret: the spawn fails rather than hand out the course's cases
        hook(_Spawner("alovelace"))
    monkeypatch.setenv("COURSE_VARIANT_ASSIGNMENTS", "")
    off = _Spawner("alovelace")
    _pre_spawn()(off)
    assert "COURSE_VARIANTS" not in off.environment  # variants off: as before


def test_autograde_indexed_job_runs_every_shard_once():
    job = _load("autograde-job.yaml")
    spec = job["spec"]
    assert job["kind"] == "Job" and spec["completionMode"] == "Indexed"
    n = spec["completions"]
    assert spec["parallelism"] == n
    container = spec["template"]["spec"]["containers"][0]
    script = " ".join(container["args"])
    m = re.search(r'--shard "\$\(\(JOB_COMPLETION_INDEX \+ 1\)\)/(\d+)"', script)
    assert m and int(m.group(1)) == n, script
    env = {e["name"]: e for e in container["env"]}
    assert "secretKeyRef" in env["COURSE_DB_URL"]["valueFrom"] and env["COURSE_ID"]["value"] == "dl-opt-setup"
    # what each pod's shell makes of it: K/N for K = 1..N, and every student in exactly one shard
    shards = []
    for index in range(n):
        line = subprocess.run(["sh", "-c", f'echo --shard "$(({index} + 1))/{n}"'], capture_output=True,
                              text=True, check=True).stdout.split()[1]
        shards.append(parse_shard(line))
    assert shards == [(k, n) for k in range(1, n + 1)]
    for student in ("alovelace", "bhopper", "cshannon", "dknuth", "eevans", "student17"):
        assert sum(in_shard(student, s) for s in shards) == 1
