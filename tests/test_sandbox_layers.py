"""Each layer of the grading sandbox, probed from inside one real sandboxed kernel.

The kernel is started exactly as autograde starts it (``SandboxKernelManager``), then asked
what it can see and do. Independent oracles: the kernel's answers are compared with facts
measured from the outside (the grader's uid and pid, a TCP listener opened by this test,
files this test owns). The end-to-end hostile corpus is ``test_grading_sandbox.py``.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import grading_support as gs
import pytest
import sandbox_corpus as corpus

from grading.course import cgroups, sandbox

REPO = Path(__file__).resolve().parent.parent

PROBE = r'''
import json, os, resource, socket, sys
out = {"uid": os.getuid(), "gid": os.getgid(), "euid": os.geteuid(), "groups": os.getgroups(),
       "pid": os.getpid(), "cwd": os.getcwd(), "hostname": socket.gethostname(),
       "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
       "root": sorted(os.listdir("/")), "work": sorted(os.listdir(".")), "helpers": __import__("helpers").__file__}
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
out["caps"] = status["CapEff"].strip(); out["nnp"] = status["NoNewPrivs"].strip()
out["limits"] = {n: list(resource.getrlimit(getattr(resource, n))) for n in
                 ("RLIMIT_AS", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_FSIZE", "RLIMIT_CORE")}
def attempt(fn):
    try:
        return "ok:" + str(fn())
    except BaseException as exc:
        return type(exc).__name__
out["tcp"] = attempt(lambda: socket.create_connection(("127.0.0.1", PORT), timeout=2))
out["ifaces"] = sorted(n for _, n in socket.if_nameindex())
out["raise_as"] = attempt(lambda: resource.setrlimit(resource.RLIMIT_AS, (-1, -1)))
out["reference"] = attempt(lambda: __import__("helpers._reference"))
out["secret"] = attempt(lambda: open(SECRET).read())
out["repo"] = attempt(lambda: os.listdir(REPO))
out["write_env"] = attempt(lambda: open(os.path.join(sys.prefix, "evil.pth"), "w"))
out["write_helpers"] = attempt(lambda: open(os.path.join(os.path.dirname(out["helpers"]), "x.py"), "a"))
out["write_root"] = attempt(lambda: open("/evil", "w"))
out["write_run"] = attempt(lambda: open("/run/kernel/evil", "w"))
out["sys"] = attempt(lambda: sorted(os.listdir("/sys")))
BUDGETS = ("memory.max", "memory.limit_in_bytes", "pids.max", "cpu.max", "cpu.cfs_quota_us")
out["write_cgroup"] = attempt(lambda: [open(os.path.join(d, f), "w").write("max")
                                       for d, _, fs in os.walk("/sys/fs/cgroup") for f in fs if f in BUDGETS])
out["run_bytes"] = attempt(lambda: os.statvfs("/run/kernel").f_blocks * os.statvfs("/run/kernel").f_frsize)
out["write_work"] = attempt(lambda: open("note.txt", "w").write("mine"))
def fill():
    with open("/tmp/fill", "wb") as fh:
        for _ in range(200):
            fh.write(b"x" * (1 << 20))
out["fill_tmp"] = attempt(fill)
out["kill_all"] = attempt(lambda: os.kill(-1, 0))
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sandbox")
    (tmp / "helpers_edition").mkdir()
    shutil.copytree(REPO / "helpers", tmp / "helpers_edition" / "helpers",
                    ignore=shutil.ignore_patterns("_reference", "__pycache__"))
    submission = tmp / "submission"
    submission.mkdir()
    (submission / "data.txt").write_text("the student's own file")
    (submission / "notebook.ipynb").write_text("{}")
    secret = tmp / "secret.txt"
    secret.write_text("answers")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    restore = gs.set_environ({sandbox.STUDENT_HELPERS_ENV: str(tmp / "helpers_edition"), sandbox.NO_SANDBOX_ENV: None,
                              "COURSE_KERNEL_TMP_MB": "16", "COURSE_KERNEL_MEMORY_MB": "2048"})
    code = PROBE.replace("PORT", str(port)).replace("SECRET", repr(str(secret))).replace("REPO", repr(str(REPO)))

    async def run():
        km = sandbox.SandboxKernelManager(kernel_name="python3")
        await km.start_kernel(cwd=str(submission))
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            km.seal()
            groups = {}
            for folder in km._group.dirs:
                files = {f.name: f for f in folder.iterdir()}
                groups[folder.parent.name if folder.parent.parent == cgroups.ROOT else str(folder)] = {
                    "procs": len(files["cgroup.procs"].read_text().split()),
                    **{k: files[k].read_text().strip() for k in ("memory.limit_in_bytes", "memory.max", "pids.max",
                                                                 "cpu.max", "cpu.cfs_quota_us", "cpu.cfs_period_us")
                       if k in files}}
            texts = []
            reply = await kc.execute_interactive(code, timeout=60, output_hook=lambda m: texts.append(
                m["content"].get("text") or m["content"].get("evalue") or ""))
            assert reply["content"]["status"] == "ok", texts
            return json.loads("".join(texts).strip().splitlines()[-1]), Path(km._private), groups, km._group
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    try:
        result, private, groups, group = asyncio.run(run())
    finally:
        listener.close()
        restore()
    return {"out": result, "private": private, "submission": submission, "secret": secret, "groups": groups,
            "group": group}


def test_identity_is_unprivileged_and_not_the_graders(probe):
    out = probe["out"]
    assert out["uid"] != os.getuid() and out["uid"] != 0 and out["euid"] == out["uid"]
    assert out["gid"] != 0 and 0 not in out["groups"]
    assert int(out["caps"], 16) == 0, "the kernel has capabilities"
    assert out["nnp"] == "1", "no_new_privs is not set"
    if os.geteuid() == 0:
        assert out["uid"] >= 1_000_000_000


def test_new_pid_uts_and_network_namespaces(probe):
    out = probe["out"]
    assert os.getpid() not in out["pids"] and max(out["pids"]) < 100, out["pids"]
    assert out["hostname"] == "grading-kernel"
    assert out["ifaces"] == ["lo"]
    assert out["tcp"] == "ConnectionRefusedError", "the kernel reached a TCP listener of the grader's machine"
    assert out["kill_all"].startswith(("ok", "ProcessLookupError")), out["kill_all"]


def test_file_system_view(probe):
    out = probe["out"]
    assert out["cwd"] == sandbox.WORKDIR
    assert out["work"] == ["data.txt"], "the working directory holds a copy of the submission's files"
    assert out["helpers"].startswith(sandbox.INSIDE_HELPERS)
    assert out["reference"] == "ModuleNotFoundError"
    assert out["secret"] in ("FileNotFoundError", "PermissionError")
    # only the Python environment's own folder, when it lives in the repository (.venv)
    env_in_repo = [str(Path(d).relative_to(REPO)).split("/")[0] for d in sandbox._python_dirs()
                   if d.startswith(str(REPO) + "/")]
    visible = [] if out["repo"] == "FileNotFoundError" else ast.literal_eval(out["repo"][3:])
    assert visible == env_in_repo, f"the repository is visible in the sandbox: {out['repo']}"
    # /sys only for the kernel's own control groups, shown read-only (cgroups.KernelGroup.inside)
    sys_dir = ["sys"] if probe["groups"] else []
    assert set(out["root"]) <= {"bin", "dev", "etc", "home", "lib", "lib32", "lib64", "libx32", "opt", "proc", "run",
                                "sbin", "tmp", "usr", *sys_dir, *[p.split("/")[1] for p in sandbox._python_dirs()]}
    assert out["sys"] == ("FileNotFoundError" if not sys_dir else "ok:['fs']"), out["sys"]


def test_nothing_outside_the_private_folders_is_writable(probe):
    out = probe["out"]
    for key in ("write_env", "write_helpers", "write_root"):
        assert out[key] == "OSError" or out[key] in ("PermissionError", "FileNotFoundError"), (key, out[key])
    assert out["write_env"] != "ok" and "ok" not in out["write_helpers"]
    assert out["write_run"] == "PermissionError", "the sealed socket folder took a new file"
    assert out["write_work"].startswith("ok")
    assert not (probe["submission"] / "note.txt").exists(), "a write in the work dir reached the submission"
    assert sorted(p.name for p in probe["submission"].iterdir()) == ["data.txt", "notebook.ipynb"]


def test_limits_are_hard(probe):
    out = probe["out"]
    limits = out["limits"]
    assert limits["RLIMIT_AS"] == [2048 << 20] * 2
    assert limits["RLIMIT_NPROC"][0] == limits["RLIMIT_NPROC"][1] > 0
    assert limits["RLIMIT_NOFILE"][0] == limits["RLIMIT_NOFILE"][1] > 0
    assert limits["RLIMIT_FSIZE"] == [64 << 20] * 2
    assert limits["RLIMIT_CORE"] == [0, 0]
    assert out["raise_as"] in ("ValueError", "PermissionError"), "the kernel raised its own memory limit"
    assert out["fill_tmp"] == "OSError", "/tmp is not size-limited"


def test_private_folder_and_groups_are_removed(probe):
    assert not probe["private"].exists()
    assert not probe["group"].dirs


def test_one_control_group_holds_the_whole_sandbox(probe):
    """Memory and process budget of the sandbox as a whole (where the machine has cgroups)."""
    _bases, why = cgroups.parents()
    if why is not None:  # said loudly by autograde too; here the test names what is missing
        assert not probe["groups"], why
        pytest.xfail(f"no control groups on this machine: {why}")
    values = {k: v for g in probe["groups"].values() for k, v in g.items() if k != "procs"}
    assert all(g["procs"] >= 1 for g in probe["groups"].values()), probe["groups"]
    memory = int(values.get("memory.limit_in_bytes") or values["memory.max"])
    # RLIMIT_AS + $HOME + /tmp (16, set above) + /dev/shm + the socket folder (512 kB, rounded up)
    assert memory == (2048 + 256 + 16 + 16 + 1) << 20
    assert int(values["pids.max"]) == sandbox.Limits().processes
    if cgroups.cpu_missing() is None:  # one CPU's worth by default (COURSE_KERNEL_CPUS)
        quota = values.get("cpu.max", "").split() or [values["cpu.cfs_quota_us"], values["cpu.cfs_period_us"]]
        assert [int(q) for q in quota] == [100_000, 100_000], values
    assert probe["out"]["write_cgroup"] in ("OSError", "PermissionError"), "the kernel could change its own budget"


def test_socket_folder_is_a_bounded_tmpfs_of_its_own(probe):
    """As root the only host folder the kernel can write is a tmpfs of COURSE_KERNEL_RUN_KB (512 kB)."""
    if os.geteuid() != 0:
        pytest.xfail("as an ordinary user the socket folder is a plain folder of the user's (README: sandbox)")
    assert probe["out"]["run_bytes"] == "ok:" + str(512 << 10)


def test_missing_bwrap_fails_closed_with_the_install_command(monkeypatch):
    monkeypatch.setenv(sandbox.BWRAP_ENV, "/nonexistent/bwrap")
    with pytest.raises(sandbox.SandboxUnavailable, match="bubblewrap") as info:
        sandbox.check()
    assert "apt-get install bubblewrap" in str(info.value)


def test_broken_bwrap_fails_closed(monkeypatch, tmp_path):
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv(sandbox.BWRAP_ENV, str(fake))
    with pytest.raises(sandbox.SandboxUnavailable, match=r"cannot create the sandbox.*namespace"):
        sandbox.check()


def test_the_sandbox_binds_no_course_folder():
    cmd = sandbox.bwrap_command(private_dir=Path("/tmp/p"), submission_dir=Path("/tmp/s"),
                                student_helpers=Path("/tmp/h"), limits=sandbox.Limits(), identity=(1, 1),
                                figures="none")
    sources = [cmd[i + 1] for i, a in enumerate(cmd) if a in ("--bind", "--ro-bind")]
    repo = str(REPO)
    for src in sources:
        assert not (src == repo or (repo.startswith(src + "/") and src not in ("/usr", "/etc"))), src
        # of the repository, only the launcher script and the Python environment (when it lives there)
        assert not src.startswith(repo + "/") or src.startswith(sys.prefix) or src == str(sandbox.LAUNCHER), src
    writable = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--bind"]
    assert writable == ["/tmp/p"]


def test_kernel_stdio_does_not_reach_the_grader(capfd, tmp_path, monkeypatch):
    """A kernel writing to its own file descriptors 1 and 2 fills nothing of the grader's."""
    (tmp_path / "h").mkdir()
    shutil.copytree(REPO / "helpers", tmp_path / "h" / "helpers", ignore=shutil.ignore_patterns("_reference"))
    (tmp_path / "s").mkdir()
    monkeypatch.setenv(sandbox.STUDENT_HELPERS_ENV, str(tmp_path / "h"))
    monkeypatch.delenv(sandbox.NO_SANDBOX_ENV, raising=False)

    async def run():
        km = sandbox.SandboxKernelManager(kernel_name="python3")
        await km.start_kernel(cwd=str(tmp_path / "s"))
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            reply = await kc.execute_interactive("import os\nfor fd in (1, 2):\n    os.write(fd, b'LEAK' * 100000)",
                                                 timeout=60, output_hook=lambda msg: None)
            assert reply["content"]["status"] == "ok"
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    asyncio.run(run())
    out, err = capfd.readouterr()
    assert "LEAK" not in out and "LEAK" not in err


