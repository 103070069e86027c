"""Karst water sources: the inventory, its QA, protection zones, water security.

    from geo_app import water_sources as ws
    inv = ws.import_inventory("nguon_nuoc.xlsx")       # same CRS / encoding detection as any import
    report = ws.qa(inv)                                # outside province, duplicates < 10 m, bad values...
    zones = ws.protection_zones(inv.frame)             # rules: layers/water/protection_zones.yaml
    ws.save(inv.frame, zones)                          # → GEO_APP_HOME/user_layers.gpkg (atomic)
    units = ws.import_units("karst.zip", "ten_don_vi")  # CLI: geo-app water-sources karst FILE --field NAME
    ws.summarise_by(inv.frame, units, "unit")
    balance = ws.water_balance(inv.frame, "dan_so.csv")  # status "thiếu / short", status_code "short"

Impossible values (negative discharge, kept with --accept-errors) are left out of every sum and
counted; records without an id keep a generated key "file#row" (``source_keys``).
"""
from __future__ import annotations

from geo_app import layers
from geo_app.water.sources.inventory import (
    FIELD_LABELS,
    KINDS,
    REQUIRED,
    SCHEMA,
    Inventory,
    QAReport,
    field_label,
    import_inventory,
    impossible,
    qa,
    source_keys,
    to_schema,
)
from geo_app.water.sources.security import (
    STATUS_LABELS,
    Balance,
    check_norm,
    data_notes,
    import_units,
    per_source,
    read_population,
    summarise_by,
    water_balance,
)
from geo_app.water.sources.user_store import user_store_path, write_user_layers
from geo_app.water.sources.zones import load_rules, protection_zones

INVENTORY_LAYER = "water-sources"
ZONES_LAYER = "water-protection-zones"


def save(sources, zones=None, **other_layers):
    """Write the inventory (and zones, karst units, balance...) to the user store, atomically."""
    layers = {INVENTORY_LAYER: sources}
    if zones is not None:
        layers[ZONES_LAYER] = zones
    layers.update({k.replace("_", "-"): v for k, v in other_layers.items()})
    return write_user_layers(layers)


def load():
    """The saved inventory (``geo_app.layers.read('water-sources')``)."""

    return layers.read(INVENTORY_LAYER)


__all__ = [
    "KINDS", "REQUIRED", "SCHEMA", "FIELD_LABELS", "Inventory", "QAReport", "import_inventory", "qa", "to_schema",
    "field_label", "impossible", "source_keys",
    "Balance", "STATUS_LABELS", "check_norm", "data_notes", "import_units", "per_source", "read_population",
    "summarise_by", "water_balance",
    "user_store_path", "write_user_layers", "load_rules", "protection_zones", "save", "load",
    "INVENTORY_LAYER", "ZONES_LAYER",
]
