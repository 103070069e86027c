"""``geo-app``: the command line. Each command parses input, calls the core, prints the result."""
from __future__ import annotations

import logging
import sys

import click

from geo_app import __version__
from geo_app.errors import GeoAppError


class UserFacingError(click.ClickException):
    """An error whose message is for the user; printed without a traceback."""


class _Commands(click.Group):
    """Every ``GeoAppError`` a command lets through is printed as the user's message, with its exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GeoAppError as exc:
            click.echo(f"Lỗi / Error: {exc.message}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Commands)
@click.version_option(__version__, prog_name="geo-app")
@click.option("-v", "--verbose", is_flag=True, help="Ghi nhật ký chi tiết / verbose logging.")
def main(verbose: bool) -> None:
    """Hệ thống thông tin địa lý tỉnh Lào Cai / Lào Cai geospatial system."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@main.command()
@click.option("--force", is_flag=True, help="Dựng lại kể cả khi nguồn không đổi / rebuild even if nothing changed.")
def build(force: bool) -> None:
    """Tải, kiểm tra nguồn và dựng kho lớp / fetch, verify sources and build the layer store."""
    from geo_app.build import build as run_build
    from geo_app.build.admin import BuildCheckError
    from geo_app.store.layer_store import open_store
    from geo_app.store.sources import SourceError

    had_store = open_store().exists()
    try:
        result = run_build(force=force, progress=sys.stderr.isatty())
    except (SourceError, BuildCheckError) as exc:
        kept = ("Kho lớp cũ được giữ nguyên. / The previous layer store is unchanged." if had_store
                else "Chưa ghi kho lớp nào. / No layer store was written.")
        raise UserFacingError(f"{exc}\n{kept}") from exc
    click.echo(result.message)
    if result.built:
        for layer_id, count in result.layers.items():
            click.echo(f"  {layer_id:<18} {count:>6}")
        click.echo(
            f"Sửa hình học / geometry repairs: {len(result.repairs)}; "
            f"tên khác nhau giữa hai bảng chuyển đổi / crosswalk name disagreements: {result.crosswalk_disagreements} "
            f"(report: {result.report_dir / 'crosswalk-disagreements.csv'})"
        )


@main.command("layers")
def layers_cmd() -> None:
    """Liệt kê các lớp / list the layers with feature counts and sources."""
    from geo_app import layers
    from geo_app.store.layer_store import StoreError, open_store

    if not open_store().exists():
        click.echo("Chưa dựng kho lớp: chạy `geo-app build`. / The layer store is not built yet: run `geo-app build`.\n")
    width = max(len(layer.id) for layer in layers.list())
    for layer in layers.list():
        try:
            count = str(layers.feature_count(layer.id))
        except StoreError:  # store not built, or layer not yet built
            count = "—"
        click.echo(f"{layer.id:<{width}} {count:>6}  {layer.title['vi']} / {layer.title['en']}")
        click.echo(f"{'':<{width + 7}} sources: {', '.join(layer.sources)}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--dev", is_flag=True, help="Flask's development server with reload (not for production).")
@click.option("--trusted-proxy", default="127.0.0.1", show_default=True,
              help="Với GEO_APP_BEHIND_PROXY=1: địa chỉ của proxy được tin / with GEO_APP_BEHIND_PROXY=1: the "
                   "address of the one proxy whose X-Forwarded-* headers are trusted.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Số tiến trình phục vụ / worker processes sharing the port (2 per core is a good start).")
def serve(host: str, port: int, dev: bool, trusted_proxy: str, workers: int) -> None:
    """Phục vụ bản đồ web / serve the web map (waitress)."""
    from geo_app.serve.web import create_app
    from geo_app.serve.web.server import serve as serve_app
    from geo_app.serve.web.server import serve_workers

    app = create_app()
    click.echo(f"Bản đồ / map: http://{host}:{port}/")
    if dev:
        app.run(host=host, port=port, debug=True)
        return
    options = dict(behind_proxy=app.config["BEHIND_PROXY"], trusted_proxy=trusted_proxy,
                   upload_bytes=app.config["MAX_CONTENT_LENGTH"])
    if workers > 1:
        serve_workers(create_app, host, port, workers, **options)
    else:
        serve_app(app, host, port, **options)


# --- production areas and dossiers: check, dossier, import ---


