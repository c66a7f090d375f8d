"""Per-student variants (issue 15): derived from a course secret, graded against the submitter's own.

Fast tests: the derivation, where a kernel finds its variant, the payload without variants, and
``verify_cell`` against cases rebuilt here from the check's spec (an independent oracle: the
expected cases are drawn by hashing, not read from the payload). The slow test grades a toy class
through the CLI in the sandbox: own hand-ins earn full marks, a classmate's hand-in (or a notebook
claiming a classmate's variant) earns nothing on the varying items and lands in the collusion
report, and a course with variants off grades exactly like one that never heard of them.
"""

from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import zipfile
from pathlib import Path

import grading_support as gs
import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell

from grading.course import cli, gradebook, handin, variants
from grading.course.paths import Course
from grading.course.settings import ConfigError, parse
from helpers import variants as kv
from helpers.checks import core

SECRET = "7f1c0e5a9b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c"
ROSTER = ("alovelace", "bhopper", "cgauss", "ddijkstra", "eeuler")
TOY = "00_toy"


def _toy_check():
    gs.register_toy_check()
    return core.get_check("toy.square")


# ------------------------------------------------------------------ fast
def test_variant_is_a_keyed_hash_of_student_and_assignment():
    s = SECRET.encode()
    v = variants.variant_of(s, "alovelace", TOY)
    assert v == variants.variant_of(s, "alovelace", TOY) and 0 <= v < kv.SPACE
    assert v != variants.variant_of(s, "bhopper", TOY)
    assert v != variants.variant_of(s, "alovelace", "01_other")
    assert v != variants.variant_of(b"another secret, same length!!!!", "alovelace", TOY)
    # an independent oracle: HMAC-SHA256 over "<assignment>\0<student>", first 8 bytes, mod 10**9
    import hashlib
    import hmac

    mac = hmac.new(s, b"00_toy\x00alovelace", hashlib.sha256).digest()
    assert v == int.from_bytes(mac[:8], "big") % 10**9


def test_two_students_get_different_cases_for_every_varying_key():
    s = SECRET.encode()
    case = {"seed": 11, "n": 4, "label": "x"}
    a, b = (kv.vary_case(case, variants.variant_of(s, who, TOY), {"n": (2, 9)}) for who in ("alovelace", "bhopper"))
    assert a["seed"] != b["seed"] and a["seed"] != 11 and b["seed"] != 11
    assert a["label"] == b["label"] == "x"  # what does not vary stays
    assert 2 <= a["n"] <= 9 and 2 <= b["n"] <= 9
    # sizes differ for most pairs of students (a 1-in-8 coincidence is allowed per pair, not for all)
    ns = {kv.vary_case(case, variants.variant_of(s, f"s{i}", TOY), {"n": (2, 9)})["n"] for i in range(40)}
    assert len(ns) >= 6
    assert kv.vary_case(case, None, {"n": (2, 9)}) == case
    assert kv.seed(1) == 1 and kv.seed(1, 5) == kv.vary_case({"seed": 1}, 5)["seed"] != kv.seed(1, 6)


def test_settings_switch_and_secret(tmp_path):
    with pytest.raises(ConfigError, match="variant_secret_file"):
        parse({"assignments": {TOY: {"variants": True}}})
    with pytest.raises(ConfigError, match="true or false"):
        parse({"course": {"variant_secret_file": "s"}, "assignments": {TOY: {"variants": "yes"}}})
    st = parse({"course": {"variant_secret_file": "secret.txt"}, "assignments": {TOY: {"variants": True}}},
               tmp_path / "course.toml")
    assert st.variant_secret_file == tmp_path / "secret.txt" and variants.varying(st) == [TOY]
    with pytest.raises(ConfigError, match="token_hex"):
        variants.read_secret(st)
    (tmp_path / "secret.txt").write_text("short")
    with pytest.raises(ConfigError, match="fewer than"):
        variants.read_secret(st)
    assert parse({}).assignment(TOY).variants is False


