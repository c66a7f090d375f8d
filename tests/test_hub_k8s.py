"""The Kubernetes set-up of grading/HUB.md, checked without a cluster: YAML syntax, the settings the
course relies on, the Hub's extra configuration as Python, and the Indexed Job's shard arithmetic."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

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