@main.command()
@click.argument("product_id")
@click.option("--json", "as_json", is_flag=True, help="In báo cáo dạng JSON / print the report as JSON.")
def check(product_id: str, as_json: bool) -> None:
    """Kiểm tra vùng sản xuất / check a product's production area."""
    import json

    from geo_app.production.area import ResolutionError
    from geo_app.production.products import ProductDefinitionError, get_product
    from geo_app.production.validation import check as run_check
    from geo_app.store.layer_store import StoreError

    try:
        report = run_check(get_product(product_id))
    except (KeyError, ProductDefinitionError, ResolutionError, StoreError) as exc:
        raise UserFacingError(str(exc).strip("'\"")) from exc
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2, allow_nan=False))
    else:
        click.echo(f"{product_id}: {report.area_ha:,.2f} ha, chu vi / perimeter {report.perimeter_m:,.1f} m")
        for finding in report.findings:
            click.echo(f"  [{finding.level}] {finding.message}")
        click.echo("Xã, phường 2025 / 2025 communes:")
        for c in report.communes:
            click.echo(f"  {c['commune_2025']:<24} {c['area_ha']:>12,.2f} ha  {c['inclusion']}")
        click.echo("Xã cũ / former communes:")
        for r in report.former_communes:
            click.echo(f"  {r['former_commune']:<24} {r['former_district']:<26} → {r['commune_2025']:<20} {r['inclusion_vi']} / {r['inclusion_en']}")
    if not report.ok:
        sys.exit(1)


@main.command()
@click.argument("product_id")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Thư mục hồ sơ (tạo mới hoặc thay thế) / dossier folder, created or replaced as a whole.")
@click.option("--paper", default="A3", show_default=True, type=click.Choice(["A3", "A4"], case_sensitive=False),
              help="Khổ giấy / paper size.")
@click.option("--scale", default=None, type=int,
              help="Mẫu số tỉ lệ, vd. 50000 / scale denominator (default: the largest standard scale that fits).")
@click.option("--date", "date_iso", default=None, help="Ngày ghi trên bản đồ YYYY-MM-DD / date on the sheet (default: store build date).")
@click.option("--agency", default=None, help="Đơn vị thành lập / producing agency.")
def dossier(product_id: str, out_dir: str, paper: str, scale: int | None, date_iso: str | None, agency: str | None) -> None:
    """Lập hồ sơ bản đồ khu vực địa lý / make the map dossier (sheet, annex, exports, manifest)."""
    from geo_app.production.dossier import check_options

    try:  # a paper or scale that cannot be used is refused before anything heavy is loaded
        check_options(paper.upper(), scale)
    except ValueError as exc:
        raise UserFacingError(str(exc).strip("'\"")) from exc
    from geo_app.production.area import ResolutionError
    from geo_app.production.dossier import DEFAULT_AGENCY, DossierError, LayoutError, make_dossier
    from geo_app.production.products import ProductDefinitionError
    from geo_app.store.layer_store import StoreError

    try:
        result = make_dossier(product_id, out_dir, paper=paper.upper(), scale=scale, date=date_iso,
                              agency=agency or DEFAULT_AGENCY)
    except (KeyError, ValueError, DossierError, LayoutError, ProductDefinitionError, ResolutionError, StoreError) as exc:
        raise UserFacingError(str(exc).strip("'\"")) from exc
    click.echo(f"Hồ sơ / dossier {result.dossier_id}: {result.out_dir}")
    scale = f"{result.scale:,}".replace(",", " ")
    click.echo(f"  {result.paper}, tỉ lệ / scale 1:{scale}, {result.area_ha:,.2f} ha, "
               f"gói / package sha256 {result.package_hash[:12]}")
    for name, digest in result.files.items():
        click.echo(f"  {name:<26} {digest[:16]}")


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", type=click.Choice(["polygon", "point"]), default="polygon", show_default=True)
@click.option("--crs", default=None, help="Bỏ qua dò hệ toạ độ / override CRS detection (e.g. EPSG:9208).")
@click.option("--encoding", default=None, help="Bỏ qua dò bảng mã / override encoding (UTF-8, CP1258, TCVN3, VNI).")
@click.option("--layer", default=None, help="Lớp cần đọc khi tệp có nhiều lớp / the layer to read when the file has several.")
@click.option("--clip", is_flag=True, help="Cắt theo ranh giới tỉnh / clip the polygons to the province.")
@click.option("--boundary-points", is_flag=True,
              help="Đọc điểm/đường như điểm ranh giới theo thứ tự / read points or lines as the boundary, in order.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Ghi GeoPackage EPSG:9208 / write the result as a GeoPackage in EPSG:9208.")