def test_tokens_for_500_students(tmp_path):
    # the speed budget (under a minute) is measured by benchmarks/bench_variants.py, not here
    (tmp_path / "variant-secret").write_text(SECRET)
    (tmp_path / "course.toml").write_text(
        '[course]\nvariant_secret_file = "variant-secret"\n'
        + "".join(f"[assignments.a{i}]\nvariants = true\n" for i in range(4))
        + "".join(f'[[students]]\nid = "s{i:03d}"\n' for i in range(500)))
    out = variants.write_tokens(Course(tmp_path, tmp_path / "source"))
    assert len(list(out.glob("*.zip"))) == 500
    assert len({variants.variant_of(SECRET.encode(), f"s{i:03d}", "a0") for i in range(500)}) == 500


def test_kernel_finds_its_variant(tmp_path, monkeypatch):
    for var in (kv.ENV, kv.ENV_MAP):
        monkeypatch.delenv(var, raising=False)
    folder = tmp_path / TOY
    folder.mkdir()
    assert kv.current(folder) is None
    monkeypatch.setenv(kv.ENV_MAP, json.dumps({TOY: 42, "other": 7}))  # a JupyterHub spawner
    assert kv.current(folder) == 42
    monkeypatch.setenv(kv.ENV, "5")  # the grader: the submitter's own, when no token came with the hand-in
    assert kv.current(folder) == 5
    (folder / kv.TOKEN_FILE).write_text(json.dumps({"variant": 123}))
    assert kv.current(folder) == 123  # the hand-in's own claim (judged by the grader, never believed)
    monkeypatch.setenv(kv.ENV, "off")  # variants off for this assignment: a stale token is ignored
    assert kv.current(folder) is None
    monkeypatch.delenv(kv.ENV)
    (folder / kv.TOKEN_FILE).write_text("not json")
    assert kv.current(folder) is None


def test_payload_without_variant_is_unchanged():
    _toy_check()
    cases = [{"seed": 11, "n": 4}]
    payload = core.record_answers("toy.square", lambda x: x ** 2, cases=cases)
    assert set(payload) == {"version", "check", "cases", "outputs"} and payload["cases"] == cases


def _cell(cases):
    return f"grade_hidden('toy.square', square, cases={cases!r})\n"


def _outputs(payload):
    return [{"output_type": "display_data", "data": {"text/plain": "x"}, "metadata": {core.PAYLOAD_KEY: payload}}]


def test_verify_cell_judges_the_submitters_variant_and_names_the_classmate():
    check = _toy_check()
    cases = [{"seed": 11, "n": 4}, {"seed": 21, "n": 3}]
    va, vb = 1234, 987654
    mine = core.record_answers("toy.square", lambda x: x ** 2, cases=cases, variant=va)
    # oracle: the cases rebuilt here, inputs drawn as the toy check draws them, squared by hand
    for case, out in zip(mine["cases"], mine["outputs"], strict=True):
        x = np.random.default_rng(case["seed"]).normal(size=(case["n"], 1))
        assert np.array_equal(core.decode_array(out["answer"]), x * x)
    assert mine["cases"] == kv.vary_cases(cases, va, {"n": (2, 6)}) != cases
    assert check.vary == {"n": (2, 6)}
    ok = core.verify_cell(_cell(cases), _outputs(mine), variant=va, classmates={"bhopper": vb})
    assert ok.passed and ok.matches == []
    # the same (correct) answers, judged as bhopper's: wrong cases, and they are alovelace's
    bad = core.verify_cell(_cell(cases), _outputs(mine), variant=vb, classmates={"alovelace": va, "x": 5})
    assert not bad.passed and bad.matches == ["alovelace"]
    assert "another student's variant" in bad.message and "alovelace" not in bad.message  # the student reads it
    # without variants: the literal cases, as always
    plain = core.record_answers("toy.square", lambda x: x ** 2, cases=cases)
    assert core.verify_cell(_cell(cases), _outputs(plain)).passed
    assert not core.verify_cell(_cell(cases), _outputs(plain), variant=va).passed


# ------------------------------------------------------------------ slow: a toy class graded in the sandbox
def _config(on: bool | None) -> str:
    text = '[course]\nname = "Variants class"\n'
    if on is not None:
        text += 'variant_secret_file = "variant-secret"\n'
        text += f"[assignments.{TOY}]\nvariants = {'true' if on else 'false'}\n"
    return text + "".join(f'[[students]]\nid = "{s}"\n' for s in ROSTER)


