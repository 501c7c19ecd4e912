"""Sphinx extension: accessibility fixes for what Jupyter Book 1.x's packages render.

Each fix names the package and the upstream cause it works around; the browser tests
(tests/test_book_browser.py, axe-core) fail if one of them stops working. The theme's own
markup is fixed by the template overrides in ``_templates/``, the colours and focus rings by
``book/_static/a11y.css``.
"""

from __future__ import annotations

from html import escape

from sphinx.builders.html import StandaloneHTMLBuilder

_builder_add_js_file = StandaloneHTMLBuilder.add_js_file


def _add_js_file(self, filename, **kwargs):
    # Sphinx 7.4: an inline script (filename None) that an extension adds after the builder
    # is initialised goes into the builder as None and again, from the registry, as '', and
    # the two do not compare equal, so the page gets it twice. sphinx-thebe adds
    # `const THEBE_JS_URL = ...` that way (env-before-read-docs), and the second copy throws
    # "Identifier 'THEBE_JS_URL' has already been declared" on every page. Backport of
    # sphinx-doc/sphinx#13402 (Sphinx 8.2), which jupyter-book 1.x (Sphinx < 8) cannot get.
    return _builder_add_js_file(self, filename or "", **kwargs)


def _summary_without_label(self, node) -> None:
    # myst-nb 1.4 (myst_nb/sphinx_.py, visit_HideCellInput) writes
    # <summary aria-label="Toggle hidden content"> around the visible "Show code cell source":
    # the accessible name then does not contain the visible text (WCAG 2.5.3, axe
    # label-content-name-mismatch) and says nothing about what it shows. Without the
    # aria-label the name is the visible text, "Show code cell source" / "Hide ...".
    classes = " ".join(node["classes"])
    self.body.append(f'<details class="admonition hide {classes}">\n<summary>\n')
    for state, prompt in (("collapsed", node["prompt_show"]), ("expanded", node["prompt_hide"])):
        self.body.append(f'<p class="{state} admonition-title">{escape(prompt)}</p>\n')
    self.body.append("</summary>\n")


def _fix_body(app, pagename, templatename, context, doctree) -> None:
    body = context.get("body")
    if not body:
        return
    # docutils 0.21's HTML5 writer (_html_base.py, visit_citation) gives each citation
    # role="doc-biblioentry" inside <div role="list">. DPUB-ARIA 1.1 deprecates that role and
    # axe 4.14 no longer counts it as a list item, so the list "has children which are not
    # allowed" (aria-required-children, critical) on the bibliography page. A citation in
    # that list is a list item.
    context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


def setup(app):
    StandaloneHTMLBuilder.add_js_file = _add_js_file
    from myst_nb.sphinx_ import HideCodeCellNode, depart_HideCellInput

    app.add_node(
        HideCodeCellNode, override=True, html=(_summary_without_label, depart_HideCellInput)
    )
    app.connect("html-page-context", _fix_body)
    app.add_css_file("a11y.css")
    app.add_js_file("a11y.js", defer="defer")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