def import_cmd(file: str, kind: str, crs: str | None, encoding: str | None, layer: str | None, clip: bool,
               boundary_points: bool, out_path: str | None) -> None:
    """Đọc tệp ranh giới của cán bộ / read an officer's boundary file and report what was assumed.

    Add the written GeoPackage to a product's `area.files` to use it as (part of) its production area.
    """
    from pathlib import Path

    from geo_app.importers import read_features
    from geo_app.store.layer_store import writing

    # ImportFailed is an InputError: printed as the message, exit code 2, no traceback
    result = read_features(file, kind=kind, crs=crs, encoding=encoding, layer=layer, clip=clip,
                           boundary_points=boundary_points)
    frame = result.frame
    click.echo(f"{Path(file).name}: {len(frame)} đối tượng / features ({result.format})")
    click.echo(f"  Hệ toạ độ / CRS: {result.assumed_crs}{' (X/Y đảo / axes swapped)' if result.axis_swapped else ''}")
    click.echo(f"  Bảng mã / encoding: {result.encoding}")
    for message in result.messages:
        click.echo(f"  - {message}")
    if kind == "polygon":
        click.echo(f"  Diện tích / area: {frame.area.sum() / 1e4:,.2f} ha; chu vi / perimeter: {frame.length.sum():,.1f} m (EPSG:9208)")
        click.echo(f"  Ngoài tỉnh / outside the province: {result.outside_ha:,.2f} ha ({result.outside_share:.1%})"
                   + (" — đã cắt / clipped" if result.clipped else ""))
        if result.repairs:
            click.echo(f"  Đã sửa / repaired: {len(result.repairs)}")
    if out_path:
        with writing(Path(out_path).resolve()) as store:
            store.write_layer("import", frame)
        click.echo(f"Đã ghi / written: {out_path}")


# --- the production-area workflow: audit ---


@main.group()
def audit() -> None:
    """Nhật ký kiểm toán quy trình xác nhận / the confirmation workflow's audit."""


@audit.command("verify")
def audit_verify() -> None:
    """Kiểm tra chuỗi băm nhật ký và sha256 mọi hồ sơ đã xác nhận / verify the audit hash chain and the
    sha256 of every confirmed dossier on disk; exit 1 at the first bad row or file."""
    from geo_app.production.workflow import db_path, verify

    result = verify()
    if not result.ok:
        click.echo(f"SAI / BAD: {result.first}", err=True)
        for problem in result.problems[1:]:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)
    click.echo(f"OK: {result.rows} dòng nhật ký, {result.dossiers} hồ sơ đã xác nhận / {result.rows} audit rows, "
               f"{result.dossiers} confirmed dossiers ({db_path()})")


# --- web accounts: users ---


@main.group()
def users() -> None:
    """Tài khoản web / web accounts (viewer, officer, approver, admin)."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["viewer", "officer", "approver", "admin"]),
              help="Vai trò / role.")
@click.option("--password-stdin", is_flag=True, help="Đọc mật khẩu từ stdin / read the password from stdin.")
def users_add(name: str, role: str, password_stdin: bool) -> None:
    """Thêm tài khoản / add an account; the password is asked for (or read from stdin)."""
    from geo_app.serve import accounts

    if password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Mật khẩu / password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.add_user(name, role, password)
    except accounts.AccountError as exc:
        raise UserFacingError(str(exc)) from exc
    click.echo(f"Đã tạo / created: {user.name} ({user.role}) in {accounts.db_path()}")


@users.command("list")
def users_list() -> None:
    """Liệt kê tài khoản / list the accounts."""
    from geo_app.serve import accounts

    for user in accounts.list_users():
        click.echo(f"{user.name:<24} {user.role:<9} {'' if user.active else '(disabled)'}")


@users.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Đọc mật khẩu từ stdin / read the password from stdin.")
def users_passwd(name: str, password_stdin: bool) -> None:
    """Đổi mật khẩu / set a new password (prompt or stdin); the user's sessions end."""
    from geo_app.serve import accounts

    if password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Mật khẩu mới / new password", hide_input=True, confirmation_prompt=True)
    try:
        accounts.set_password(name, password)
    except accounts.AccountError as exc:
        raise UserFacingError(str(exc)) from exc
    click.echo(f"Đã đổi mật khẩu, các phiên đăng nhập cũ đã kết thúc / password changed, earlier sessions ended: {name}")


