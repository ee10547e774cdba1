"""HTML from the Jinja2 templates in outputs/templates (report.html.j2, batch_index.html.j2).

Every `{{ value }}` is escaped unless it is Markup (the inline CSS, a macro's output): file names, warnings and
labels come from the user or the clip. The escaping is html.escape's (`'` → `&#x27;`, `"` → `&quot;`), the
entities these pages have always carried, rather than markupsafe's equivalent `&#39;` and `&#34;`.
"""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import jinja2
from markupsafe import Markup

TEMPLATES = Path(__file__).with_name("templates")


def _escaped(value: object) -> Markup:
    """`value` as HTML text: html.escape of its str(), or itself when it is already Markup."""
    return value if isinstance(value, Markup) else Markup(html.escape(str(value)))


# Block tags on lines of their own leave no blank lines; the page ends with the template's final newline.
_ENVIRONMENT = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                  undefined=jinja2.StrictUndefined, finalize=_escaped, trim_blocks=True,
                                  lstrip_blocks=True, keep_trailing_newline=True)


def svg_data_uri(fig) -> str:
    """A matplotlib figure as an SVG data: URI, for an <img> in a page or in a PDF's HTML (no date in it: the same
    plot gives the same bytes)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()


def render(template: str, /, **context: object) -> str:
    """The file `template` of outputs/templates filled with `context`, as an HTML page."""
    return _ENVIRONMENT.get_template(template).render(**context)
