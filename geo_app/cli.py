"""``geo-app``: the command line. Each command parses input, calls the core, prints the result."""
from __future__ import annotations

import logging
import sys

import click

from . import __version__


class UserFacingError(click.ClickException):
    """An error whose message is for the user; printed without a traceback."""


@click.group()
@click.version_option(__version__, prog_name="geo-app")
@click.option("-v", "--verbose", is_flag=True, help="Ghi nhật ký chi tiết / verbose logging.")
def main(verbose: bool) -> None:
    """Hệ thống thông tin địa lý tỉnh Lào Cai / Lào Cai geospatial system."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@main.command()
@click.option("--force", is_flag=True, help="Dựng lại kể cả khi nguồn không đổi / rebuild even if nothing changed.")
def build(force: bool) -> None:
    """Tải, kiểm tra nguồn và dựng kho lớp / fetch, verify sources and build the layer store."""
    from .build import build as run_build
    from .build.admin import BuildCheckError
    from .sources import SourceError

    try:
        result = run_build(force=force, progress=sys.stderr.isatty())
    except (SourceError, BuildCheckError) as exc:
        raise UserFacingError(f"{exc}\nKho lớp cũ được giữ nguyên. / The previous layer store is unchanged.") from exc
    click.echo(result.message)
    if result.built:
        for layer_id, count in result.layers.items():
            click.echo(f"  {layer_id:<18} {count:>6}")
        click.echo(
            f"Sửa hình học / geometry repairs: {len(result.repairs)}; "
            f"khác biệt giữa hai bảng chuyển đổi / crosswalk disagreements: {result.crosswalk_disagreements} "
            f"(report: {result.report_dir / 'crosswalk-disagreements.csv'})"
        )


@main.command("layers")
def layers_cmd() -> None:
    """Liệt kê các lớp / list the layers with feature counts and sources."""
    from . import layers
    from .store import StoreError

    for layer in layers.list():
        try:
            count = str(layers.feature_count(layer.id))
        except (StoreError, Exception):  # store not built, or layer not yet built
            count = "—"
        click.echo(f"{layer.id:<18} {count:>6}  {layer.title['vi']} / {layer.title['en']}")
        click.echo(f"{'':<25} sources: {', '.join(layer.sources)}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--dev", is_flag=True, help="Flask's development server with reload (not for production).")
def serve(host: str, port: int, dev: bool) -> None:
    """Phục vụ bản đồ web / serve the web map (waitress)."""
    from .web import create_app

    app = create_app()
    click.echo(f"Bản đồ / map: http://{host}:{port}/")
    if dev:
        app.run(host=host, port=port, debug=True)
        return
    from waitress import serve as waitress_serve

    waitress_serve(app, host=host, port=port, threads=8)


# --- production areas and dossiers (issue 3): check, dossier, import ---


@main.command()
@click.argument("product_id")
@click.option("--json", "as_json", is_flag=True, help="In báo cáo dạng JSON / print the report as JSON.")
def check(product_id: str, as_json: bool) -> None:
    """Kiểm tra vùng sản xuất / check a product's production area."""
    import json

    from .production_area import ResolutionError
    from .products import ProductDefinitionError, get_product
    from .store import StoreError
    from .validation import check as run_check

    try:
        report = run_check(get_product(product_id))
    except (KeyError, ProductDefinitionError, ResolutionError, StoreError) as exc:
        raise UserFacingError(str(exc).strip("'\"")) from exc
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(f"{product_id}: {report.area_ha:,.2f} ha, chu vi / perimeter {report.perimeter_m:,.1f} m")
        for finding in report.findings:
            click.echo(f"  [{finding.level}] {finding.message}")
        for c in report.communes:
            click.echo(f"  {c['commune_2025']:<24} {c['area_ha']:>12,.2f} ha  {c['inclusion']}")
    if not report.ok:
        sys.exit(1)

# --- web accounts (issue 4): users ---

# --- water sources, terrain and groundwater (issue 5): water-sources, groundwater ---


if __name__ == "__main__":  # pragma: no cover
    main()
