"""The Kubernetes set-up of grading/HUB.md, built as the cluster would build it, without a cluster.

The hub's configuration is made from the Zero-to-JupyterHub chart 4.3.1's defaults and
``hub/k8s/values.yaml`` merged as Helm merges them, the way the chart's hub turns values into
KubeSpawner traits (``tests/chart_config.py``, written from the chart's documented behaviour; the
course's ``hub.extraConfig`` executed as the chart executes it, with the hub container's environment
resolved from ``hub.extraEnv`` and the namespace's secrets). The users' pods are then made by the real
KubeSpawner (7.0.0, the version the chart's hub image ships), our pre-spawn hook included, exactly as
the Hub does before it sends them to the API server. Every manifest (the pods, the home volume's claim,
the autograde Job) is validated against the Kubernetes JSON schemas (strict: unknown fields rejected) of
every version the chart supports that ``kubernetes-validate`` carries (1.28 up). The instructor's
commands run with the environment the instructor's pod gets (no ``hub.json``).
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import chart_config
import grading_support as gs
import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import all_versions

from grading.course.autograde import in_shard, parse_shard
from grading.course.variants import variant_of
from hub.exchange import lay_out

REPO = Path(__file__).resolve().parent.parent
K8S = REPO / "hub" / "k8s"
RELEASE = NAMESPACE = "dl-opt-setup"  # grading/HUB.md's helm command


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


#: Kubernetes versions the chart supports (its Chart.yaml: kubeVersion ">=1.28.0-0") with schemas here
VERSIONS = sorted({v for v in all_versions() if _minor(v) >= (1, 28)}, key=_minor)
VARYING = ("01_normalizing_inputs", "04_gradient_checking")
#: a gradebook URL with braces, as a generated password may have: the pod must get it unchanged
DB_URL = "postgresql+psycopg://grader:p{w}d@db.example.org/dl_opt_setup"


def _load(name):
    return yaml.safe_load((K8S / name).read_text())


def test_values_use_only_keys_the_chart_documents():
    """Our values (and the deployer's override of them below) use chart keys the model knows, typed as the
    chart's reference says; a misspelt key, a key the model ignores and a wrong type are each named."""
    assert chart_config.undocumented(_load("values.yaml")) == []
    assert chart_config.undocumented(_variants_on("")) == []
    bad = copy.deepcopy(_load("values.yaml"))
    bad["singleuser"]["memory"]["limt"] = bad["singleuser"]["memory"].pop("limit")
    bad["singleuser"]["cpu"]["limit"] = "one"
    bad["singleuser"]["uid"] = True
    bad["singleuser"]["storage"]["type"] = "dynamik"
    bad["singleuser"]["extraFiles"] = {}  # documented by the chart, not modelled: no silent partial pod
    bad["hubb"] = {}
    problems = chart_config.undocumented(bad)
    assert sorted(p.split(":")[0] for p in problems) == sorted([
        "singleuser.cpu.limit", "singleuser.memory.limt", "singleuser.storage.type", "singleuser.uid",
        "singleuser.extraFiles", "hubb"]), problems


def _variants_on(assignments: str) -> dict:
    """The deployer's second values file turning variants on (hub/k8s/values.yaml ships them off)."""
    return {"hub": {"extraEnv": {"COURSE_VARIANT_ASSIGNMENTS": assignments}}}


class _User:
    """What KubeSpawner reads of JupyterHub's user object."""

    def __init__(self, name):
        self.name, self.escaped_name, self.id, self.url = name, name, 1, f"/user/{name}/"


def _chart_config(tmp: Path, monkeypatch, assignments: str, variant_secret: str | None):
    """The hub pod's configuration for our values (variants on for ``assignments``), with the hub container's
    environment (``hub.extraEnv``, its secrets: the gradebook's, the variants' if ``variant_secret``) set."""
    values = chart_config.values(_load("values.yaml"), _variants_on(assignments))
    secrets = {"dl-opt-setup-gradebook": {"url": DB_URL}}
    if variant_secret is not None:
        secrets["dl-opt-setup-variants"] = {"secret": variant_secret}
    for name, value in chart_config.hub_environment(values, secrets).items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    kubeconfig = tmp / "kubeconfig"  # KubeSpawner loads one when it starts; nothing connects to it
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "none",
        "clusters": [{"name": "none", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "none", "user": {"token": "none"}}],
        "contexts": [{"name": "none", "context": {"cluster": "none", "user": "none"}}]}))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    config = chart_config.hub_config(values, release=RELEASE, namespace=NAMESPACE)
    # the chart's form, which the hook's original bug was about: volumes and mounts keyed by name
    assert isinstance(config.KubeSpawner.volumes, dict) and isinstance(config.KubeSpawner.volume_mounts, dict)
    return config