def test_an_environment_under_tmp_is_not_hidden_by_the_private_tmp(monkeypatch):
    """A clone (and its .venv) in a temporary folder, as on CI: bound after the private /tmp is mounted."""
    monkeypatch.setattr(sandbox, "_python_dirs", lambda: ["/tmp/clone/.venv"])
    cmd = sandbox.bwrap_command(private_dir=Path("/tmp/p"), submission_dir=Path("/tmp/s"),
                                student_helpers=Path("/tmp/h"), limits=sandbox.Limits(), identity=(1, 1),
                                figures="none")
    mounts = [(a, cmd[i + 1]) for i, a in enumerate(cmd) if a in ("--tmpfs", "--ro-bind", "--bind", "--dir")]
    tmp_at = mounts.index(("--tmpfs", "/tmp"))
    for kind, where in mounts:
        if where.startswith("/tmp/") or where.startswith(sandbox.HOME + "/"):
            assert mounts.index((kind, where)) > tmp_at, (kind, where)
    assert mounts.index(("--ro-bind", "/tmp/clone/.venv")) > tmp_at


# ----------------------------------------------------------------------------- the real autograde path
# Issue 21: the seal, the system-call filter, the keyrings, the CPU share and the time budget, each
# tried by a submission's own cells in `python -m grading.course autograde` (the instructor's
# command, two shards), and judged from the grader's side: the autograded notebooks' outputs, the
# gradebook and the report. The oracles are independent of the sandbox: the same probe scripts run
# by this test outside it, the release's own measurement file, the configured budgets.
TOY = "00_toy"