@users.command("disable")
@click.argument("name")
def users_disable(name: str) -> None:
    """Khóa tài khoản / disable an account: it can no longer log in and its sessions end."""
    from geo_app.serve import accounts

    try:
        accounts.disable_user(name)
    except accounts.AccountError as exc:
        raise UserFacingError(str(exc)) from exc
    click.echo(f"Đã khóa tài khoản / account disabled: {name}")


# --- water sources, terrain and groundwater: water-sources, groundwater ---


@main.group("water-sources")
def water_sources_cmd() -> None:
    """Nguồn nước karst / water-source inventory: import, QA, protection zones, balance."""


def _import_failed_types():
    from geo_app.importers import ImportFailed

    return (ImportFailed, ValueError)


_WS_CRS_HELP = ("Hệ tọa độ nếu biết / the CRS if known (overrides the detection): VN2000_TM3 (= EPSG:9208), "
                "VN2000_6DEG, WGS84, EPSG:xxxx, WKT.")


@water_sources_cmd.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--crs", default=None, help=_WS_CRS_HELP)
@click.option("--encoding", default=None, type=click.Choice(["UTF-8", "CP1258", "TCVN3", "VNI"]), help="Bảng mã / text encoding.")
@click.option("--report", "report_path", default=None, type=click.Path(dir_okay=False), help="Ghi báo cáo QA (CSV) / write the QA report.")
@click.option("--accept-errors", is_flag=True, help="Lưu kể cả khi QA có lỗi / save even when the QA finds errors.")
@click.option("--dry-run", is_flag=True, help="Chỉ kiểm tra, không lưu / check only, save nothing.")
def water_sources_import(files, crs, encoding, report_path, accept_errors, dry_run) -> None:
    """Nhập danh mục nguồn nước / import the inventory, check it, and save it with its protection zones."""
    from geo_app.water import sources as ws

    try:
        inventory = ws.import_inventory(list(files), crs=crs, encoding=encoding)
    except _import_failed_types() as exc:
        raise UserFacingError(str(exc)) from exc
    for message in inventory.messages:
        click.echo(message)
    report = ws.qa(inventory)
    _print_qa(report, report_path)
    if dry_run:
        return
    if not report.ok and not accept_errors:
        raise UserFacingError(
            f"QA có {len(report.errors)} lỗi: chưa lưu gì (sửa tệp, hoặc dùng --accept-errors). / "
            f"The QA found {len(report.errors)} errors: nothing saved (fix the file, or use --accept-errors).")
    zones = ws.protection_zones(inventory.frame)
    path = ws.save(inventory.frame, zones)
    n, z = len(inventory.frame), len(zones)
    click.echo(f"Đã lưu {n} bản ghi nguồn nước và {z} vùng bảo hộ vào {path} / "
               f"saved {n} source record{'s' if n != 1 else ''} and {z} protection zone{'s' if z != 1 else ''} to {path}")
    for note in ws.data_notes(ws.per_source(inventory.frame)):
        click.echo(note)


def _print_qa(report, report_path: str | None) -> None:
    click.echo(report.summary())
    for message in report.issues["message"]:
        click.echo(f"  {message}")
    if report_path:
        click.echo(f"Báo cáo QA / QA report: {report.to_csv(report_path)}")


@water_sources_cmd.command("qa")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--report", "report_path", default=None, type=click.Path(dir_okay=False), help="Ghi báo cáo QA (CSV) / write the QA report.")
def water_sources_qa(files, report_path) -> None:
    """Kiểm tra danh mục (đã lưu, hoặc các tệp) / QA of the saved inventory, or of FILES."""
    from geo_app.store.layer_store import StoreError
    from geo_app.water import sources as ws

    try:
        target = ws.import_inventory(list(files)) if files else ws.load()
    except StoreError as exc:
        raise UserFacingError("Chưa có danh mục nguồn nước: chạy `geo-app water-sources import FILE`. / "
                              "No inventory saved yet: run `geo-app water-sources import FILE`.") from exc
    except _import_failed_types() as exc:
        raise UserFacingError(str(exc)) from exc
    report = ws.qa(target)
    _print_qa(report, report_path)
    if not report.ok:
        sys.exit(1)


