"""The files of a potential run: two COGs, the GeoPackage of class polygons and areas, report.json."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from geo_app import STORE_CRS
from geo_app.io.cog import write_cog
from geo_app.water.groundwater.classes import CLASS_NAMES
from geo_app.water.groundwater.polygons import _class_polygon_wkb

if TYPE_CHECKING:
    from geo_app.water.groundwater.potential import PotentialResult

# Fixed so that GeoPackage metadata timestamps do not change between identical runs.
_FIXED_DATE = "2000-01-01T00:00:00.000Z"


def write_outputs(result: PotentialResult, out_dir: Path) -> dict:
    """Write the COGs, the GeoPackage and report.json; replace earlier files only when all are ready."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".groundwater-", dir=out_dir.parent))
    try:
        tags = {"provenance": json.dumps(result.provenance, sort_keys=True, ensure_ascii=False)}
        write_cog(tmp / "potential_index.tif", result.index, result.transform, np.float32, np.nan, tags)
        write_cog(tmp / "potential_class.tif", result.classes, result.transform, np.uint8, 0, tags)
        _write_gpkg(tmp / "potential_classes.gpkg", result)
        (tmp / "report.json").write_text(json.dumps(result.provenance, indent=1, sort_keys=True, ensure_ascii=False),
                                         encoding="utf-8")
        out_dir.mkdir(parents=True, exist_ok=True)
        files = {}
        for name in ("potential_index.tif", "potential_class.tif", "potential_classes.gpkg", "report.json"):
            os.replace(tmp / name, out_dir / name)
            files[name] = out_dir / name
        return files
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_gpkg(path: Path, result: PotentialResult) -> None:
    import pandas as pd
    import pyogrio
    from pyogrio.raw import write as write_raw

    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _FIXED_DATE})
    cell_area = abs(result.transform.a * result.transform.e)
    written = False
    # one feature per class present, written as soon as it is made: the WKB of one class at a time
    for k in range(1, len(CLASS_NAMES) + 1):
        wkb = _class_polygon_wkb(result.classes, k, result.transform)
        if wkb is None:
            continue
        geometry = np.empty(1, dtype=object)
        geometry[0] = wkb  # pyogrio takes the bytearray as it is: no copy of the WKB
        area_ha = round(float(np.count_nonzero(result.classes == k) * cell_area / 1e4), 2)
        write_raw(path, geometry, [np.array([k], dtype=np.int64),
                                   np.array([f"{CLASS_NAMES[k - 1][0]} / {CLASS_NAMES[k - 1][1]}"], dtype=object),
                                   np.array([area_ha], dtype=np.float64)],
                  ["class", "class_name", "area_ha"], layer="potential_classes", driver="GPKG",
                  geometry_type="MultiPolygon", crs=STORE_CRS, append=written)
        del geometry, wkb
        written = True
    prov = pd.DataFrame(
        [(k, v if isinstance(v, str) else json.dumps(v, sort_keys=True, ensure_ascii=False))
         for k, v in sorted(result.provenance.items())], columns=["key", "value"])
    pyogrio.write_dataframe(prov, path, layer="provenance", driver="GPKG", append=False)
    if result.commune_areas is not None:
        pyogrio.write_dataframe(pd.DataFrame(result.commune_areas), path, layer="commune_class_areas", driver="GPKG")