def _cli(root: Path, source: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "grading.course", "--root", str(root), "--source", str(source), *args]
    full = {**os.environ, "COURSE_DB_URL": "", **(env or {})}
    for var in ("COURSE_NOTEBOOK_TIMEOUT", sandbox.NO_SANDBOX_ENV):
        full.pop(var, None)
    return subprocess.run(cmd, cwd=REPO, env=full, capture_output=True, text=True, timeout=900)


def _tagged(nb, tag: str) -> list:
    """The JSON a probe cell printed after ``tag`` (in the autograded notebook), in cell order."""
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            for line in (out.get("text") or "").splitlines():
                if line.startswith(tag + " "):
                    found.append(json.loads(line[len(tag) + 1:]))
    return found


def _outside(code: str, tag: str, user: int | None = None) -> dict:
    """A probe script run by this test, unfiltered (as root, or as a fresh uid through setpriv)."""
    cmd = [sys.executable, "-c", code]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith(tag + " "))
    return json.loads(line[len(tag) + 1:])


@pytest.fixture(scope="module")
def autograded(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.fail("the sandbox's seal, CPU share and control groups are the root grader's: run the tests as root "
                    "(make test does)")
    import nbformat

    tmp = tmp_path_factory.mktemp("last_gaps")
    source, root = tmp / "source", tmp / "course"
    gs.make_toy_source(source, TOY)
    env = {"COURSE_CHECK_MODULES": str(source / TOY / "toycheck.py"), "COURSE_CELL_TIMEOUT": "120"}
    released = _cli(root, source, "release", env=env)
    assert released.returncode == 0, released.stdout + released.stderr
    rel = nbformat.read(root / "release" / TOY / "toy.ipynb", as_version=4)
    src = nbformat.read(source / TOY / "toy.ipynb", as_version=4)
    gs.register_toy_check()
    subs = corpus.last_gaps((TOY, rel, src))
    for student, (nb, _score) in subs.items():
        folder = root / "submitted" / student / TOY
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / "toy.ipynb")
    run = _cli(root, source, "autograde", "--jobs", "2", env=env)
    # the stall, alone, with a tight budget from the work: 1x the measured run time, at least 2 s
    (root / "course.toml").write_text("[grading]\nbudget_factor = 1\nbudget_floor = 2\n")
    stall = corpus._insert_after_setup(corpus._blank(rel), corpus.STALL_LONG)
    (root / "submitted" / "e_stall" / TOY).mkdir(parents=True)
    nbformat.write(stall, root / "submitted" / "e_stall" / TOY / "toy.ipynb")
    stalled = _cli(root, source, "autograde", "--student", "e_stall", env=env)
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        scores = {s: gb.find_submission(TOY, s).score for s in [*subs, "e_stall"]}
    notebooks = {s: nbformat.read(root / "autograded" / s / TOY / "toy.ipynb", as_version=4)
                 for s in [*subs, "e_stall"]}
    report = json.loads((root / "logs" / "autograde-report.json").read_text())
    return {"root": root, "run": run, "stalled": stalled, "scores": scores,
            "expected": {s: v[1] for s, v in subs.items()}, "nb": notebooks, "stall_report": report,
            "times": json.loads((root / "run-times.json").read_text())}


