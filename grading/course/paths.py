"""Where the course lives, and how nbgrader is configured for it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

GRADING = Path(__file__).resolve().parent.parent
REPO = GRADING.parent
CONFIG_FILE = GRADING / "nbgrader_config.py"
_SQLITE = "sqlite:///"


@dataclass(frozen=True)
class Course:
    """An nbgrader course root, the folder of source assignments it releases, and its gradebook.

    ``database`` is an SQLAlchemy URL of a gradebook on a server (PostgreSQL, e.g.
    ``postgresql+psycopg://grader@host/course``) shared by several graders or machines;
    ``None`` (the default) keeps the gradebook in ``<root>/gradebook.db`` (SQLite).
    """

    root: Path = GRADING
    source: Path = REPO / "notebooks"
    database: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root).resolve())
        object.__setattr__(self, "source", Path(self.source).resolve())
        object.__setattr__(self, "database", self.database or None)

    @property
    def db(self) -> Path:
        """The SQLite gradebook file (meaningless when ``local_db`` is false)."""
        if self.database and self.database.startswith(_SQLITE):
            return Path(self.database[len(_SQLITE):])
        return self.root / "gradebook.db"

    @property
    def db_url(self) -> str:
        return self.database or f"sqlite:///{self.db}"

    @property
    def local_db(self) -> bool:
        """The gradebook is an SQLite file on this machine (copied per shard, then merged)."""
        return self.database is None or self.database.startswith(_SQLITE)

    @property
    def student_helpers(self) -> Path:
        """Folder whose ``helpers/`` is the student edition (the grading kernel's)."""
        return self.root / ".student_helpers"

    def settings(self):
        """The course configuration, ``<root>/course.toml`` (``settings.py``)."""
        from .settings import load

        return load(self.root)

    def dir(self, step: str) -> Path:
        return self.root / step

    def assignments(self) -> list[str]:
        """Every folder of ``source`` holding a notebook is an assignment, in name order."""
        if not self.source.is_dir():
            raise FileNotFoundError(f"source folder {self.source} does not exist")
        return sorted(p.name for p in self.source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))

    def environ(self) -> None:
        """Point ``nbgrader_config.py`` at this course (it reads these variables)."""
        os.environ["COURSE_ROOT"] = str(self.root)
        os.environ["COURSE_SOURCE"] = str(self.source)
        os.environ["COURSE_STUDENT_HELPERS"] = str(self.student_helpers)
        if self.database:
            os.environ["COURSE_DB_URL"] = self.database
        else:
            os.environ.pop("COURSE_DB_URL", None)

    def config(self, **overrides) -> Config:
        """The course's nbgrader config (``grading/nbgrader_config.py``) for this course."""
        self.environ()
        loader = PyFileConfigLoader(CONFIG_FILE.name, path=str(CONFIG_FILE.parent))
        config = loader.load_config()
        for section, values in overrides.items():
            for key, value in values.items():
                config[section][key] = value
        return config
