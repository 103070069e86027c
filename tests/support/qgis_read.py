"""Run by Debian's /usr/bin/python3 (python3-qgis), in a subprocess: headless QGIS segfaults when an
OAPIF layer fails to open, so the test reads this script's verdict instead of importing QGIS.

    python3 tests/support/qgis_read.py SPEC.json OUT.json

SPEC: {"url": ".../ogcapi", "reads": [{"layer", "crs", "bbox", "field", "value"}]}. OUT: per read the
geometries as WKT (or an error)."""
import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsFeatureRequest,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
)


def main(spec_path, out_path):
    spec = json.load(open(spec_path))
    app = QgsApplication([], False)
    app.initQgis()
    results = []
    for read in spec["reads"]:
        srs = "OGC:CRS84" if read["crs"] == "CRS84" else read["crs"]
        uri = f"url='{spec['url']}' typename='{read['layer']}' srsname='{srs}' pagingEnabled='true'"
        layer = QgsVectorLayer(uri, read["layer"], "OAPIF")
        if not layer.isValid():
            results.append({"error": f"layer not valid: {uri}"})
            continue
        value = str(read["value"]).replace("'", "''")
        layer.setSubsetString(f"\"{read['field']}\" = '{value}'")
        request = QgsFeatureRequest()
        rect = QgsRectangle(*read["bbox"]) if read["bbox"] else None
        if layer.crs().authid() != read["crs"] and read["crs"] != "CRS84":
            # QGIS 3.22's OAPIF provider has no Part 2 (it ignores srsname and reads CRS84): let QGIS
            # reproject on the client, as a QGIS project in VN-2000 does
            target = QgsCoordinateReferenceSystem(read["crs"])
            context = QgsProject.instance().transformContext()
            request.setDestinationCrs(target, context)  # the filter rectangle is then in the target CRS
        if rect is not None:
            request.setFilterRect(rect)
            request.setFlags(QgsFeatureRequest.ExactIntersect)
        wkts, names = [], []
        for feature in layer.getFeatures(request):
            geom = feature.geometry()
            wkts.append(None if geom.isNull() else geom.asWkt(10))
            names.append(str(feature[read["field"]]))
        results.append({"wkt": wkts, "values": names, "layer_crs": layer.crs().authid()})
    with open(out_path, "w") as fh:
        json.dump(results, fh)
    # QGIS 3.22 also segfaults in its own teardown (exitQgis with OAPIF layers read): the verdict is
    # written, so leave without it
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
