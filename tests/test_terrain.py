"""Terrain algorithms on analytic surfaces, and DEM reading with bad input (data made here)."""
from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine

from geo_app.water import terrain
from geo_app.water.terrain import DemError

CELL = 30.0
# A grid origin near Sa Pa in EPSG:9208 (multiples of 30 m).
ORIGIN = Affine(CELL, 0, 399990.0, 0, -CELL, 2475000.0)


def _plane(rows=40, cols=50, gx=0.3, gy=-0.4):
    r, c = np.mgrid[0:rows, 0:cols]
    # Elevation rises gx m per m eastwards and gy m per m southwards.
    return (1500.0 + gx * CELL * c + gy * CELL * r).astype(np.float32)


def test_slope_of_a_tilted_plane_is_exact_everywhere_including_edges():
    dem = _plane()
    expected = np.degrees(np.arctan(np.hypot(0.3, 0.4)))
    got = terrain.slope(dem, CELL)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-3)


def test_slope_with_rectangular_cells_and_a_hole():
    dem = _plane(gx=0.1, gy=0.0)
    dem[10:13, 10:13] = np.nan
    got = terrain.slope(dem, (CELL, CELL))
    assert np.isnan(got[11, 11])
    np.testing.assert_allclose(got[~np.isnan(dem)], np.degrees(np.arctan(0.1)), atol=1e-3)


def test_a_pit_is_filled_to_its_spill_level_and_nothing_else_changes():
    dem = _plane()
    dem[20, 20] -= 50.0
    filled = terrain.fill_depressions(dem)
    spill = min(dem[19:22, 19:22].ravel()[[0, 1, 2, 3, 5, 6, 7, 8]])
    assert filled[20, 20] == pytest.approx(spill)
    other = np.ones(dem.shape, bool)
    other[20, 20] = False
    np.testing.assert_array_equal(filled[other], dem[other])


