"""HTML to PDF: the one path every PDF of gaitlab takes (the report, the app's progress page).

WeasyPrint lays out the same HTML and print CSS a browser shows, without a browser: it needs only Pango
(a system library on every Linux desktop; the README's setup says how to install it elsewhere). The HTML
must be self-contained (inline SVG and data: images), so nothing is fetched while printing.
"""
from __future__ import annotations

import logging
from pathlib import Path

from gaitlab.errors import GaitlabError

# WeasyPrint logs every CSS property it does not support (e.g. a screen-only rule) as a warning; those are
# expected for a page that also serves screens, and would otherwise reach the user's terminal.
logging.getLogger("weasyprint").setLevel(logging.ERROR)
logging.getLogger("fontTools").setLevel(logging.ERROR)


def write_pdf(html: str, pdf_path: str | Path) -> None:
    """Print `html` (a self-contained page with its own @page rules) to `pdf_path`.

    Raises GaitlabError with a line on what to install when WeasyPrint's system libraries are missing.
    """
    try:
        import weasyprint  # ~0.8 s to import: only when a PDF is written
    except OSError as exc:  # Pango (libpango-1.0) not found
        raise GaitlabError(f"cannot write PDF: WeasyPrint needs the Pango library ({exc}); "
                           "on Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0") from exc
    weasyprint.HTML(string=html, base_url=str(Path(pdf_path).parent)).write_pdf(pdf_path)
