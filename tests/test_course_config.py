"""course.toml, the late policy and LMS naming, without kernels (hand-computed expectations)."""

from __future__ import annotations

import contextlib
import io
import shutil

import pytest

from grading.course import cli, lms, settings
from grading.course.late import penalty
from grading.course.paths import GRADING
from grading.course.settings import ConfigError, LatePolicy


def test_the_committed_example_is_valid_and_described(tmp_path):
    shutil.copy(GRADING / "course.example.toml", tmp_path / "course.toml")
    s = settings.load(tmp_path)
    assert s.assignment("01_normalizing_inputs").due.isoformat() == "2027-02-01T22:59:00"  # 23:59 Paris = 22:59 UTC
    assert s.student("blee").moodle_ids == ("301", "411")
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert cli.main(["--root", str(tmp_path), "config"]) == 0
    assert "10% of the points per started day late, at most 50%" in out.getvalue()


@pytest.mark.parametrize("text, needle", [
    ('[late]\npolicy = "weekly"', "late.policy = 'weekly'; write one of none, zero, per_hour, per_day"),
    ('[late]\npolicy = "per_day"', "needs late.deduction"),
    ('[course]\ntimezone = "Mars/Olympus"', "is not a time zone"),
    ('[assignments.a1]\ndue = "2027-01-01"', "must be a TOML date-time without quotes"),
    ('[assignments.a1]\ndue = 2027-01-01', "has no time of day"),
    ('[[students]]\nid = "bad id"', "is not a valid student id"),
    ('[[students]]\nid = "a"\nemail = "nope"', "is not an email address"),
    ('[[students]]\nid = "a"\n[[students]]\nid = "a"', "appears twice"),
    ('[course]\nlms = "blackboard"', "write one of none, canvas, moodle"),
    ('[course]\ncolour = 1', "unknown key course.colour"),
    ('[late\n', "not valid TOML"),
])
def test_mistakes_name_the_key_in_one_line(tmp_path, text, needle):
    (tmp_path / "course.toml").write_text(text)
    with pytest.raises(ConfigError) as err:
        settings.load(tmp_path)
    assert needle in str(err.value) and "\n" not in str(err.value)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert cli.main(["--root", str(tmp_path), "config"]) == 2
    assert needle in out.getvalue() and out.getvalue().count("\n") == 1


def test_late_penalties_by_hand():
    day = LatePolicy("per_day", 10, 30, 15)
    assert penalty(day, 10 * 60, 5, 5) == 0.0          # within grace
    assert penalty(day, 16 * 60, 5, 5) == 0.5          # one started day: 10% of 5 points
    assert penalty(day, 86400 + 1, 5, 5) == 1.0        # two started days
    assert penalty(day, 30 * 86400, 5, 5) == 1.5       # capped at 30%
    assert penalty(day, 30 * 86400, 5, 1) == 1.0       # never more than the score
    assert penalty(LatePolicy("per_hour", 5, 100), 3 * 3600 + 1, 4, 4) == 0.8  # four started hours x 5% of 4
    assert penalty(LatePolicy("zero"), 1, 5, 3.5) == 3.5
    assert penalty(LatePolicy("none"), 10**6, 5, 5) == 0.0


def test_lms_names_map_through_the_roster():
    s = settings.parse({"students": [
        {"id": "blee", "first_name": "Bruno", "last_name": "Lée", "canvas_id": 1002},
        {"id": "ada", "first_name": "Ada", "last_name": "Lovelace", "moodle_id": [7]}]})
    canvas = lms.identify("leebruno_LATE_1002_5002_toy-1.ipynb", s)
    assert (canvas.student, canvas.lms, canvas.file, canvas.info["late"]) == ("blee", "canvas", "toy-1.ipynb", True)
    assert lms.identify("leebruno_9_5002_toy.ipynb", s).student is None  # blee's canvas_id is 1002: another user
    by_name = lms.identify("lovelaceada_9_5002_toy.ipynb", s)  # ada has no canvas_id: her sortable name, flagged
    assert (by_name.student, by_name.by_name) == ("ada", True) and "add canvas_id = 9" in by_name.problem
    moodle = lms.identify("BRUNO LEE_55_assignsubmission_file_", s)
    assert (moodle.student, moodle.info["participant_id"]) == ("blee", "55")  # case and accents ignored
    assert lms.identify("Someone Else_7_assignsubmission_file_toy.ipynb", s).student == "ada"  # by moodle_id
    assert lms.identify("ada.zip", s).student == "ada"
    assert "not on the roster" in lms.identify("zed.zip", s).problem
    assert lms.identify("Nobody_8_assignsubmission_file_", s).student is None