@water_sources_cmd.command("balance")
@click.option("--population", required=True, type=click.Path(dir_okay=False, exists=True), help="Bảng dân số theo xã / population per commune (CSV/XLSX).")
@click.option("--norm", default=None, type=float, help="Định mức L/người/ngày / per-capita norm (default: layers/water/water_balance.yaml).")
@click.option("--save/--no-save", default=True, help="Lưu lớp water-balance / save the water-balance layer.")
def water_sources_balance(population, norm, save) -> None:
    """Cân bằng nước mùa khô theo xã / dry-season water balance per 2025 commune."""
    from geo_app.store.layer_store import StoreError
    from geo_app.water import sources as ws

    if norm is not None:
        try:
            ws.security.check_norm(norm)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--norm") from None
    try:
        balance = ws.water_balance(ws.load(), population, norm_l_per_day=norm)
    except StoreError as exc:
        raise UserFacingError(str(exc)) from exc
    except ValueError as exc:
        raise UserFacingError(f"{exc}\nChưa lưu gì. / Nothing saved.") from exc
    shown = balance.frame[balance.frame["status_code"] != "no-population"]
    click.echo(f"{'Xã / commune':<28} {'Tình trạng / status':<22} {'Cung mùa khô / supply':>22} {'Nhu cầu / demand':>18}")
    for rec in shown.itertuples():
        click.echo(f"{rec.full_name:<28} {rec.status:<22} {_ls(rec.supply_dry_ls):>22} {_ls(rec.demand_ls):>18}")
    for message in balance.messages:
        click.echo(message)
    if save:
        click.echo(f"→ {ws.write_user_layers({'water-balance': balance.frame})}")


def _ls(value: float) -> str:
    """A discharge for a bilingual table cell: "8,25 L/s" (Vietnamese first; the decimal comma)."""
    from geo_app.importers.text import num_vi

    return f"{num_vi(value, 2)} L/s"


@water_sources_cmd.command("karst")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--field", "field_name", required=True,
              help="Trường tên đơn vị karst/thạch học/tầng chứa nước / the field naming each unit.")
@click.option("--crs", default=None, help=_WS_CRS_HELP)
@click.option("--encoding", default=None, type=click.Choice(["UTF-8", "CP1258", "TCVN3", "VNI"]), help="Bảng mã / text encoding.")
@click.option("--dry-run", is_flag=True, help="Chỉ kiểm tra, không lưu / check only, save nothing.")
def water_sources_karst(file, field_name, crs, encoding, dry_run) -> None:
    """Nhập vùng karst / thạch học / tầng chứa nước vào lớp karst-units, rồi thống kê nguồn nước theo đơn vị.

    Import karst, lithology or aquifer polygons into the `karst-units` user layer (atomically: a
    failed import leaves the saved layer as it was) and print, per unit, the number of water sources
    of the saved inventory and their dry- and wet-season discharge.
    """
    from geo_app.store.layer_store import StoreError
    from geo_app.water import sources as ws

    try:
        units = ws.import_units(file, name_col=field_name, crs=crs, encoding=encoding)
    except _import_failed_types() as exc:
        raise UserFacingError(f"{exc}\nChưa lưu gì. / Nothing saved.") from exc
    for message in units.attrs.get("messages", []):
        click.echo(message)
    n_units = units["unit"].nunique()
    click.echo(f"{len(units)} vùng, {n_units} đơn vị (trường '{units.attrs.get('name_field')}') / "
               f"{len(units)} polygon{'s' if len(units) != 1 else ''}, {n_units} unit{'s' if n_units != 1 else ''} "
               f"(field '{units.attrs.get('name_field')}')")
    if not dry_run:
        path = ws.write_user_layers({"karst-units": units})
        click.echo(f"Đã lưu lớp karst-units vào {path} / saved the karst-units layer to {path}")
    try:
        sources = ws.load()
    except StoreError:
        click.echo("Chưa có danh mục nguồn nước: chạy `geo-app water-sources import FILE` để có thống kê theo đơn vị. / "
                   "No water-source inventory saved yet: run `geo-app water-sources import FILE` for the per-unit figures.")
        return
    dissolved = units[["unit", "geometry"]].dissolve("unit", as_index=False)
    summary = ws.summarise_by(sources, dissolved, "unit")
    click.echo(f"{'Đơn vị / unit':<32} {'Số nguồn / sources':>18} {'Mùa khô / dry':>16} {'Mùa mưa / wet':>16}")
    for rec in summary.sort_values("unit").itertuples():
        click.echo(f"{rec.unit:<32} {rec.n_sources:>18} {_ls(rec.dry_ls):>16} {_ls(rec.wet_ls):>16}")
    outside = len(ws.per_source(sources)) - int(summary["n_sources"].sum())
    if outside:
        click.echo(f"{outside} nguồn nằm ngoài mọi đơn vị / {outside} source{'s' if outside != 1 else ''} outside every unit")
    for message in summary.attrs.get("messages", []):
        click.echo(message)