def test_probes_graded_like_anyone(autograded):
    assert autograded["run"].returncode == 0, autograded["run"].stdout[-3000:] + autograded["run"].stderr[-3000:]
    for student, score in autograded["expected"].items():
        assert autograded["scores"][student] == score, (student, autograded["scores"][student], score)


def test_socket_folder_sealed_on_the_autograde_path(autograded):
    """The kernel cannot add a byte to its socket folder (a tmpfs of 512 kB), nor write any host-visible mount."""
    (seal,) = _tagged(autograded["nb"]["a_probe_keys"], "SEAL")
    for key in ("create", "mkdir", "chmod", "connection_file"):
        assert seal[key] == "PermissionError", (key, seal[key])
    assert seal["run_bytes"] == 512 << 10
    writable = [m for m in seal["mounts"] if m[4]]
    assert {m[0] for m in writable} >= {"/tmp", sandbox.HOME}, writable  # the probe does see its own scratch space
    for point, fstype, _opts, options, _ in writable:  # everything it can write is a tmpfs with a size, its own
        assert fstype == "tmpfs" and "size=" in options, (point, fstype, options)
        assert point != sandbox.INSIDE_RUN


def test_every_denied_call_is_refused_by_the_filter(autograded):
    """Each call the filter denies: EPERM (clone3: ENOSYS) in the graded kernel, something else unfiltered."""
    from grading.course import seccomp

    (inside,) = _tagged(autograded["nb"]["a_probe_keys"], "SYSCALLS")
    outside = _outside(corpus.SYSCALL_PROBE, "SYSCALLS")
    assert inside.pop("seccomp_mode") == "2" and outside.pop("seccomp_mode") == "0"
    probed = {key.split("#")[0] for calls in inside.values() for key in calls}
    assert probed >= {n for names in seccomp.DENIED.values() for n in names} | {"clone", "clone3"}
    for family, calls in inside.items():
        for key, got in calls.items():
            if got == "unknown":  # not a system call of this machine (libseccomp's table)
                continue
            wanted = "ENOSYS" if family == "clone3" else "EPERM"
            assert got == wanted, (family, key, got)
            assert outside[family][key] != wanted, f"{key} answers {wanted} even unfiltered: the probe proves nothing"


