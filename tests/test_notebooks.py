"""Execute every notebook in notebooks/ (nbclient); a cell error fails the test with the cell shown.

Beyond running, each notebook must show figures, and those that fall back to made-up data (no real
DEM or inventory is configured here) must say so in their output.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbclient
import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
#: Notebooks whose data is synthetic when no real data is configured (they say so plainly).
SYNTHETIC_FALLBACK = {"02_karst_water_sources", "03_sapa_groundwater_potential"}


def test_the_three_notebooks_exist():
    assert {p.stem for p in NOTEBOOKS} >= {"01_production_areas"} | SYNTHETIC_FALLBACK


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, store_home, tmp_path, monkeypatch):
    # the kernel's own inline backend, as in Jupyter: figures become image/png outputs
    monkeypatch.delenv("MPLBACKEND", raising=False)
    for variable in ("GEO_APP_WATER_SOURCES", "GEO_APP_KARST_UNITS", "GEO_APP_POPULATION", "GEO_APP_DEM", "GEO_APP_SPRINGS"):
        monkeypatch.delenv(variable, raising=False)
    nb = nbformat.read(path, as_version=4)
    # The kernel inherits the environment, so it reads the session's layer store (GEO_APP_HOME).
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()

    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in outputs), f"{path.name} shows no figure"
    text = json.dumps(outputs, ensure_ascii=False)
    if path.stem in SYNTHETIC_FALLBACK:
        assert "SYNTHETIC" in text.upper(), f"{path.name} uses made-up data without saying so"
    # an interactive map made by geo_app's folium function, drawable offline, saying SYNTHETIC where it is
    maps = [o["data"]["text/html"] for o in outputs if "geo-legend" in str(o.get("data", {}).get("text/html", ""))]
    assert maps, f"{path.name} shows no interactive map"
    for page in maps:
        page = "".join(page) if isinstance(page, list) else page
        assert "Leaflet 1.9" in page and "cdn.jsdelivr" not in page
        if path.stem in SYNTHETIC_FALLBACK:
            assert "SYNTHETIC —" in page, f"{path.name}: a map of made-up data does not say so"
    if path.stem == "01_production_areas":
        assert "13,262 km²" in text and "needs the boundary of former commune" in text
