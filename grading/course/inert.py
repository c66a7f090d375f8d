"""Student content made inert before any page shows it.

A submission (its markdown, its metadata, and the outputs its grading kernel produced) is
shown outside the sandbox: in the returned feedback HTML and in formgrader's submission and
manual-grading views, in the browser of the student or of the instructor (whose Jupyter
origin can start kernels and write files). nbconvert's templates print several fields
without escaping (execution counts, image sizes, raw cells, ``application/javascript`` and
widget outputs) and let markdown carry HTML. Escaping what a template might print is a race
against every template; so the notebook is **rebuilt from a whitelist** instead: each field a
template reads is recreated with the type it must have, anything else is dropped:

* cells: ``markdown`` and ``code`` only (a raw cell becomes a note); markdown's HTML is
  removed (bleach, as nbconvert's own ``SanitizeHTML``), attachments dropped;
* code outputs: ``stream`` (stdout/stderr), ``error`` (strings), and ``display_data`` /
  ``execute_result`` restricted to ``text/plain``, PNG and JPEG (base64 checked) and
  ``text/html`` cleaned to a small set of table and text tags; no JavaScript, SVG, widget,
  LaTeX, markdown or JSON outputs; image metadata reduced to integer sizes;
* metadata: a cell keeps only its nbgrader fields (typed; a grade id must look like one) and
  the grader's verdict (``VERDICT_KEY``, written by ``verify.py``); the notebook keeps a fixed
  kernel description.

On top, the pages that show it carry a Content-Security-Policy, so a byte that slipped past the
rebuild still cannot run: the returned feedback ``PAGE_POLICY`` (no script at all, images only
inline; ``feedback_page.py``), formgrader's views an HTTP policy of their own
(``formgrader_guard.py``).
"""

from __future__ import annotations

import base64
import binascii
import re

import bleach
import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

#: The grader's verdict of a test cell, in the cell's metadata (``verify.py`` writes it).
VERDICT_KEY = "course_verdict"
#: The policy of a static page that shows student content: nothing runs, nothing is fetched.
PAGE_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
               "base-uri 'none'; form-action 'none'")

_GRADE_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,200}$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]*$")
_IMAGES = ("image/png", "image/jpeg")
#: HTML a table or a short formatted text needs, within what nbconvert's own sanitiser keeps
#: (a tag outside it would be shown escaped); no media, no links.
_HTML_TAGS = frozenset({"table", "tr", "td", "div", "span", "pre", "code", "b", "i", "em", "strong",
                        "ul", "ol", "li", "blockquote", "abbr"})
_HTML_ATTRS = {"td": ["colspan", "rowspan"]}
#: Markdown keeps no HTML of its own: its structure is written in markdown.
_MARKDOWN_TAGS = frozenset({"b", "i", "em", "strong", "sub", "sup", "br", "code", "kbd"})
_NBGRADER_FLAGS = ("grade", "solution", "locked", "task")


def clean_html(text: str, tags=_HTML_TAGS, attributes=None) -> str:
    """``text`` with every tag and attribute outside the whitelist removed (bleach)."""
    return bleach.clean(str(text), tags=set(tags), attributes=attributes or _HTML_ATTRS, protocols=set(),
                        strip=True, strip_comments=True)