def test_no_key_survives_from_one_kernel_to_the_next(autograded):
    """The key leaver and reader run in one shard (one uid), one after the other: both refused.

    Oracle: the same two scripts, unfiltered, as one fresh uid: the reader then finds the key.
    """
    (left,) = _tagged(autograded["nb"]["a_probe_keys"], "KEYS")
    (read,) = _tagged(autograded["nb"]["c_read_keys"], "KEYS")
    assert set(left.values()) == {"EPERM"} and set(read.values()) == {"EPERM"}, (left, read)
    user = 1_700_000_000 + os.getpid()
    assert _outside(corpus.KEY_LEAVE, "KEYS", user)["user"] == "ok"
    assert _outside(corpus.KEY_READ, "KEYS", user)["user"] == "ok", "unfiltered, a later process reads the key"


def test_each_kernel_has_its_own_cpu_quota(autograded):
    """The hog (150 spinning processes) and the honest classmate beside it: each in a group of its own,
    with the configured quota (one CPU's worth), the hog's processes all in the hog's group."""
    if cgroups.cpu_missing() is not None:
        pytest.fail(f"no CPU share on this machine: {cgroups.cpu_missing()}")
    (hog,) = _tagged(autograded["nb"]["b_hog"], "CPU")
    (honest,) = _tagged(autograded["nb"]["d_honest"], "CPU")
    period = cgroups.PERIOD_US
    for view in (hog, honest):
        assert view["quota"] == [round(sandbox.Limits().cpus * period), period] and view["mine"], view
    assert hog["group"] != honest["group"]
    assert hog["procs"] > hog["spinning"] >= 150 and honest["procs"] < 20, (hog, honest)
    own = Path(cgroups.ROOT / "cpu" / cgroups._own_paths()["cpu"].lstrip("/"))
    if own.is_dir():  # v1: not the grader's own group either
        assert os.stat(own).st_ino not in (hog["group"], honest["group"])