def _run(root: Path, source: Path, *argv) -> tuple[int, str]:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = cli.main(["--root", str(root), "--source", str(source), *argv])
    return code, out.getvalue()


def _scores(course: Course) -> dict[str, float]:
    snap = gradebook.snapshot(course.db_url)
    out: dict[str, float] = {}
    for key, value in snap.items():
        if key[0] == "grade":
            out[key[1]] = out.get(key[1], 0.0) + (value[0] or 0.0)
    return out


@pytest.fixture(scope="module")
def classes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("variants")
    source = tmp / "source"
    gs.make_toy_source(source, TOY)
    restore = gs.set_environ({"COURSE_CELL_TIMEOUT": "20", "COURSE_CHECK_MODULES": str(source / TOY / "toycheck.py")})
    out = {}
    try:
        for label, on in (("on", True), ("off", False), ("never", None)):
            course = Course(tmp / label, source)
            course.root.mkdir()
            (course.root / "course.toml").write_text(_config(on))
            if on is not None:
                (course.root / "variant-secret").write_text(SECRET + "\n")
            assert _run(course.root, source, "release")[0] == 0
            rel = nbformat.read(course.root / "release" / TOY / "toy.ipynb", as_version=4)
            src = nbformat.read(source / TOY / "toy.ipynb", as_version=4)
            right = gs.with_solutions(rel, src)
            token = lambda who: (tmp / "on" / "variants" / who / "notebooks" / TOY / kv.TOKEN_FILE)  # noqa: E731
            claim = gs.with_solutions(rel, src)  # ddijkstra's notebook claims alovelace's variant
            a_variant = json.loads(token("alovelace").read_text())["variant"]
            claim.cells.insert(2, new_code_cell(f"import os\nos.environ['COURSE_VARIANT'] = '{a_variant}'"))
            hand_ins = {"alovelace": (right, "alovelace"), "bhopper": (right, "bhopper"),
                        "ddijkstra": (claim, None),       # a notebook edited to claim alovelace's variant
                        "eeuler": (right, None)}          # the notebook alone (an LMS upload): no token
            for student, (nb, tok) in hand_ins.items():  # as nbgrader's exchange places them
                folder = course.root / "submitted" / student / TOY
                folder.mkdir(parents=True)
                nbformat.write(nb, folder / "toy.ipynb")
                if tok:
                    (folder / kv.TOKEN_FILE).write_bytes(token(tok).read_bytes())
            # alovelace's course folder (notebook and token) handed in by cgauss: handin.py, then collect
            laptop = tmp / f"laptop-{label}" / "notebooks" / TOY
            laptop.mkdir(parents=True)
            nbformat.write(right, laptop / "toy.ipynb")
            (laptop / kv.TOKEN_FILE).write_bytes(token("alovelace").read_bytes())
            inbox = tmp / f"inbox-{label}"
            inbox.mkdir()
            handin.make_zip(laptop.parent.parent, "cgauss", inbox)
            assert _run(course.root, source, "collect", str(inbox))[0] == 0
            code, text = _run(course.root, source, "autograde", "--jobs", "2")
            out[label] = {"course": course, "code": code, "text": text, "scores": _scores(course)}
        yield out
    finally:
        restore()


@pytest.mark.slow
def test_own_variant_full_marks_a_classmates_nothing_and_reported(classes):
    on = classes["on"]
    assert on["code"] == 0, on["text"]
    assert on["scores"] == {"alovelace": 5.0, "bhopper": 5.0, "cgauss": 0.0, "ddijkstra": 0.0, "eeuler": 5.0}, \
        on["text"]
    assert "cgauss / 00_toy: ok" in on["text"] and "NEEDS REVIEW" in on["text"].split("cgauss / 00_toy")[1]
    assert "answers match the variant of student alovelace" in on["text"]
    code, said = _run(on["course"].root, on["course"].source, "config")
    assert code == 0 and "00_toy: due no due date; per-student variants" in said and "variant-secret" in said
    with (on["course"].dir("logs") / "collusion.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["student"], r["matches_variant_of"]) for r in rows] == [("cgauss", "alovelace"),
                                                                         ("ddijkstra", "alovelace")]
    assert set(rows[0]["cells"].split()) == {"ex1-tests", "ex2-tests"}
    report = json.loads((on["course"].dir("logs") / "autograde-report.json").read_text())
    assert {e["student"] for e in report if e.get("review")} == {"cgauss", "ddijkstra"}
    # what cgauss reads (the autograded notebook, then the feedback) does not name the classmate
    graded = (on["course"].dir("autograded") / "cgauss" / TOY / "toy.ipynb").read_text()
    assert "another student's variant" in graded and "alovelace" not in graded


