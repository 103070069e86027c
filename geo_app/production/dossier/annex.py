"""Annex pages of ``sheet.pdf`` (A4 portrait, after the sheet, whatever the sheet's paper):
Annex 1 the list of communes, Annex 2 the table of boundary points.

One PDF rather than two: the officer prints, signs and files one document, and the package hash
printed on the sheet covers the data the annex lists.
"""
from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from geo_app.production.dossier import layout
from geo_app.production.dossier.sheet import COLOURS, _Page, wrap

A4_PORTRAIT = (210.0, 297.0)
MARGIN = 15.0
ROW_MM = 4.6
POINT_LINESPACING = 1.6


def _header(page: _Page, d, title_vi: str, title_en: str) -> float:
    w, h = A4_PORTRAIT
    page.text(MARGIN, h - MARGIN, f"{d.product.name['vi']} / {d.product.name['en']}", 8, "b", va="top")
    page.text(w - MARGIN, h - MARGIN, f"Mã hồ sơ / dossier id: {d.dossier_id}", 6.5, ha="right", va="top")
    page.text(w / 2, h - MARGIN - 9, title_vi, 11, "b", ha="center", va="top")
    page.text(w / 2, h - MARGIN - 14.5, title_en, 8, "i", ha="center", va="top")
    if d.is_draft:
        page.text(w / 2, h / 2, "BẢN NHÁP / DRAFT", 54, "b", color=COLOURS["watermark"], alpha=0.12, rotation=55,
                  ha="center", va="center", zorder=50)
    return h - MARGIN - 22


def _footer(page: _Page, d, page_no: int, pages: int) -> None:
    w, _ = A4_PORTRAIT
    page.hline(MARGIN, w - MARGIN, MARGIN + 4)
    page.text(MARGIN, MARGIN + 2.5, f"Gói dữ liệu / package sha256: {d.package_hash[:12]} · {d.date_vi}", 6, va="top")
    page.text(w - MARGIN, MARGIN + 2.5, f"Trang / page {page_no}/{pages}", 6, ha="right", va="top")


def commune_rows(former_rows: pd.DataFrame) -> list[list[str]]:
    """Rows of Annex 1; the area is that of the 2025 commune's part, shown once per 2025 commune
    because former-commune boundaries are not public."""
    rows, seen = [], set()
    for i, r in enumerate(former_rows.itertuples(index=False), start=1):
        first = r.commune_code not in seen
        seen.add(r.commune_code)
        rows.append([
            str(i), r.former_commune, r.former_district, r.commune_2025, f"{r.inclusion_vi} / {r.inclusion_en}",
            layout.fmt_dec(r.area_ha_2025_part) if first else "″",
        ])
    return rows


def render_annex(d, former_rows: pd.DataFrame) -> list[Figure]:
    """The annex pages, numbered 2.. after the sheet (page 1)."""
    plans = []  # (kind, payload)
    rows = commune_rows(former_rows)
    per_page_1 = 44
    chunks = [rows[i:i + per_page_1] for i in range(0, len(rows), per_page_1)] or [[]]
    for n, chunk in enumerate(chunks):
        plans.append(("communes", (chunk, n == len(chunks) - 1)))
    table = d.points.table
    per_col, cols = 52, 3
    per_page_2 = per_col * cols
    pts = [table.iloc[i:i + per_page_2] for i in range(0, len(table), per_page_2)] or [table]
    for n, chunk in enumerate(pts):
        plans.append(("points", (chunk, n == 0, per_col, cols)))
    pages = len(plans) + 1
    figures = []
    for i, (kind, payload) in enumerate(plans, start=2):
        page = _Page(*A4_PORTRAIT)
        if kind == "communes":
            _communes_page(page, d, *payload, former_rows)
        else:
            _points_page(page, d, *payload)
        _footer(page, d, i, pages)
        figures.append(page.fig)
    return figures


def _communes_page(page: _Page, d, chunk, last: bool, former_rows: pd.DataFrame) -> None:
    y = _header(page, d, "PHỤ LỤC 1. DANH SÁCH XÃ THUỘC KHU VỰC ĐỊA LÝ",
                "Annex 1. Communes in the geographical area")
    cols = [  # (title vi, title en, width mm, align)
        ("TT", "No.", 9, "center"), ("Xã cũ", "Former commune", 38, "left"),
        ("Huyện cũ", "Former district", 36, "left"), ("Xã, phường 2025", "2025 commune", 34, "left"),
        ("Toàn bộ / một phần", "Wholly / partly", 33, "left"), ("Diện tích (ha)", "Area inside (ha)", 30, "right"),
    ]
    x = MARGIN
    page.hline(MARGIN, MARGIN + sum(c[2] for c in cols), y + 1)
    for vi, en, w, align in cols:
        tx = x + (w / 2 if align == "center" else (w - 1 if align == "right" else 1))
        page.text(tx, y, vi, 6.4, "b", ha=align, va="top")
        page.text(tx, y - 3.2, en, 5.4, "i", ha=align, va="top", color=COLOURS["label"])
        x += w
    y -= 8
    page.hline(MARGIN, MARGIN + sum(c[2] for c in cols), y + 1)
    for row in chunk:
        x = MARGIN
        for (_, _, w, align), value in zip(cols, row):
            tx = x + (w / 2 if align == "center" else (w - 1 if align == "right" else 1))
            page.text(tx, y, value, 6.3, ha=align, va="top")
            x += w
        y -= ROW_MM
    page.hline(MARGIN, MARGIN + sum(c[2] for c in cols), y + 1)
    if last:
        y -= 2
        communes = former_rows.drop_duplicates("commune_code")
        total = float(communes["area_ha_2025_part"].sum())
        for text, size, style in (
            (f"Số xã cũ / former communes: {len(former_rows)} · số xã, phường 2025 / 2025 communes: {len(communes)}", 7, ""),
            (f"Tổng diện tích khu vực / total area: {layout.fmt_dec(d.area_ha)} ha "
             f"(tổng các phần xã 2025 / sum of the 2025 parts: {layout.fmt_dec(total)} ha)", 7, "b"),
            (f"Chu vi / perimeter: {layout.fmt_dec(d.perimeter_m, 0)} m · tính trong VN-2000 / TM-3 104°45' (EPSG:9208)", 7, ""),
            ("Diện tích ghi cho phần của mỗi xã 2025 nằm trong khu vực (ranh giới xã cũ không được công bố); "
             "″ = như dòng trên.", 6, "i"),
            ("The area is given for each 2025 commune's part inside the area (former-commune boundaries are not "
             "public); ″ = as above.", 6, "i"),
        ):
            for line in wrap(text, A4_PORTRAIT[0] - 2 * MARGIN, size):
                page.text(MARGIN, y, line, size, style, va="top")
                y -= size * 0.3528 * 1.5