def test_the_budget_comes_from_the_work_and_the_report_says_when_it_was_hit(autograded):
    """Release measured the toy; with ``budget_factor = 1``, ``budget_floor = 2`` the stall gets
    max(2, ceil(measured)) seconds, scores 0 and the report says so."""
    import math

    measured = autograded["times"][TOY]["toy"]
    assert measured > 0
    budget = max(2, math.ceil(measured))
    assert autograded["stalled"].returncode == 0, autograded["stalled"].stdout[-3000:]
    assert autograded["scores"]["e_stall"] == 0
    (entry,) = [e for e in autograded["stall_report"] if e["student"] == "e_stall"]
    said = " ".join(entry["problems"] + entry["cells"])
    assert f"time budget of {budget} s" in said and "took at release" in said, said


@pytest.mark.parametrize("table, named", [
    ("budget_factor = 0", "grading.budget_factor = 0"),
    ('notebook_timeout = "x"', "grading.notebook_timeout = 'x'"),
    ("budget_factr = 2", "unknown key grading.budget_factr"),
])
def test_a_mistake_in_the_budget_settings_is_one_line_naming_the_key(tmp_path, table, named):
    (tmp_path / "src" / "00_a").mkdir(parents=True)
    (tmp_path / "course.toml").write_text(f"[grading]\n{table}\n")
    done = _cli(tmp_path, tmp_path / "src", "config")
    lines = [ln for ln in (done.stdout + done.stderr).splitlines() if ln.strip()]
    assert done.returncode != 0 and len(lines) == 1 and named in lines[0], lines


NESTED = r"""
import json, os, subprocess, sys, tempfile
from pathlib import Path
from grading.course import sandbox, seccomp
base = Path(tempfile.mkdtemp())
for name in ("run", "helpers", "submission"):
    (base / name).mkdir()
fd = seccomp.pipe_for_bwrap()
cmd = sandbox.bwrap_command(private_dir=base / "run", submission_dir=base / "submission",
                            student_helpers=base / "helpers", limits=sandbox.Limits(),
                            identity=sandbox.kernel_identity(), figures="none", seccomp_fd=fd)
code = ("import ctypes, errno; libc = ctypes.CDLL(None, use_errno=True); "
        "print('nested', 'ok' if libc.unshare(0x10000000) == 0 else errno.errorcode[ctypes.get_errno()])")
done = subprocess.run([*cmd[:cmd.index(sys.executable)], sys.executable, "-I", "-c", code], pass_fds=(fd,),
                      capture_output=True, text=True)
print(json.dumps({"uid": os.getuid(), "disable_userns": "--disable-userns" in cmd, "out": done.stdout + done.stderr}))
"""


def test_as_an_ordinary_user_the_kernel_makes_no_nested_user_namespace():
    """The grader as an ordinary user: the kernel is nobody in a user namespace, and cannot nest another."""
    if shutil.which("setpriv") is None or os.geteuid() != 0:
        pytest.fail("this test switches to an ordinary user with setpriv, as root (make test runs as root)")
    done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", NESTED],
                          cwd=REPO, env={**os.environ, "HOME": "/tmp", "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=120)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["uid"] == 65534 and result["disable_userns"], result
    assert result["out"].strip() == "nested EPERM", result
