"""Formgrader's pages, hardened: no student byte runs in the instructor's Jupyter origin.

nbgrader's formgrader (a Jupyter server extension) shows submissions in the instructor's
origin, where a script may start kernels and write files through the Jupyter API. As shipped
it renders a submission with nbconvert's plain HTML exporter (markdown's HTML, HTML and
JavaScript outputs run), prints names and URL parts into its pages unescaped, serves any
file of an autograded folder from that origin, and sends no script policy.

Formgrader cannot be made safe by configuration alone (its handlers build the pages), so
:func:`install` adjusts its handler classes. It is called by ``grading/nbgrader_config.py``,
which formgrader loads in every Jupyter server that serves this course, however that server
was started (JupyterLab on a laptop, the Hub's instructor server):

* a submission is rendered from :func:`inert.inert_notebook` of the autograded notebook,
  through nbconvert's sanitiser (markdown and HTML cleaned, active output types dropped);
* every string a page template receives is HTML-escaped (names come from LMS downloads, ids
  from URLs);
* every formgrader page is served with a Content-Security-Policy whose scripts are
  formgrader's own static files and the inline scripts of its own template, by SHA-256
  hash: for a submission, the hashes of the page rendered with *no* cells, so a script in the
  content never matches; no inline event handlers, ``javascript:`` URLs, foreign scripts,
  plugins or framing by other origins;
* files of an autograded folder (``/formgrader/submissions/<id>/<file>``) are served with
  ``sandbox`` and ``default-src 'none'``: an HTML file a student handed in opens in an
  opaque origin with nothing allowed.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import re

import nbformat

from .inert import inert_notebook

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.IGNORECASE | re.DOTALL)
#: Files of a submission's folder: shown as inert documents in an opaque origin.
FILE_POLICY = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def inline_script_hashes(page: str) -> list[str]:
    """CSP source expressions (``'sha256-…'``) of the inline scripts of a trusted page."""
    found = {hashlib.sha256(body.encode()).digest() for body in _INLINE_SCRIPT.findall(page)}
    return sorted(f"'sha256-{base64.b64encode(d).decode()}'" for d in found)


def page_policy(static: str, hashes=()) -> str:
    """The policy of a formgrader page: scripts from ``static`` (a URL prefix) or with these hashes."""
    scripts = " ".join([static, *hashes])
    return ("default-src 'none'; "
            f"script-src {scripts}; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'self'; object-src 'none'")


def _static(handler) -> str:
    base = handler.base_url.rstrip("/")
    return f"{handler.request.protocol}://{handler.request.host}{base}/formgrader/static/"


class _InertExporter:
    """Formgrader's exporter as the submission page uses it (``from_filename``), rendering inert content."""

    def __init__(self, handler, exporter):
        self.handler, self.exporter = handler, exporter

    def from_filename(self, filename, resources=None, **kw):
        resources = {k: html.escape(v) if isinstance(v, str) else v for k, v in (resources or {}).items()}
        self.exporter.sanitize_html = True
        nb = inert_notebook(nbformat.read(filename, as_version=4))
        page, out = self.exporter.from_notebook_node(nb, resources=copy.deepcopy(resources), **kw)
        empty, _ = self.exporter.from_notebook_node(nbformat.v4.new_notebook(), resources=copy.deepcopy(resources))
        self.handler.set_header("Content-Security-Policy",
                                page_policy(_static(self.handler), inline_script_hashes(empty)))
        return page, out


def install() -> bool:
    """Harden nbgrader's formgrader handler classes in this process (idempotent); ``False`` without it."""
    try:
        from nbgrader.server_extensions.formgrader import base, handlers
    except ImportError:
        return False
    if getattr(base.BaseHandler, "_course_guarded", False):
        return True
    plain_render = base.BaseHandler.render

    def render(self, name, **ns):
        page = plain_render(self, name, **{k: html.escape(v) if isinstance(v, str) else v for k, v in ns.items()})
        self.set_header("Content-Security-Policy", page_policy(_static(self), inline_script_hashes(page)))
        return page

    def content_security_policy(self):
        # the default until a page sets its own: nothing runs
        return "default-src 'none'; frame-ancestors 'self'"

    base.BaseHandler.render = render
    base.BaseHandler.content_security_policy = property(content_security_policy)
    base.BaseHandler.exporter = property(lambda self: _InertExporter(self, self.settings["nbgrader_exporter"]))
    files = handlers.SubmissionFilesHandler
    plain_headers = files.set_default_headers

    def file_headers(self):
        plain_headers(self)
        self.set_header("Content-Security-Policy", FILE_POLICY)
        self.set_header("X-Content-Type-Options", "nosniff")

    files.set_default_headers = file_headers
    base.BaseHandler._course_guarded = True
    return True