@pytest.mark.slow
def test_tokens_per_student_and_no_secret_in_release_or_bundle(classes):
    course = classes["on"]["course"]
    seen = set()
    for student in ROSTER:
        with zipfile.ZipFile(course.dir("variants") / f"{student}.zip") as zf:
            data = json.loads(zf.read(f"notebooks/{TOY}/{kv.TOKEN_FILE}"))
        assert data["student"] == student and data["variant"] == variants.variant_of(SECRET.encode(), student, TOY)
        seen.add(data["variant"])
    assert len(seen) == len(ROSTER)
    needles = [SECRET.encode(), SECRET[:24].encode()]
    for top in ("release", "bundle", ".student_helpers", "variants"):
        for path in (course.root / top).rglob("*"):
            if path.is_file():
                blobs = [path.read_bytes()]
                if path.suffix == ".zip":
                    with zipfile.ZipFile(path) as zf:
                        blobs += [zf.read(n) for n in zf.namelist()]
                assert not any(n in b for n in needles for b in blobs), path
    assert not (classes["off"]["course"].dir("variants")).exists()  # variants off: no tokens
    # collect kept the token cgauss handed in beside the notebook (judged, never believed)
    kept = course.root / "submitted" / "cgauss" / TOY / kv.TOKEN_FILE
    assert json.loads(kept.read_text())["student"] == "alovelace"


@pytest.mark.slow
def test_variants_off_grades_exactly_as_today(classes):
    assert classes["off"]["code"] == classes["never"]["code"] == 0
    # a token handed in (or a classmate's) changes nothing when variants are off; only a notebook that
    # sets COURSE_VARIANT itself records on other cases than the test's, and loses its own points
    assert classes["off"]["scores"] == classes["never"]["scores"] == {**{s: 5.0 for s in ROSTER}, "ddijkstra": 0.0}
    off, never = ({k: v for k, v in gradebook.snapshot(classes[c]["course"].db_url).items()
                   if k[0] != "submission"}  # submission times: when collect ran
                  for c in ("off", "never"))
    assert off == never
    assert "match the variant" not in classes["off"]["text"] + classes["never"]["text"]
    assert not (classes["off"]["course"].dir("logs") / "collusion.csv").exists()


# ------------------------------------------------------------------ the course's notebooks under variants
COURSE_NOTEBOOKS = sorted(Path(__file__).resolve().parents[1].glob("notebooks/*/*.ipynb"))