def _text(value) -> str:
    """A notebook string field (nbformat allows a list of lines); anything else becomes ``""``."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return value if isinstance(value, str) else ""


def _count(value):
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**9 else None


def _image(data) -> str | None:
    text = _text(data)
    if not text or not _BASE64.match(text):
        return None
    try:
        base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return text


def _bundle(data, metadata) -> tuple[dict, dict]:
    """The mime bundle of a display output, whitelisted and typed; its image sizes as integers."""
    data = data if isinstance(data, dict) else {}
    clean, meta = {}, {}
    if "text/plain" in data:
        clean["text/plain"] = _text(data["text/plain"])
    for mime in _IMAGES:
        image = _image(data.get(mime))
        if image is not None:
            clean[mime] = image
            sizes = metadata.get(mime) if isinstance(metadata, dict) else None
            sizes = {k: v for k, v in (sizes or {}).items() if k in ("width", "height") and _count(v)} \
                if isinstance(sizes, dict) else {}
            if sizes:
                meta[mime] = sizes
    if "text/html" in data:
        clean["text/html"] = clean_html(_text(data["text/html"]))
    if not clean:
        kinds = ", ".join(sorted(str(k)[:40] for k in data)) or "nothing"
        clean["text/plain"] = f"[output not shown: {kinds}]"
    return clean, meta


def _output(out) -> dict | None:
    if not isinstance(out, dict):
        return None
    kind = out.get("output_type")
    if kind == "stream":
        name = out.get("name") if out.get("name") in ("stdout", "stderr") else "stdout"
        return nbformat.v4.new_output("stream", name=name, text=_text(out.get("text")))
    if kind == "error":
        trace = out.get("traceback")
        trace = [t for t in trace if isinstance(t, str)] if isinstance(trace, list) else []
        return nbformat.v4.new_output("error", ename=_text(out.get("ename"))[:200],
                                      evalue=_text(out.get("evalue")), traceback=trace)
    if kind in ("display_data", "execute_result"):
        data, meta = _bundle(out.get("data"), out.get("metadata"))
        new = nbformat.v4.new_output("display_data", data=data, metadata=meta)
        if kind == "execute_result":
            new = nbformat.v4.new_output("execute_result", data=data, metadata=meta,
                                         execution_count=_count(out.get("execution_count")))
        return new
    return None


def _nbgrader(meta) -> dict | None:
    """The nbgrader fields of a cell, typed; ``None`` when they are not a plausible cell's."""
    if not isinstance(meta, dict) or not _GRADE_ID.match(str(meta.get("grade_id", ""))):
        return None
    clean = {"grade_id": meta["grade_id"], "schema_version": 3}
    for flag in _NBGRADER_FLAGS:
        clean[flag] = meta.get(flag) is True
    points = meta.get("points")
    if isinstance(points, (int, float)) and not isinstance(points, bool) and 0 <= points < 1e6:
        clean["points"] = float(points)
    score = meta.get("score")  # nbgrader's GetGrades, for the feedback page
    if "score" in meta:
        ok = isinstance(score, (int, float)) and not isinstance(score, bool) and -1e6 < score < 1e6
        clean["score"] = float(score) if ok else None
    if "comment" in meta:  # a grader's comment, rendered as markdown
        comment = meta["comment"]
        clean["comment"] = clean_html(comment, _MARKDOWN_TAGS, {}) if isinstance(comment, str) else None
    if isinstance(meta.get("checksum"), str) and re.fullmatch(r"[0-9a-f]{1,128}", meta["checksum"]):
        clean["checksum"] = meta["checksum"]
    return clean


def _verdict(value) -> dict | None:
    if not isinstance(value, dict) or not isinstance(value.get("passed"), bool):
        return None
    variant = value.get("variant")
    return {"passed": value["passed"], "message": _text(value.get("message")),
            "visible_error": _text(value.get("visible_error"))[:80],
            "variant": variant if isinstance(variant, int) and not isinstance(variant, bool) else None}


def _cell(cell, index: int):
    meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    keep = {}
    if _nbgrader(meta.get("nbgrader")) is not None:
        keep["nbgrader"] = _nbgrader(meta.get("nbgrader"))
    if _verdict(meta.get(VERDICT_KEY)) is not None:
        keep[VERDICT_KEY] = _verdict(meta.get(VERDICT_KEY))
    kind = cell.get("cell_type")
    if kind == "code":
        outputs = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
        new = nbformat.v4.new_code_cell(_text(cell.get("source")), metadata=keep,
                                        execution_count=_count(cell.get("execution_count")),
                                        outputs=[o for o in map(_output, outputs) if o is not None])
    elif kind == "markdown":
        # attachments are dropped, so their references too (nbconvert fails on a missing one)
        text = clean_html(_text(cell.get("source")), _MARKDOWN_TAGS, {})
        text = re.sub(r"attachment:", "#attachment-not-shown-", text)
        new = nbformat.v4.new_markdown_cell(text, metadata=keep)
    else:
        new = nbformat.v4.new_markdown_cell(f"*[a {str(kind)[:20]!r} cell, not shown]*".replace("<", ""),
                                            metadata=keep)
    new["id"] = f"cell-{index}"
    return new


def inert_notebook(nb) -> nbformat.NotebookNode:
    """A new notebook holding only the whitelisted, typed fields of ``nb`` (see the module docstring)."""
    cells = nb.get("cells") if isinstance(nb, dict) and isinstance(nb.get("cells"), list) else []
    new = nbformat.v4.new_notebook(cells=[_cell(c, i) for i, c in enumerate(cells) if isinstance(c, dict)])
    new.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                    "language_info": {"name": "python"}}
    return nbformat.from_dict(new)


class InertNotebook(Preprocessor):
    """nbconvert preprocessor: replace the notebook by :func:`inert_notebook` of it."""

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        return inert_notebook(nb), resources
