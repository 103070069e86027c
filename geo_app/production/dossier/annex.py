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


def commune_rows(table: pd.DataFrame) -> list[tuple[str, list[str]]]:
    """Rows of Annex 1: for each 2025 commune a bold row (whole or part, the area of its part),
    then one row per former commune it takes (wholly, and its own area where it is known)."""
    rows = []
    for n, (_, group) in enumerate(table.groupby("commune_code", sort=True), start=1):
        first = group.iloc[0]
        rows.append(("commune", [
            str(n), first.commune_2025, "", f"{first.commune_inclusion_vi} / {first.commune_inclusion_en}",
            layout.fmt_dec(first.commune_area_ha),
        ]))
        for m, r in enumerate(group.itertuples(index=False), start=1):
            own = "" if pd.isna(r.former_area_ha) else layout.fmt_dec(r.former_area_ha)
            rows.append(("former", [
                f"{n}.{m}", f"   {r.former_commune}", r.former_district, f"{r.inclusion_vi} / {r.inclusion_en}",
                own or "không riêng / n/a",
            ]))
    return rows


def render_annex(d, former_rows: pd.DataFrame) -> list[Figure]:
    """The annex pages, numbered 2.. after the sheet (page 1)."""
    plans = []  # (kind, payload)
    rows = commune_rows(former_rows)
    per_page_1 = 48
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


def _communes_page(page: _Page, d, chunk, last: bool, table: pd.DataFrame) -> None:
    y = _header(page, d, "PHỤ LỤC 1. DANH SÁCH XÃ THUỘC KHU VỰC ĐỊA LÝ",
                "Annex 1. Communes in the geographical area")
    cols = [  # (title vi, title en, width mm, align)
        ("TT", "No.", 10, "center"), ("Xã, phường 2025 / xã cũ", "2025 commune / former commune", 52, "left"),
        ("Huyện cũ", "Former district", 40, "left"), ("Toàn bộ / một phần", "Wholly / partly", 40, "left"),
        ("Diện tích (ha)", "Area inside (ha)", 38, "right"),
    ]
    width = sum(c[2] for c in cols)
    x = MARGIN
    page.hline(MARGIN, MARGIN + width, y + 1)
    for vi, en, w, align in cols:
        tx = x + (w / 2 if align == "center" else (w - 1 if align == "right" else 1))
        page.text(tx, y, vi, 6.4, "b", ha=align, va="top")
        page.text(tx, y - 3.2, en, 6, "i", ha=align, va="top", color=COLOURS["label"])
        x += w
    y -= 8
    page.hline(MARGIN, MARGIN + width, y + 1)
    for kind, row in chunk:
        x = MARGIN
        if kind == "commune":
            page.hline(MARGIN, MARGIN + width, y + 1, lw=0.2)
        for (_, _, w, align), value in zip(cols, row):
            tx = x + (w / 2 if align == "center" else (w - 1 if align == "right" else 1))
            page.text(tx, y, value, 6.3, "b" if kind == "commune" else "", ha=align, va="top")
            x += w
        y -= ROW_MM
    page.hline(MARGIN, MARGIN + width, y + 1)
    if last:
        y -= 2
        communes = table.drop_duplicates("commune_code")
        total = float(communes["commune_area_ha"].sum())
        partly = communes[communes["commune_inclusion_en"] == "partly"]["commune_2025"].tolist()
        texts = [
            (f"Số xã, phường 2025 / 2025 communes: {len(communes)} (một phần / partly: {len(partly)}) · số xã cũ / "
             f"former communes: {len(table)}", 7, ""),
            (f"Tổng diện tích khu vực / total area: {layout.fmt_dec(d.area_ha)} ha = tổng các dòng xã 2025 / the sum of "
             f"the 2025 commune rows: {layout.fmt_dec(total)} ha", 7, "b"),
            (f"Chu vi / perimeter: {layout.fmt_dec(d.perimeter_m, 0)} m · tính trong VN-2000 / TM-3 104°45' (EPSG:9208)",
             7, ""),
        ]
        if partly:
            texts.append((f"Chỉ một phần thuộc khu vực / only partly inside: {', '.join(partly)} (theo NQ "
                          "1673/NQ-UBTVQH15, xã 2025 gồm cả xã cũ khác / the 2025 commune also holds other former "
                          "communes).", 6.4, "b"))
        texts += [
            ("Diện tích riêng của một xã cũ chỉ ghi khi nó là xã cũ duy nhất trong phần đó; ranh giới xã cũ không được "
             "công bố nên không đo riêng được (\"không riêng\").", 6, "i"),
            ("A former commune's own area is given where it is the only one in its part; former-commune boundaries "
             "are not public, so the others cannot be measured (\"n/a\").", 6, "i"),
        ]
        for text, size, style in texts:
            for line in wrap(text, A4_PORTRAIT[0] - 2 * MARGIN, size, style):
                page.text(MARGIN, y, line, size, style, va="top")
                y -= size * 0.3528 * 1.5


def _points_page(page: _Page, d, chunk: pd.DataFrame, first: bool, per_col: int, cols: int) -> None:
    y = _header(page, d, "PHỤ LỤC 2. BẢNG TỌA ĐỘ ĐIỂM RANH GIỚI KHU VỰC", "Annex 2. Boundary points of the area")
    bp = d.points
    if first:
        for text, size, style in (
            ("Hệ tọa độ VN-2000, kinh tuyến trục 104°45', múi chiếu 3° (EPSG:9208); X = tọa độ bắc, Y = tọa độ đông (m).",
             6.6, "b"),
            ("VN-2000, central meridian 104°45', 3° zone (EPSG:9208); X = northing, Y = easting, metres.", 6, "i"),
            ("Thứ tự: theo chiều kim đồng hồ, bắt đầu từ điểm cực bắc của mỗi vòng ranh giới; các vòng xếp từ bắc "
             "xuống nam. Order: clockwise from the northernmost point of each ring; rings from north to south.", 6, ""),
            (f"Điểm ngoặt sau khi lược bỏ điểm theo Douglas–Peucker, dung sai {layout.fmt_dec(bp.tolerance_m, 0)} m "
             f"(1/1000 cạnh hình vuông cùng diện tích, làm tròn 1-2-5; không phụ thuộc khổ giấy, tỉ lệ), từ "
             f"{layout.fmt_int(bp.source_vertices)} đỉnh. Turning points after Douglas–Peucker reduction at a tolerance "
             "chosen from the area's size, the same on every sheet and export.", 6, ""),
            (f"Diện tích / area {layout.fmt_dec(d.area_ha)} ha; chu vi / perimeter {layout.fmt_dec(d.perimeter_m, 0)} m "
             "(tính trên ranh giới đầy đủ / of the full boundary)"
             + (f"; {bp.holes} lỗ (vùng không thuộc khu vực) không liệt kê / holes not listed" if bp.holes else "")
             + ".", 6.6, "b"),
            *[(note, 6, "") for note in d.notes],
            *([(ring_ranges(bp.table), 6, "")] if bp.table["ring"].nunique() > 1 else []),
        ):
            for line in wrap(text, A4_PORTRAIT[0] - 2 * MARGIN, size, style):
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