def _execute(path: Path, variant: int, monkeypatch):
    """The source notebook executed in a fresh kernel with ``COURSE_VARIANT=variant``."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    monkeypatch.delenv(kv.ENV_MAP, raising=False)
    monkeypatch.setenv(kv.ENV, str(variant))  # the kernel inherits it
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()  # raises at a failing cell
    return nb


@pytest.mark.slow
@pytest.mark.parametrize("path", COURSE_NOTEBOOKS, ids=lambda p: p.parent.name)
def test_source_solutions_pass_every_hidden_test_on_a_students_variant(path, monkeypatch):
    """Oracle: the instructor's solutions against the withheld reference, on the varied cases.

    With the reference importable, ``grade_hidden`` verifies in the kernel (raising on a wrong answer),
    so a seed or size that a variant draws and that a check cannot judge would fail here.
    """
    variant = variants.variant_of(SECRET.encode(), "alovelace", path.parent.name)
    nb = _execute(path, variant, monkeypatch)
    said = [o.get("data", {}).get("text/plain", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if o.get("output_type") == "display_data"]
    recorded = [t for t in said if t.startswith("Hidden tests of")]
    assert recorded and all(f"(your variant, {variant})" in t for t in recorded)
    if path.parent.name == "01_normalizing_inputs":  # the visible part too: the student's own data
        assert nb.cells[1].outputs[0]["text"] == f"data seed: {kv.seed(1, variant)} (your variant, {variant})\n"
        committed = nbformat.read(path, as_version=4)
        assert nb.cells[3].outputs[0]["text"] != committed.cells[3].outputs[0]["text"]


# ------------------------------------------------------------------ slow: a course notebook, end to end
NB4 = "04_gradient_checking"


@pytest.fixture(scope="module")
def nb4_class(tmp_path_factory):
    """Notebook 4 with variants on: two students hand in their own work, a third hands in the first's folder."""
    import shutil

    tmp = tmp_path_factory.mktemp("variants-nb4")
    source = tmp / "source"
    shutil.copytree(gs.REPO / "notebooks" / NB4, source / NB4, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    course = Course(tmp / "course", source)
    course.root.mkdir()
    (course.root / "course.toml").write_text(
        f'[course]\nvariant_secret_file = "variant-secret"\n[assignments.{NB4}]\nvariants = true\n'
        + "".join(f'[[students]]\nid = "{s}"\n' for s in ROSTER[:3]))
    (course.root / "variant-secret").write_text(SECRET)
    restore = gs.set_environ({"COURSE_CELL_TIMEOUT": "60"})
    try:
        assert _run(course.root, source, "release")[0] == 0
        name = next((source / NB4).glob("*.ipynb")).name
        rel = nbformat.read(course.root / "release" / NB4 / name, as_version=4)
        solved = gs.with_solutions(rel, nbformat.read(source / NB4 / name, as_version=4))
        for student, whose in (("alovelace", "alovelace"), ("bhopper", "bhopper"), ("cgauss", "alovelace")):
            folder = course.root / "submitted" / student / NB4
            folder.mkdir(parents=True)
            nbformat.write(solved, folder / name)
            shutil.copy(course.dir("variants") / whose / "notebooks" / NB4 / kv.TOKEN_FILE, folder)
        code, text = _run(course.root, source, "autograde", "--jobs", "2")
        graded = {s: nbformat.read(course.dir("autograded") / s / NB4 / name, as_version=4) for s in ROSTER[:3]}
        fb_code, fb_text = _run(course.root, source, "feedback")
        feedback = {s: "".join(p.read_text() for p in (course.dir("feedback") / s / NB4).glob("*.html"))
                    for s in ROSTER[:3]}
        yield {"course": course, "code": code, "text": text, "scores": _scores(course), "release": rel,
               "graded": graded, "feedback": feedback, "feedback_code": fb_code, "feedback_text": fb_text}
    finally:
        restore()


def _bug_hunt(nb) -> list[str]:
    """The lines of a graded notebook that report wrong blocks (its bug hunts)."""
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                   if o.get("output_type") == "stream")
    return [ln for ln in text.splitlines() if "wrong blocks" in ln]


@pytest.mark.slow
def test_course_notebook_own_variant_full_marks_classmates_folder_nothing(nb4_class):
    c = nb4_class
    assert c["code"] == 0, c["text"]
    total = sum(gs.points_by_exercise(c["release"]).values())
    assert total > 0
    # every graded item of notebook 4 varies: the classmate's folder earns nothing, and is reported
    assert c["scores"] == {"alovelace": total, "bhopper": total, "cgauss": 0.0}, c["text"]
    with (c["course"].dir("logs") / "collusion.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["student"], r["matches_variant_of"]) for r in rows] == [("cgauss", "alovelace")]
    # each graded notebook ran on its submitter's own numbers: the visible part differs between the two
    # students (the data, the mystery backprop's wrong blocks), and cgauss's ran on alovelace's
    a, b, cg = (_bug_hunt(c["graded"][s]) for s in ("alovelace", "bhopper", "cgauss"))
    assert a and a != b and cg == a
    # the feedback each student reads speaks of their own variant, and never names a classmate
    assert c["feedback_code"] == 0, c["feedback_text"]
    for who in ("alovelace", "bhopper"):
        mine = variants.variant_of(SECRET.encode(), who, NB4)
        assert f"(your variant, {mine})" in c["feedback"][who]
        assert "another student" not in c["feedback"][who]
    assert "another student's variant" in html.unescape(c["feedback"]["cgauss"])
    assert "alovelace" not in c["feedback"]["cgauss"] and "bhopper" not in c["feedback"]["alovelace"]