def _publish_options(command):
    """--publish, --public, --synthetic: the same for every command whose result can go on the web map."""
    command = click.option("--synthetic", is_flag=True,
                           help="Đầu vào là dữ liệu giả lập: bản đồ ghi SYNTHETIC / the inputs are made up: the map "
                                "says SYNTHETIC.")(command)
    command = click.option("--public", "public", is_flag=True,
                           help="Với --publish: cho mọi người xem, không chỉ người đăng nhập / with --publish: shown "
                                "to everyone, not only to logged-in users.")(command)
    return click.option("--publish", is_flag=True,
                        help="Đưa kết quả lên bản đồ web (kho người dùng, có nguồn gốc) / publish to the web map (user "
                             "store, with provenance); a newer run replaces it, the previous run stays in the history."
                        )(command)


@main.command()
@click.option("--dem", "dem_path", required=True, type=click.Path(dir_okay=False), help="DEM GeoTIFF (có CRS / with a CRS).")
@click.option("--extent", default=None, help="minx,miny,maxx,maxy (EPSG:9208); mặc định / default: thị xã Sa Pa (cũ), 088.")
@click.option("--springs", default=None, type=click.Path(dir_okay=False),
              help="Điểm mạch lộ/giếng (tệp, hoặc 'inventory' = danh mục đã lưu) / springs and wells for the ROC AUC "
                   "(a file, or 'inventory': the saved springs, wells and boreholes).")
@click.option("--lineaments", default=None, type=click.Path(dir_okay=False), help="Đường đứt gãy / lineament lines.")
@click.option("--factor", "factor_opts", multiple=True, metavar="NAME=FILE", help="Raster yếu tố / factor raster, e.g. lithology=litho.tif.")
@click.option("--lithology", default=None, type=click.Path(dir_okay=False, exists=True),
              help="Vùng thạch học/karst/địa chất thủy văn (mọi định dạng nhập được) / lithology, karst or "
                   "hydrogeological polygons (any importable format), rasterised as the lithology factor.")
@click.option("--lithology-field", default=None,
              help="Trường mã hoặc tên đá, theo bảng phân loại / the field with the code or rock name of the reclass table.")
