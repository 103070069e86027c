"""Write the sheet and its annex as one PDF whose bytes depend only on what is drawn."""
from __future__ import annotations

import datetime as dt
import os
from contextlib import contextmanager
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.text import Text
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, NumberObject, TextStringObject
from pyproj import CRS, Transformer

from geo_app import STORE_CRS, __version__
from geo_app.io.files import atomic_file

PT_PER_MM = 72.0 / 25.4
#: The geographic CRS the corners are given in: the base of EPSG:9208 (VN-2000), as ISO 32000-2 asks.
GEOGRAPHIC = "EPSG:4756"

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
    georeference(path, sheet_data.paper, sheet_data.extent)


def georeference(path: Path, paper, extent) -> None:
    """Give page 1 an ISO 32000-2 geospatial viewport for the map frame (/VP with a /Measure of
    subtype /GEO, its /GCS EPSG:9208 with WKT), so GDAL and QGIS place the sheet as a map.

    The viewport's box is the frame in PDF points; /GPTS are the latitude and longitude (VN-2000)
    of its corners, /LPTS the same corners in the unit square of the box. Written as an
    incremental update: the drawing is untouched and the bytes depend only on the inputs.
    """
    x0, y0 = paper.frame_x0 * PT_PER_MM, paper.frame_y0 * PT_PER_MM
    x1, y1 = (paper.frame_x0 + paper.frame_w) * PT_PER_MM, (paper.frame_y0 + paper.frame_h) * PT_PER_MM
    to_geog = Transformer.from_crs(STORE_CRS, GEOGRAPHIC, always_xy=True)
    corners = [(extent[0], extent[1]), (extent[0], extent[3]), (extent[2], extent[3]), (extent[2], extent[1])]
    gpts = []
    for e, n in corners:
        lon, lat = to_geog.transform(e, n)
        gpts += [round(lat, 10), round(lon, 10)]
    unit = [0, 0, 0, 1, 1, 1, 1, 0]
    wkt = CRS.from_user_input(STORE_CRS).to_wkt(version="WKT1_ESRI")
    measure = DictionaryObject({
        NameObject("/Type"): NameObject("/Measure"),
        NameObject("/Subtype"): NameObject("/GEO"),
        NameObject("/Bounds"): ArrayObject(NumberObject(v) for v in unit),
        NameObject("/GPTS"): ArrayObject(FloatObject(f"{v:.10f}") for v in gpts),
        NameObject("/LPTS"): ArrayObject(NumberObject(v) for v in unit),
        NameObject("/GCS"): DictionaryObject({
            NameObject("/Type"): NameObject("/PROJCS"),
            NameObject("/EPSG"): NumberObject(int(STORE_CRS.split(":")[1])),
            NameObject("/WKT"): TextStringObject(wkt),
        }),
    })
    viewport = DictionaryObject({
        NameObject("/Type"): NameObject("/Viewport"),
        NameObject("/Name"): TextStringObject("Khung bản đồ / map frame"),
        NameObject("/BBox"): ArrayObject(FloatObject(f"{v:.4f}") for v in (x0, y0, x1, y1)),
        NameObject("/Measure"): measure,
    })
    writer = PdfWriter(str(path), incremental=True)
    writer.pages[0][NameObject("/VP")] = ArrayObject([viewport])
    with atomic_file(path) as tmp, open(tmp, "wb") as fh:
        writer.write(fh)


def _plain_glyphs(fig) -> None:
    """No ligatures: a ligature glyph ("fi") forces a second subset of its font, doubling the
    embedding time, and extracts less reliably."""
    for text in fig.findobj(Text):
        if hasattr(text, "set_fontfeatures"):  # matplotlib >= 3.11 shapes text; older ones don't ligate
            text.set_fontfeatures(("-liga", "-clig"))
