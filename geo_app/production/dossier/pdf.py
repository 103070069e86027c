"""Write the sheet and its annex as one PDF whose bytes depend only on what is drawn."""
from __future__ import annotations

import datetime as dt
import os
from contextlib import contextmanager
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.text import Text

from geo_app import __version__

#: Type 42 keeps text as text (searchable, extractable with its diacritics) with the TrueType font
#: embedded; path.simplify stays off because it drops vertices by screen pixels, not by paper.
#: ps.fonttype too: matplotlib 3.11's PDF writer sizes its font subsets by it, and at the default (3)
#: every face is embedded twice (ASCII and the rest), which doubles the slowest step.
RC = {"pdf.fonttype": 42, "ps.fonttype": 42, "pdf.compression": 6, "path.simplify": False}


@contextmanager
def _source_date(date_iso: str):
    """matplotlib reads SOURCE_DATE_EPOCH for any date it would stamp; pin it to the dossier date."""
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    epoch = int(dt.datetime.fromisoformat(date_iso).replace(tzinfo=dt.UTC).timestamp())
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


def write_pdf(path: Path, sheet_data, render_sheet, render_annex, former_rows, date_iso: str) -> None:
    metadata = {
        "Title": f"Bản đồ khu vực địa lý: {sheet_data.product.name['vi']}",
        "Subject": sheet_data.dossier_id,
        "Creator": f"geo-app {__version__}",
        "Author": sheet_data.agency,
        "CreationDate": None,
        "ModDate": None,
    }
    with matplotlib.rc_context(RC), _source_date(date_iso):
        with PdfPages(path, metadata=metadata) as pdf:
            for fig in (render_sheet(sheet_data), *render_annex(sheet_data, former_rows)):
                _plain_glyphs(fig)
                pdf.savefig(fig)


def _plain_glyphs(fig) -> None:
    """No ligatures: a ligature glyph ("fi") forces a second subset of its font, doubling the
    embedding time, and extracts less reliably."""
    for text in fig.findobj(Text):
        if hasattr(text, "set_fontfeatures"):  # matplotlib >= 3.11 shapes text; older ones don't ligate
            text.set_fontfeatures(("-liga", "-clig"))