@click.option("--ahp", default=None, type=click.Path(dir_okay=False), help="Ma trận AHP / AHP matrix YAML.")
@click.option("--reclass", default=None, type=click.Path(dir_okay=False), help="Bảng phân loại / reclass YAML.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Thư mục kết quả / output folder.")
@_publish_options
def groundwater(dem_path, extent, springs, lineaments, factor_opts, lithology, lithology_field, ahp, reclass,
                out_dir, publish, public, synthetic) -> None:
    """Tiềm năng nước dưới đất / groundwater potential (AHP, 5 classes, COG + GeoPackage)."""
    from geo_app.water.groundwater import AhpError, PotentialError, ReclassError, VectorFactor, groundwater_potential
    from geo_app.water.terrain import DemError

    bbox = _parse_extent(extent)
    factors = {}
    for item in factor_opts:
        name, sep, path = item.partition("=")
        if not sep:
            raise click.BadParameter(f"'{item}': cần NAME=FILE / need NAME=FILE", param_hint="--factor")
        factors[name.strip()] = path.strip()
    if (lithology is None) != (lithology_field is None):
        raise click.UsageError("--lithology và --lithology-field đi cùng nhau / --lithology needs --lithology-field")
    if lithology is not None:
        if "lithology" in factors:
            raise click.UsageError("--lithology và --factor lithology=... loại trừ nhau / give the lithology once")
        factors["lithology"] = VectorFactor(lithology, lithology_field)
    try:
        result = groundwater_potential(dem_path, out_dir=out_dir, extent=bbox, springs=springs, lineaments=lineaments,
                                       factors=factors, ahp=ahp, reclass=reclass)
    except (DemError, AhpError, ReclassError, PotentialError) as exc:
        raise UserFacingError(f"{exc}\nKết quả cũ được giữ nguyên. / Earlier outputs are unchanged.") from exc
    p = result.provenance
    click.echo(f"AHP: λmax = {p['ahp']['lambda_max']:.3f}, CI = {p['ahp']['CI']:.3f}, CR = {p['ahp']['CR']:.3f}")
    click.echo("Trọng số / weights: " + ", ".join(f"{k} {v:.3f}" for k, v in result.weights.items()))
    if result.dropped:
        click.echo("Bỏ yếu tố thiếu dữ liệu / dropped for lack of data: " + ", ".join(result.dropped))
    if result.auc is not None:
        click.echo(f"ROC AUC = {result.auc:.3f}")
    classes = p["classes"]
    click.echo("Ngưỡng lớp / class breaks (" + classes["method_used"] + "): "
               + ", ".join(f"{b:.4g}" for b in classes["breaks"])
               + "; số ô / cells: " + ", ".join(str(c) for c in classes["cells"]))
    for note in result.warnings:
        click.echo(f"Lưu ý / note: {note}")
    for name, path in result.files.items():
        click.echo(f"  {name:<24} {path}")
    if publish:
        _published(result, "potential", synthetic or _looks_synthetic(dem_path), public)


def _looks_synthetic(*paths) -> bool:
    """Inputs named as made up (``synthetic_dem.tif``, ``SYNTHETIC_wells.csv``) are labelled so on the map."""
    return any(p and "synthetic" in str(p).lower() for p in paths)


def _published(result, kind: str, synthetic: bool, public: bool) -> None:
    from geo_app.water.groundwater.publish import publish_level, publish_potential

    run = (publish_potential if kind == "potential" else publish_level)(result, synthetic=synthetic, public=public)
    who = "mọi người / everyone" if run.public else "người đăng nhập / logged-in users"
    click.echo(f"Đã công bố lên bản đồ web / published to the web map ({who}): run {run.run_id} ({run.run_at})"
               + (" SYNTHETIC" if run.synthetic else ""))
    if run.previous:
        click.echo(f"  thay lần chạy / replaces run {run.previous} (kept in the history)")


def _parse_extent(extent: str | None):
    try:
        bbox = tuple(float(v) for v in extent.split(",")) if extent else None
        if bbox is not None and len(bbox) != 4:
            raise ValueError
    except ValueError:
        raise click.BadParameter("cần 4 số minx,miny,maxx,maxy / need four numbers", param_hint="--extent") from None
    return bbox


@main.command("groundwater-level")
@click.option("--wells", default=None, type=click.Path(dir_okay=False, exists=True),
              help="Giếng/lỗ khoan có mực nước (mọi định dạng nhập được) / wells with a level (any importable format).")
@click.option("--from-inventory", is_flag=True,
              help="Dùng giếng, giếng khoan của danh mục đã lưu / use the wells and boreholes of the saved inventory.")
@click.option("--level-field", default=None, help="Trường mực nước / level field (default: found by name, e.g. level_m, muc_nuoc).")
@click.option("--quantity", default=None, type=click.Choice(["level", "depth"]),
              help="Trường là cao độ mực nước (m) hay độ sâu đến mực nước (m) / the field is a level or a depth to water.")
@click.option("--aquifers", default=None, type=click.Path(dir_okay=False, exists=True),
              help="Vùng tầng chứa nước (địa chất thủy văn) / the hydrogeological (aquifer) polygons.")
@click.option("--aquifer-field", default=None, help="Trường tên tầng chứa nước / the aquifer unit field.")
@click.option("--dem", "dem_path", default=None, type=click.Path(dir_okay=False, exists=True),
              help="DEM: lưới, và độ sâu = DEM − mực nước / DEM: the grid, and depth = DEM − level.")
