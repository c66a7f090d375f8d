"""The returned feedback page: our own HTML, accessible, from an inert notebook.

nbgrader's feedback template (nbconvert's classic page plus bootstrap) links to scripts the
page's policy blocks anyway, shows code in colours below the 4.5:1 contrast of WCAG AA, has no
``lang`` and no landmarks, and code regions a keyboard cannot scroll. The page is small, so it
is written here, in Python, with every piece of text escaped:

* ``<header>``: the notebook, the score after the late penalty, the penalty;
* ``<nav>``: one line per test cell: its exercise, points and verdict, a link to the cell;
* ``<main>``: the notebook's cells: markdown rendered by nbconvert's markdown filter and
  cleaned to a whitelist (no images, links only to http(s) or the page itself); code in a
  focusable ``<pre>`` highlighted in a palette of our own (every colour at least 7:1 on the
  code background); each test cell's verdict under it, as text (``✓ Passed`` / ``✗ Not
  passed``), wrapped, with a border whose colour is never the only signal.

The notebook it renders has been through ``forstudents.ForStudents`` (sources and the
grader's verdicts only) and ``inert.inert_notebook``; the page carries ``inert.PAGE_POLICY``.
"""

from __future__ import annotations

import copy
import html
import re
from typing import ClassVar

import bleach
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import markdown2html_mistune
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer
from pygments.style import Style
from pygments.token import Comment, Keyword, Name, Number, Operator, String, Token

from .inert import PAGE_POLICY, inert_notebook

_MARKDOWN_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6", "p", "ul", "ol", "li", "a", "code", "pre", "em", "strong",
                  "b", "i", "blockquote", "table", "thead", "tbody", "tr", "th", "td", "hr", "br", "sub", "sup", "span"}
_MARKDOWN_ATTRS = {"a": ["href"], "th": ["colspan", "rowspan"], "td": ["colspan", "rowspan"],
                   "h1": ["id"], "h2": ["id"], "h3": ["id"], "h4": ["id"], "h5": ["id"], "h6": ["id"]}
_EXERCISE = re.compile(r'"""\s*Exercise\s+(\d+)')


class CodeStyle(Style):
    """Syntax colours with at least 7:1 contrast on ``#f6f8fa`` (WCAG AAA); meaning never in colour alone."""

    background_color = "#f6f8fa"
    styles: ClassVar[dict] = {
        Token: "#1a1a1a",
        Comment: "italic #365236",
        Keyword: "bold #0a3d7a",
        Name.Builtin: "#004d4d",
        Name.Function: "#1a1a1a",
        String: "#7a1515",
        Number: "#5a2d82",
        Operator: "#1a1a1a",
    }


_FORMATTER = HtmlFormatter(style=CodeStyle, nowrap=True)

CSS = """
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a; background: #fff;
       margin: 0 auto; max-width: 60rem; padding: 0 1rem 3rem; }
header { border-bottom: 2px solid #1a1a1a; margin-bottom: 1rem; }
a { color: #0a3d7a; }
a:focus, pre:focus { outline: 3px solid #0a3d7a; outline-offset: 2px; }
nav ul { padding-left: 1.2rem; }
.cell { margin: 1rem 0; }
.label { font-size: 0.85rem; color: #3d3d3d; }
pre { background: #f6f8fa; border: 1px solid #6b6b6b; padding: 0.6rem; overflow-x: auto; white-space: pre; }
.verdict { white-space: pre-wrap; overflow-wrap: anywhere; padding: 0.5rem 0.75rem; margin: 0.25rem 0 0;
           border-left: 6px solid; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.95rem; }
.pass { border-color: #1b5e20; background: #eef6ee; }
.fail { border-color: #8b0000; background: #fbeeee; }
""" + _FORMATTER.get_style_defs("pre")


def _number(value) -> str:
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return "?"


def _markdown(source: str) -> str:
    rendered = markdown2html_mistune(source)
    return bleach.clean(rendered, tags=_MARKDOWN_TAGS, attributes=_MARKDOWN_ATTRS, protocols={"http", "https"},
                        strip=True, strip_comments=True)


def _verdict(cell) -> tuple[bool, str] | None:
    """``(passed, text)`` of a test cell, from the output ``ForStudents`` wrote; ``None`` elsewhere."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            return True, str(out.get("text", "")).strip()
        if out.get("output_type") == "error":
            text = "\n".join(out.get("traceback") or [str(out.get("evalue", ""))])
            return False, re.sub(r"^\w+: ", "", text, count=1).strip()
    return None


def _test_name(cell) -> str:
    found = _EXERCISE.search(cell.source)
    return f"Exercise {found.group(1)} tests" if found else "Test cell"


def render(nb, info: dict) -> str:
    """The feedback page of an inert notebook; ``info``: nbgrader's ``resources['nbgrader']``."""
    notebook = html.escape(str(info.get("notebook", "notebook")))
    penalty = float(info.get("late_penalty") or 0)
    score = (f"{_number(info.get('score'))} / {_number(info.get('max_score'))} points"
             + (f" (after a late penalty of {_number(penalty)})" if penalty else ""))
    tests, cells = [], []
    for index, cell in enumerate(nb.cells):
        anchor = f"cell-{index}"
        if cell.cell_type == "markdown":
            cells.append(f'<section class="cell markdown" id="{anchor}">{_markdown(cell.source)}</section>')
            continue
        code = highlight(cell.source, PythonLexer(), _FORMATTER)
        label = f"In [{cell.execution_count}]" if cell.get("execution_count") else "Code"
        parts = [f'<div class="cell code" id="{anchor}"><div class="label">{html.escape(label)}</div>',
                 f'<pre tabindex="0" aria-label="{html.escape(label)} source"><code>{code}</code></pre>']
        meta = cell.metadata.get("nbgrader", {})
        verdict = _verdict(cell) if meta.get("grade") and not meta.get("solution") else None
        if verdict is not None:
            passed, text = verdict
            points = f"{_number(meta.get('score'))} / {_number(meta.get('points'))} points"
            mark = "✓ Passed" if passed else "✗ Not passed"
            name = _test_name(cell)
            parts.append(f'<p class="verdict {"pass" if passed else "fail"}"><strong>{mark}</strong> '
                         f"({points}). {html.escape(text)}</p>")
            tests.append(f'<li><a href="#{anchor}">{html.escape(name)}</a>: {points}, '
                         f'{"passed" if passed else "not passed"}</li>')
        parts.append("</div>")
        cells.append("".join(parts))
    nav = (f'<nav aria-label="Test cells"><h2>Test cells</h2><ul>{"".join(tests)}</ul></nav>' if tests else "")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f'<meta http-equiv="Content-Security-Policy" content="{PAGE_POLICY}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>Feedback: {notebook}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            f"<header><h1>Feedback: {notebook}</h1><p>Score: {html.escape(score)}</p></header>\n"
            f"{nav}\n<main><h2>Your notebook, as graded</h2>\n" + "\n".join(cells) + "\n</main>\n</body>\n</html>\n")


class FeedbackPageExporter(HTMLExporter):
    """nbgrader's feedback exporter (``GenerateFeedback.exporter_class``): every preprocessor, then :func:`render`."""

    def from_notebook_node(self, nb, resources=None, **kw):
        resources = self._init_resources(resources)
        nb, resources = self._preprocess(copy.deepcopy(nb), resources)
        resources["output_extension"] = ".html"
        return render(inert_notebook(nb), resources.get("nbgrader") or {}), resources