async def _spawn(config, name: str) -> tuple[dict, dict]:
    """The pod and home-volume claim manifests KubeSpawner makes for ``name`` (pre-spawn hook run first)."""
    from kubernetes_asyncio.client import ApiClient
    from kubespawner import KubeSpawner

    spawner = KubeSpawner(config=config, user=_User(name), _mock=True)
    spawner.run_pre_spawn_hook()
    api = ApiClient()
    try:
        return (api.sanitize_for_serialization(await spawner.get_pod_manifest()),
                api.sanitize_for_serialization(spawner.get_pvc_manifest()))
    finally:
        await api.close()


def _valid_everywhere(manifest: dict) -> None:
    for version in VERSIONS:
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            raise AssertionError(f"{manifest['kind']} {manifest['metadata'].get('name')} is invalid on Kubernetes "
                                 f"{version}: {exc.message} at {list(exc.path)}") from None


def _env(pod) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}


def _mounts(pod) -> dict[str, dict]:
    return {m["mountPath"]: m for m in pod["spec"]["containers"][0]["volumeMounts"]}


@pytest.fixture
def pods(tmp_path, monkeypatch):
    """Pods of the instructor and two students, per-student variants on for two assignments."""
    secret = "k8s-course-secret-0123456789abcdef"
    # the secret as `--from-file` stores it, the file's newline included (stripped as read_secret does)
    config = _chart_config(tmp_path, monkeypatch, " , ".join(VARYING), secret + "\n")
    built = {who: asyncio.run(_spawn(config, who)) for who in ("instructor", "alovelace", "bhopper")}
    return config, secret, built


def test_pods_from_the_charts_spawner_are_valid_and_carry_each_role(pods):
    _config, secret, built = pods
    assert len(VERSIONS) >= 2 and _minor(VERSIONS[0]) == (1, 28), VERSIONS
    uids = set()
    for who, (pod, claim) in built.items():
        _valid_everywhere(pod)
        _valid_everywhere(claim)
        spec = pod["spec"]
        names = {v["name"] for v in spec["volumes"]}
        for container in spec["containers"] + spec.get("initContainers", []):
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in names, (who, mount, names)  # every mount has its volume
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["nbgrader-exchange"]["persistentVolumeClaim"]["claimName"] == "nbgrader-exchange"
        assert volumes["course"]["persistentVolumeClaim"]["claimName"] == "dl-opt-setup-course"
        assert any(v.get("persistentVolumeClaim", {}).get("claimName") == claim["metadata"]["name"]
                   for v in volumes.values())  # the chart's own home volume is still there
        env, mounts = _env(pod), _mounts(pod)
        assert env["COURSE_ID"] == "dl-opt-setup"
        assert mounts["/srv/nbgrader/exchange"]["name"] == "nbgrader-exchange"
        resources = spec["containers"][0]["resources"]
        assert resources["limits"]["memory"] and resources["limits"]["cpu"], resources
        uids.add(spec["containers"][0]["securityContext"]["runAsUser"])
        assert secret not in json.dumps(pod)
    assert len(uids) == 3  # one uid per user: the exchange's ownership holds between them

    inst_env, inst_mounts = _env(built["instructor"][0]), _mounts(built["instructor"][0])
    assert "COURSE_VARIANTS" not in inst_env
    assert inst_env["COURSE_DB_URL"] == DB_URL  # braces and all
    assert inst_env["JUPYTER_CONFIG_PATH"] == "/etc/jupyter-instructor"
    assert inst_mounts[inst_env["COURSE_HUB_EXCHANGE"]]["name"] == "nbgrader-exchange"
    share = inst_mounts[inst_env["COURSE_HUB_PREFIX"] + "/share"]
    assert share["name"] == "course" and share["subPath"] == "share" and not share.get("readOnly")
    for student in ("alovelace", "bhopper"):
        env, mounts = _env(built[student][0]), _mounts(built[student][0])
        assert json.loads(env["COURSE_VARIANTS"]) == {a: variant_of(secret.encode(), student, a) for a in VARYING}
        assert "COURSE_DB_URL" not in env and "COURSE_HUB_EXCHANGE" not in env
        assert env["JUPYTER_CONFIG_PATH"] == "/etc/jupyter-student"
        share = mounts["/srv/dl-opt-setup/share"]
        assert share["subPath"] == "share" and share["readOnly"] is True
        assert env["PYTHONPATH"] == "/srv/dl-opt-setup/share/student_helpers"
        assert not any(m["name"] == "course" and "subPath" not in m for m in mounts.values())  # never the clone
        inits = built[student][0]["spec"].get("initContainers", [])
        assert "exchange-layout" not in {c["name"] for c in inits}  # root in a student's pod: never