def _bowl(n=41):
    r, c = np.mgrid[0:n, 0:n]
    z = (((r - n // 2) ** 2 + (c - n // 2) ** 2) * 0.5 + 1000.0).astype(np.float32)
    z[0, :] = z[-1, :] = z[:, 0] = z[:, -1] = 2000.0
    z[0, n // 2] = 900.0  # the only outlet, on the rim
    return z


def test_all_the_flow_of_a_bowl_reaches_its_single_outlet():
    z = _bowl()
    filled = terrain.fill_depressions(z, epsilon=True)
    d8 = terrain.flow_direction_d8(filled, CELL)
    acc = terrain.flow_accumulation(d8)
    assert acc.dtype == np.uint32
    assert acc[0, z.shape[1] // 2] == z.size
    # every cell but the outlet has a direction
    assert (d8 == 0).sum() == 1


def test_a_cone_drains_radially_to_its_rim_and_every_cell_is_counted_once():
    n = 31
    r, c = np.mgrid[0:n, 0:n]
    z = (2000.0 - 10.0 * np.hypot(r - 15, c - 15)).astype(np.float32)
    filled = terrain.fill_depressions(z, epsilon=True)
    np.testing.assert_array_equal(filled, z)  # a cone has no depression
    d8 = terrain.flow_direction_d8(filled, CELL)
    acc = terrain.flow_accumulation(d8)
    outlets = d8 == 0
    assert outlets[15, 15] == np.False_
    # only rim cells are outlets, and together they receive the whole cone
    assert not outlets[1:-1, 1:-1].any()
    assert acc[outlets].sum() == n * n
    # east of the peak, flow goes east (code 1)
    assert (d8[15, 16:-1] == 1).all()


def test_flat_areas_drain_after_epsilon_fill():
    z = np.full((20, 20), 100.0, dtype=np.float32)
    z[0, 5] = 50.0
    filled = terrain.fill_depressions(z, epsilon=True)
    d8 = terrain.flow_direction_d8(filled, CELL)
    acc = terrain.flow_accumulation(d8)
    # rim cells lower than nothing can be outlets; the interior must all drain somewhere
    assert not (d8[1:-1, 1:-1] == 0).any()
    # every cell of the flat reaches an outlet (the border cells, at 100 m, are outlets as much as the
    # low one: the ε-fill is the lowest path level, so the flat drains to its nearest rim cell)
    assert acc[d8 == 0].sum() == z.size
    assert acc.max() > 20


def test_nodata_cells_act_as_outlets_and_stay_nodata():
    z = _bowl()
    z[20, 20] = np.nan  # a hole in the bottom of the bowl
    filled = terrain.fill_depressions(z, epsilon=True)
    assert np.isnan(filled[20, 20])
    acc = terrain.flow_accumulation(terrain.flow_direction_d8(filled, CELL), ~np.isnan(z))
    assert acc[20, 20] == 0
    assert acc.sum() >= z.size - 1


def test_twi_streams_and_drainage_density():
    z = _bowl()
    filled = terrain.fill_depressions(z, epsilon=True)
    d8 = terrain.flow_direction_d8(filled, CELL)
    acc = terrain.flow_accumulation(d8)
    slp = terrain.slope(z, CELL)
    wet = terrain.twi(acc, slp, CELL)
    assert wet.dtype == np.float32 and np.isfinite(wet).all()
    # wetter where more area drains in, on the same slope
    assert wet[0, 20] > wet[5, 5]
    streams = terrain.stream_network(acc, CELL, threshold_m2=20 * CELL * CELL)
    assert streams[0, 20] == 1 and streams.sum() < z.size / 2
    dd = terrain.drainage_density(streams, d8, CELL, radius_m=300)
    assert dd.dtype == np.float32 and np.nanmax(dd) > 0


def test_lineament_density_of_one_straight_line():
    from shapely.geometry import LineString

    shape = (40, 40)
    dem = terrain.Dem(np.zeros(shape, np.float32), ORIGIN, rasterio.crs.CRS.from_epsg(9208))
    x0, y0 = ORIGIN.c, ORIGIN.f
    line = LineString([(x0, y0 - 600 - 15), (x0 + 1200, y0 - 600 - 15)])  # 1.2 km along row 20
    length = terrain.rasterize_line_length([line], ORIGIN, shape)
    assert length.sum() == pytest.approx(1200, rel=1e-5)
    assert length[20].sum() == pytest.approx(1200, rel=1e-5)
    dens = terrain.lineament_density([line], dem, radius_m=150)  # an 11×11-cell (330 m) window
    # in the middle of the line: 330 m of line in 0.33 km × 0.33 km → 1/0.33 km/km²
    assert dens[20, 20] == pytest.approx(0.33 / 0.33 ** 2, rel=1e-3)


def test_accumulation_refuses_a_cycle():
    d8 = np.zeros((3, 3), np.uint8)
    d8[1, 0] = 1   # → east
    d8[1, 1] = 16  # → west
    with pytest.raises(ValueError, match="vòng lặp|cycle"):
        terrain.flow_accumulation(d8)


# ----------------------------------------------------------------------------------------- DEM files

def _write(path, array, crs="EPSG:9208", transform=ORIGIN, nodata=-9999.0):
    profile = dict(driver="GTiff", height=array.shape[0], width=array.shape[1], count=1, dtype="float32",
                   transform=transform, nodata=nodata)
    if crs:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.where(np.isnan(array), nodata, array).astype(np.float32), 1)
    return path


def test_read_dem_reprojects_from_lon_lat_to_the_store_grid(tmp_path):
    # 0.05° square round Sa Pa in geographic WGS 84, 0.0005° cells
    tr = Affine(0.0005, 0, 103.82, 0, -0.0005, 22.36)
    r, c = np.mgrid[0:100, 0:100]
    path = _write(tmp_path / "geo.tif", (1500 + r + c).astype(np.float32), crs="EPSG:4326", transform=tr)
    dem = terrain.read_dem(path)
    assert dem.crs.to_epsg() == 9208 and dem.cellsize == (30.0, 30.0)
    assert dem.transform.c % 30 == 0 and dem.transform.f % 30 == 0
    # the check value of VN-2000 / TM-3 104°45': lon 103.8437, lat 22.3364 → E ≈ 406 447, N ≈ 2 471 192
    left, bottom, right, top = dem.bounds
    assert left <= 406447 <= right and bottom <= 2471192 <= top
    assert len(dem.sources[path.name]) == 64


def test_dem_without_crs_is_refused(tmp_path):
    path = _write(tmp_path / "nocrs.tif", _plane(), crs=None)
    with pytest.raises(DemError, match="không có hệ tọa độ.*no CRS"):
        terrain.read_dem(path)


def test_dem_with_a_wrong_crs_is_refused(tmp_path):
    # VN-2000 metres labelled as WGS 84 degrees
    path = _write(tmp_path / "wrong.tif", _plane(), crs="EPSG:4326")
    with pytest.raises(DemError, match="CRS is wrong"):
        terrain.read_dem(path)
    # metres labelled as another projected CRS land far from Vietnam
    path = _write(tmp_path / "wrong2.tif", _plane(), crs="EPSG:32632")
    with pytest.raises(DemError, match="outside Vietnam"):
        terrain.read_dem(path)


def test_extent_outside_the_dem_is_refused(tmp_path):
    path = _write(tmp_path / "dem.tif", _plane())
    with pytest.raises(DemError, match="ngoài DEM.*outside the DEM"):
        terrain.read_dem(path, extent=(500000, 2400000, 501000, 2401000))


def test_small_nodata_holes_are_filled_and_said_large_ones_refused(tmp_path):
    dem = _plane(60, 60)
    dem[30:33, 30:33] = np.nan
    d = terrain.read_dem(_write(tmp_path / "holes.tif", dem))
    filled = terrain.fill_holes(d)
    assert not np.isnan(filled.array).any()
    assert any("filled 9 nodata cells" in n for n in filled.notes)
    assert filled.array[31, 31] == pytest.approx(_plane(60, 60)[31, 31], abs=10)
    big = _plane(60, 60)
    big[10:40, 10:40] = np.nan
    d = terrain.read_dem(_write(tmp_path / "big.tif", big))
    with pytest.raises(DemError, match=r"900 ô không có dữ liệu .*nodata cells"):
        terrain.fill_holes(d)


def test_terrain_analysis_validates_parameters():
    with pytest.raises(ValueError, match="stream_threshold_m2"):
        terrain.TerrainAnalysis(stream_threshold_m2=-1)


def test_makefile_has_the_terrain_benchmark_target():
    from pathlib import Path

    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text(encoding="utf-8")
    assert "\nbench-terrain: install\n\t$(BIN)/python bench/bench_terrain.py $(BENCH_ARGS)\n" in makefile


def test_blockwise_local_operations_equal_whole_grid(tmp_path):
    from geo_app.water.terrain import blocks

    rng = np.random.default_rng(11)
    z = (rng.normal(0, 4, (300, 200)).cumsum(axis=0) + 800).astype(np.float32)
    z[40:55, 90:120] = np.nan
    valid = ~np.isnan(z)
    cell = (30.0, 25.0)
    slp = terrain.slope(z, cell)
    assert np.array_equal(terrain.slope(z, cell, block=64), slp, equal_nan=True)
    filled = terrain.fill_depressions(z, epsilon=True)
    d8 = terrain.flow_direction_d8(filled, cell)
    acc = terrain.flow_accumulation(d8, valid)
    path = terrain.slope(z, cell, out=tmp_path / "slope.tif", block=64)
    wet = terrain.twi(acc, path, cell, block=64)
    assert np.array_equal(wet, terrain.twi(acc, slp, cell), equal_nan=True)
    dd = terrain.drainage_density(terrain.stream_network(acc, cell, 50_000), d8, cell, 400, valid)
    got = blocks.read_all(terrain.drainage_density(terrain.Streams(acc, cell, 50_000), d8, cell, 400, valid,
                                                   out=tmp_path / "dd.tif", block=64))
    np.testing.assert_allclose(got, dd, rtol=1e-6, equal_nan=True)
    # fill in place: the same surface, no copy
    own = z.copy()
    assert terrain.fill_depressions(own, epsilon=True, inplace=True) is own
    assert np.array_equal(own, filled, equal_nan=True)


@pytest.mark.parametrize("epsilon", [False, True])
def test_fill_is_the_lowest_path_level_of_a_plain_dijkstra(epsilon):
    from support.terrain_reference import lowest_path_fill, pitted_dem

    from geo_app.water.terrain import algorithms

    z = pitted_dem(70, 90)
    got = terrain.fill_depressions(z, epsilon=epsilon)
    assert np.array_equal(got, lowest_path_fill(z, epsilon), equal_nan=True)
    assert (got[~np.isnan(z)] >= z[~np.isnan(z)]).all()
    # the slope trace and its cap are shortcuts: off, or cut short, the values are the same
    for cap in (0, 3):
        own = z.copy()
        algorithms._fill_kernel(own, epsilon, np.zeros(own.size, np.uint8), cap)
        assert np.array_equal(own, got, equal_nan=True)


def test_d8_blockwise_equals_whole_grid_and_accumulation_counts_every_cell(tmp_path):
    from support.terrain_reference import pitted_dem

    z = pitted_dem(130, 170)
    filled = terrain.fill_depressions(z, epsilon=True)
    d8 = terrain.flow_direction_d8(filled, CELL)
    assert np.array_equal(terrain.flow_direction_d8(filled, CELL, block=32), d8)
    valid = ~np.isnan(z)
    acc = terrain.flow_accumulation(d8, valid)
    # ε-filled: only the border and the rim of the hole are outlets, and all flow reaches them
    assert acc[(d8 == 0) & valid].sum() == valid.sum()


def _write_grid(path, array, dtype="float32", nodata=None):
    with rasterio.open(path, "w", driver="GTiff", height=array.shape[0], width=array.shape[1], count=1, dtype=dtype,
                       crs="EPSG:9208", transform=ORIGIN, nodata=nodata) as dst:
        dst.write(array.astype(dtype), 1)
    return path


@pytest.mark.parametrize("tile", [7, 16, 45])
def test_tiled_fill_is_bit_identical_to_the_single_pass(tmp_path, tile):
    from support.terrain_reference import pitted_dem

    # SYNTHETIC: depressions wider than the tiles, flats, a nodata hole, a ragged last tile
    z = pitted_dem(101, 133)
    src = _write_grid(tmp_path / "dem.tif", np.where(np.isnan(z), -9999, z), nodata=-9999)
    out = terrain.fill_depressions(src, out=tmp_path / "filled.tif", tile=tile)
    with rasterio.open(out) as ds:
        got = ds.read(1)
    single = terrain.fill_depressions(z)
    assert (single != z)[~np.isnan(z)].sum() > 500  # the test DEM really has depressions to fill
    assert np.array_equal(got, single, equal_nan=True)
    assert np.array_equal(got.view(np.uint32), single.view(np.uint32))  # bit for bit


@pytest.mark.parametrize("tile", [5, 16, 64])
def test_tiled_accumulation_equals_the_single_pass(tmp_path, tile):
    from support.terrain_reference import pitted_dem

    z = pitted_dem(120, 150, seed=3)
    valid = ~np.isnan(z)
    d8 = terrain.flow_direction_d8(terrain.fill_depressions(z, epsilon=True), CELL)
    single = terrain.flow_accumulation(d8, valid)
    assert single.max() > 2000  # long flow paths crossing many tiles
    d8_path = _write_grid(tmp_path / "d8.tif", d8, "uint8")
    dem_path = _write_grid(tmp_path / "dem.tif", z)
    out = terrain.flow_accumulation(d8_path, dem_path, out=tmp_path / "acc.tif", tile=tile)
    with rasterio.open(out) as ds:
        assert np.array_equal(ds.read(1), single)
    # without a validity raster every cell counts, as in the single pass without a mask
    out = terrain.flow_accumulation(d8_path, None, out=tmp_path / "acc_all.tif", tile=tile)
    with rasterio.open(out) as ds:
        assert np.array_equal(ds.read(1), terrain.flow_accumulation(d8))
