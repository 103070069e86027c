"""Terrain: DEM reading/fetching and hydrological terrain factors on the EPSG:9208 grid.

::

    from geo_app import terrain
    dem = terrain.read_dem("dem.tif", extent=(minx, miny, maxx, maxy))     # or terrain.fetch_glo30(extent)
    factors = terrain.TerrainAnalysis(stream_threshold_m2=1e5).run(dem, lineaments=lines_gdf)
    factors.slope, factors.twi, factors.drainage_density, factors.lineament_density

Memory model: see ``geo_app.water.terrain.algorithms``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from geo_app.water.terrain.algorithms import (
    D8_CODES,
    Streams,
    drainage_density,
    fill_depressions,
    flow_accumulation,
    flow_direction_d8,
    line_density,
    rasterize_line_length,
    slope,
    stream_length,
    stream_network,
    twi,
)
from geo_app.water.terrain.blocks import DEFAULT_BLOCK
from geo_app.water.terrain.dem import Dem, DemError, fill_holes, read_dem, sha256_file, target_grid
from geo_app.water.terrain.fetch import fetch_glo30, tile_name, tile_url

__all__ = [
    "D8_CODES", "DEFAULT_BLOCK", "Dem", "DemError", "Streams", "TerrainAnalysis", "TerrainFactors",
    "drainage_density", "fetch_glo30", "fill_depressions", "fill_holes", "flow_accumulation", "flow_direction_d8",
    "lineament_density", "line_density", "rasterize_line_length", "read_dem", "sha256_file", "slope",
    "stream_length", "stream_network", "target_grid", "tile_name", "tile_url", "twi",
]


def lineament_density(lines, dem: Dem, radius_m: float = 1000.0) -> np.ndarray:
    """Lineament density (km/km²) on the DEM grid from user lines (GeoDataFrame or geometries).

    A GeoDataFrame is reprojected to the DEM's CRS; bare geometries are taken to be in it already.
    """
    return line_density(_lineament_length(lines, dem), dem.cellsize, radius_m, dem.valid)


def _lineament_length(lines, dem: Dem):
    """Line length per cell on the DEM grid; a GeoDataFrame is reprojected to the DEM's CRS, bare
    geometries are taken to be in it already."""
    geoms = lines
    if hasattr(lines, "to_crs"):
        if lines.crs is None:
            raise DemError("Lớp đường đứt gãy không có CRS / the lineament layer has no CRS")
        geoms = lines.to_crs(dem.crs).geometry.values
    return rasterize_line_length(geoms, dem.transform, dem.shape)


@dataclass
class TerrainFactors:
    filled: np.ndarray
    d8: np.ndarray
    accumulation: np.ndarray
    slope: np.ndarray
    twi: np.ndarray
    streams: np.ndarray
    drainage_density: np.ndarray
    lineament_density: np.ndarray | None = None
    notes: list = field(default_factory=list)


@dataclass(frozen=True)
class TerrainAnalysis:
    """The terrain steps with their parameters checked once, in the spirit of TiTiler's DEM algorithms."""

    stream_threshold_m2: float = 100_000.0  # upstream area that starts a channel (0.1 km²)
    density_radius_m: float = 1000.0  # half-side of the moving window for densities
    min_tan_slope: float = 0.001  # TWI clamp on flats

    def __post_init__(self):
        for name in ("stream_threshold_m2", "density_radius_m", "min_tan_slope"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value > 0):
                raise ValueError(f"Tham số {name} phải > 0 / {name} must be > 0 (got {value!r})")

    def notes(self) -> list:
        return [
            f"lấp trũng (priority-flood+ε); hướng dòng D8; dòng chảy nơi diện tích lưu vực ≥ "
            f"{self.stream_threshold_m2:g} m² / depressions filled (priority-flood+ε); D8; streams where upstream area "
            f"≥ {self.stream_threshold_m2:g} m²",
            f"mật độ trong cửa sổ vuông {2 * self.density_radius_m:g} m; TWI với tan β ≥ {self.min_tan_slope:g} / "
            f"densities in a {2 * self.density_radius_m:g} m square window; TWI with tan β ≥ {self.min_tan_slope:g}",
        ]

    def run_to_files(self, dem: Dem, folder, lineaments=None, block: int = DEFAULT_BLOCK,
                     consume_dem: bool = False) -> tuple[dict, list]:
        """The factor rasters (slope, TWI, drainage density, lineament density) as tiled float32
        GeoTIFFs in ``folder``: ``({name: path}, notes)``, same values as :meth:`run`.

        Slope, TWI and the densities run block by block; only fill, D8 and accumulation hold the
        grid, one array at a time where possible: the filled DEM (float32, in place on
        ``dem.array`` when ``consume_dem``, which leaves the Dem holding the filled surface), D8
        (uint8) once the fill is done, the accumulation (uint32) once D8 is done. Peak while they
        run: the DEM 4 B + the valid mask 1 B + [a filled copy 4 B unless ``consume_dem``] +
        max(fill: 1 B flags + front, accumulation: D8 1 B + 4 B + in-degree 1 B) per cell.
        """
        from pathlib import Path

        folder = Path(folder)
        cell = dem.cellsize
        files = {"slope": slope(dem.array, cell, out=folder / "slope.tif", block=block)}
        valid = dem.valid
        filled = fill_depressions(dem.array, epsilon=True, inplace=consume_dem)
        d8 = flow_direction_d8(filled, cell)
        del filled
        acc = flow_accumulation(d8, valid)
        files["twi"] = twi(acc, files["slope"], cell, self.min_tan_slope, out=folder / "twi.tif", block=block)
        files["drainage_density"] = drainage_density(
            Streams(acc, cell, self.stream_threshold_m2), d8, cell, self.density_radius_m, valid,
            out=folder / "drainage_density.tif", block=block)
        del acc, d8
        if lineaments is not None:
            length = _lineament_length(lineaments, dem)
            files["lineament_density"] = line_density(length, cell, self.density_radius_m, valid,
                                                      out=folder / "lineament_density.tif", block=block)
            del length
        return files, self.notes()

    def run(self, dem: Dem, lineaments=None) -> TerrainFactors:
        cell = dem.cellsize
        filled = fill_depressions(dem.array, epsilon=True)
        d8 = flow_direction_d8(filled, cell)
        valid = dem.valid
        acc = flow_accumulation(d8, valid)
        slp = slope(dem.array, cell)
        wet = twi(acc, slp, cell, self.min_tan_slope)
        streams = stream_network(acc, cell, self.stream_threshold_m2)
        dd = drainage_density(streams, d8, cell, self.density_radius_m, valid)
        ld = lineament_density(lineaments, dem, self.density_radius_m) if lineaments is not None else None
        return TerrainFactors(filled, d8, acc, slp, wet, streams, dd, ld, self.notes())