def _points_page(page: _Page, d, chunk: pd.DataFrame, first: bool, per_col: int, cols: int) -> None:
    y = _header(page, d, "PHỤ LỤC 2. BẢNG TỌA ĐỘ ĐIỂM RANH GIỚI KHU VỰC", "Annex 2. Boundary points of the area")
    bp = d.points
    if first:
        for text, size, style in (
            ("Hệ tọa độ VN-2000, kinh tuyến trục 104°45', múi chiếu 3° (EPSG:9208); X = tọa độ bắc, Y = tọa độ đông (m).",
             6.6, "b"),
            ("VN-2000, central meridian 104°45', 3° zone (EPSG:9208); X = northing, Y = easting, metres.", 5.8, "i"),
            ("Thứ tự: theo chiều kim đồng hồ, bắt đầu từ điểm cực bắc của mỗi vòng ranh giới; các vòng xếp từ bắc "
             "xuống nam. Order: clockwise from the northernmost point of each ring; rings from north to south.", 6, ""),
            (f"Điểm ngoặt sau khi lược bỏ điểm theo Douglas–Peucker, dung sai {layout.fmt_dec(bp.tolerance_m, 0)} m "
             f"({layout.fmt_dec(bp.tolerance_m * 1000 / d.scale, 1)} mm ở tỉ lệ 1:{layout.fmt_int(d.scale)}), "
             f"từ {layout.fmt_int(bp.source_vertices)} đỉnh. Turning points after Douglas–Peucker reduction.", 6, ""),
            (f"Diện tích / area {layout.fmt_dec(d.area_ha)} ha; chu vi / perimeter {layout.fmt_dec(d.perimeter_m, 0)} m "
             "(tính trên ranh giới đầy đủ / of the full boundary)"
             + (f"; {bp.holes} lỗ không liệt kê / holes not listed" if bp.holes else "") + ".", 6.6, "b"),
            *([(ring_ranges(bp.table), 6, "")] if bp.table["ring"].nunique() > 1 else []),
        ):
            for line in wrap(text, A4_PORTRAIT[0] - 2 * MARGIN, size):
                page.text(MARGIN, y, line, size, style, va="top")
                y -= size * 0.3528 * 1.5
        y -= 1
    col_w = (A4_PORTRAIT[0] - 2 * MARGIN) / cols
    widths = (10, 22, 22)
    top = y
    records = list(chunk.itertuples(index=False))
    for c in range(cols):
        part = records[c * per_col:(c + 1) * per_col]
        if not part:
            break
        x0 = MARGIN + c * col_w + 1
        y = top
        for title, w, ha in (("Điểm", widths[0], "center"), ("X (m)", widths[1], "right"), ("Y (m)", widths[2], "right")):
            tx = x0 + (w / 2 if ha == "center" else w - 1)
            page.text(tx, y, title, 6.4, "b", ha=ha, va="top")
            x0 += w
        y -= 4.4
        page.hline(MARGIN + c * col_w + 1, MARGIN + c * col_w + 1 + sum(widths), y + 0.8, lw=0.3)
        # One multi-line text per column: rows align across columns (same size and spacing) and
        # the page draws in a fraction of the time of one text per cell.
        x0 = MARGIN + c * col_w + 1
        columns = ([str(r.no) for r in part], [f"{r.x_north:.2f}" for r in part], [f"{r.y_east:.2f}" for r in part])
        for values, w, ha in zip(columns, widths, ("center", "right", "right")):
            tx = x0 + (w / 2 if ha == "center" else w - 1)
            page.text(tx, y, "\n".join(values), 6.0, ha=ha, va="top", multialignment=ha, linespacing=POINT_LINESPACING)
            x0 += w


def ring_ranges(table: pd.DataFrame) -> str:
    parts = [f"vòng / ring {ring}: {g['no'].min()}–{g['no'].max()}" for ring, g in table.groupby("ring", sort=True)]
    return "Các vòng / rings: " + "; ".join(parts)