def test_the_instructors_pod_lays_out_the_exchange_as_one_machine_does(pods, tmp_path):
    """The init container's script, run here on a folder, gives the modes :func:`hub.exchange.lay_out` gives."""
    _config, _secret, built = pods
    pod = built["instructor"][0]
    init = next(c for c in pod["spec"]["initContainers"] if c["name"] == "exchange-layout")
    assert init["securityContext"]["runAsUser"] == 0
    script = init["command"][-1]
    assert "/srv/nbgrader/exchange" in script
    if os.geteuid() != 0:
        pytest.fail("this test runs the layout as root (chown), as the pod's init container does: run as root")
    here = tmp_path / "k8s-exchange"
    here.mkdir()
    subprocess.run(["sh", "-c", script.replace("/srv/nbgrader/exchange", str(here))], check=True)
    oracle = tmp_path / "machine-exchange"
    lay_out(oracle, "dl-opt-setup", "root")
    uid = pod["spec"]["containers"][0]["securityContext"]["runAsUser"]
    for rel in ("", "dl-opt-setup", "dl-opt-setup/outbound", "dl-opt-setup/inbound", "dl-opt-setup/feedback"):
        got, want = (here / rel).stat(), (oracle / rel).stat()
        assert stat.S_IMODE(got.st_mode) == stat.S_IMODE(want.st_mode), (rel, oct(got.st_mode), oct(want.st_mode))
        assert got.st_uid == (0 if rel == "" else uid), (rel, got.st_uid)


def test_spawns_that_must_fail_do(tmp_path, monkeypatch):
    with pytest.raises(LookupError, match="dl-opt-setup-gradebook"):  # no gradebook secret: no hub pod at all
        chart_config.hub_environment(chart_config.values(_load("values.yaml")), {})
    config = _chart_config(tmp_path, monkeypatch, VARYING[0], None)
    with pytest.raises(KeyError, match="COURSE_VARIANT_SECRET"):  # variants on, no secret: no student pod
        asyncio.run(_spawn(config, "alovelace"))
    assert "COURSE_VARIANTS" not in _env(asyncio.run(_spawn(config, "instructor"))[0])  # the instructor's starts
    with pytest.raises(ValueError, match="no uid"):  # an account not on the roster gets no pod (and no uid 1000)
        asyncio.run(_spawn(config, "mallory"))


def test_variants_off_leave_students_without_them(tmp_path, monkeypatch):
    pod, _ = asyncio.run(_spawn(_chart_config(tmp_path, monkeypatch, "", None), "alovelace"))
    assert "COURSE_VARIANTS" not in _env(pod)


def test_instructor_pod_runs_release_and_collect_without_hub_json(pods, tmp_path):
    """``python -m hub release`` and ``collect`` with the environment the instructor's pod gets; its mounts are
    folders here (the exchange, the course volume's share/), and there is no hub.json anywhere."""
    _config, _secret, built = pods
    env = _env(built["instructor"][0])
    exchange, prefix = tmp_path / "exchange", tmp_path / "srv"
    lay_out(exchange, env["COURSE_ID"], "root")
    (prefix / "share").mkdir(parents=True)
    source = tmp_path / "source"
    gs.make_toy_source(source)
    run_env = {**os.environ, "COURSE_ID": env["COURSE_ID"], "COURSE_HUB_EXCHANGE": str(exchange),
               "COURSE_HUB_PREFIX": str(prefix), "COURSE_CHECK_MODULES": str(source / "00_toy" / "toycheck.py")}
    run_env.pop("COURSE_DB_URL", None)  # the local gradebook here

    def hub(*args):
        return subprocess.run([sys.executable, "-m", "hub", *args, "--root", str(tmp_path / "term"),
                               "--source", str(source)], capture_output=True, text=True, env=run_env, cwd=REPO,
                              timeout=600)

    done = hub("release", "00_toy")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (exchange / "dl-opt-setup" / "outbound" / "00_toy" / "toy.ipynb").is_file()
    assert (prefix / "share" / "student_helpers" / "helpers" / "checks" / "core.py").is_file()
    done = hub("collect", "00_toy")
    assert done.returncode == 0 and "collected 00_toy" in done.stdout, done.stdout + done.stderr
    assert not (prefix / "etc" / "hub.json").exists()
    run_env.pop("COURSE_HUB_EXCHANGE")
    done = hub("collect", "00_toy")  # neither hub.json nor a pod's environment: one line says so
    assert done.returncode != 0 and "no Hub at" in done.stderr and "COURSE_HUB_EXCHANGE" in done.stderr, done.stderr


def test_autograde_indexed_job_is_valid_and_runs_every_shard_once():
    job = _load("autograde-job.yaml")
    _valid_everywhere(job)
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


def test_a_field_unknown_to_kubernetes_is_caught():
    """The validation rejects what the API server would (the check above can fail)."""
    job = _load("autograde-job.yaml")
    job["spec"]["template"]["spec"]["containers"][0]["securityContext"]["seccompProfil"] = {"type": "Unconfined"}
    with pytest.raises(AssertionError, match=r"invalid on Kubernetes 1\.28"):
        _valid_everywhere(job)
