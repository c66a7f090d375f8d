"""The three places that name dependencies agree: pyproject ranges, constraints pins,
and environment.yml (conda route)."""

import re
from pathlib import Path

import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt line is not an exact pin: {line!r}"
            pins[canonicalize_name(name)] = version
    return pins


def _direct_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return [Requirement(r) for r in reqs]


def _conda_pip_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    pins = {}
    for entry in pip_section:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[[a-z,]+\])?==([^\s;]+)", entry.strip())
        assert m, f"environment.yml pip entry must be an exact pin: {entry!r}"
        pins[canonicalize_name(m.group(1))] = m.group(2)
    return pins


def test_every_direct_dependency_is_pinned_within_its_range():
    pins = _pins()
    for req in _direct_requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is in pyproject.toml but not pinned in constraints.txt"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {req.name}=={pins[name]}, outside pyproject's range {req.specifier}"
        )


def test_environment_yml_matches_constraints():
    pins, conda = _pins(), _conda_pip_pins()
    direct = {canonicalize_name(r.name) for r in _direct_requirements()}
    assert direct == set(conda), (
        f"environment.yml and pyproject.toml list different packages: "
        f"only in environment.yml {sorted(set(conda) - direct)}, only in pyproject {sorted(direct - set(conda))}"
    )
    drift = {n: (v, pins.get(n)) for n, v in conda.items() if pins.get(n) != v}
    assert not drift, f"environment.yml pins differ from constraints.txt: {drift}"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make test" in ci