@click.option("--extent", default=None, help="minx,miny,maxx,maxy (EPSG:9208); mặc định / default: thị xã Sa Pa (cũ), 088.")
@click.option("--resolution", default=30.0, show_default=True, type=float, help="Ô lưới (m) / cell size (m).")
@click.option("--power", default=2.0, show_default=True, type=float, help="Số mũ IDW / IDW power.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Thư mục kết quả / output folder.")
@_publish_options
def groundwater_level(wells, from_inventory, level_field, quantity, aquifers, aquifer_field, dem_path, extent,
                      resolution, power, out_dir, publish, public, synthetic) -> None:
    """Phân bố nước dưới đất / groundwater distribution: level surface (IDW) with its cross-validation, aquifer units."""
    from geo_app.water.groundwater import LevelError, groundwater_distribution
    from geo_app.water.terrain import DemError

    if bool(wells) == from_inventory:
        raise click.UsageError("Cho --wells FILE hoặc --from-inventory (một trong hai) / give --wells FILE or --from-inventory")
    bbox = _parse_extent(extent)
    try:
        result = groundwater_distribution("inventory" if from_inventory else wells, out_dir=out_dir, extent=bbox,
                                          aquifers=aquifers, aquifer_field=aquifer_field, level_field=level_field,
                                          quantity=quantity, dem=dem_path, resolution=resolution, power=power)
    except (LevelError, DemError) as exc:
        raise UserFacingError(f"{exc}\nKết quả cũ được giữ nguyên. / Earlier outputs are unchanged.") from exc
    cv, p = result.cv, result.provenance
    what = "mực nước / level (m a.s.l.)" if result.quantity == "level" else "độ sâu mực nước / depth to water (m)"
    click.echo(f"{what}, trường / field '{p['field']}', IDW p = {power:g}, {cv['n_wells']} giếng / wells")
    click.echo(f"Kiểm định chéo bỏ-một / leave-one-out CV: RMSE = {cv['rmse_m']:.2f} m, MAE = {cv['mae_m']:.2f} m, "
               f"sai số TB / mean error = {cv['mean_error_m']:+.2f} m, lớn nhất / max |error| = {cv['max_abs_error_m']:.2f} m")
    for rec in result.cv_table.itertuples():
        click.echo(f"  {rec.well_id:<14} quan trắc / observed {rec.observed_m:9.2f}  dự báo / predicted "
                   f"{rec.loo_predicted_m:9.2f}  sai số / error {rec.loo_error_m:+8.2f}")
    if result.aquifers is not None:
        for rec in result.aquifers.itertuples():
            click.echo(f"  tầng / unit {rec.unit:<20} {rec.area_km2:9.3f} km², {rec.n_wells} giếng / wells")
    for note in p["notes"]:
        click.echo(f"  note: {note}")
    for name, path in result.files.items():
        click.echo(f"  {name:<32} {path}")
    if publish:
        _published(result, "level", synthetic or _looks_synthetic(wells, dem_path), public)


@main.command("export-map")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Tệp HTML / the HTML file to write.")
@click.option("--layers", "layer_ids", default=None,
              help="Các lớp, cách nhau bởi dấu phẩy / layers, comma-separated (default: communes,former-districts,"
                   "rivers,peaks; the province and the confirmed production areas are always drawn).")
@click.option("--lang", default="vi", show_default=True, type=click.Choice(["vi", "en"]), help="Ngôn ngữ / language.")
def export_map_cmd(out_path: str, layer_ids: str | None, lang: str) -> None:
    """Bản đồ ngoại tuyến một tệp HTML / one self-contained offline HTML map (no server, no internet)."""
    from geo_app.serve.maps.export import DEFAULT_LAYERS, export_map

    chosen = [i.strip() for i in layer_ids.split(",") if i.strip()] if layer_ids else DEFAULT_LAYERS
    result = export_map(out_path, chosen, lang=lang)
    click.echo(f"Đã ghi / wrote {result.path} ({result.bytes / 1e6:.2f} MB): {', '.join(result.layers)}")
    if result.confirmed_areas:
        click.echo(f"Vùng sản xuất đã xác nhận / confirmed production areas: {result.confirmed_areas}")
    else:
        click.echo("Chưa có vùng sản xuất nào được xác nhận / no production area is confirmed yet (said on the map).")


if __name__ == "__main__":  # pragma: no cover
    main()
