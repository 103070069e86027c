"""Run by Debian's /usr/bin/python3 (python3-qgis), in a subprocess: headless QGIS segfaults when an
OAPIF layer fails to open, so the test reads this script's verdict instead of importing QGIS.

    python3 tests/qgis_read.py SPEC.json OUT.json

SPEC: {"url": ".../ogcapi", "reads": [{"layer", "crs", "bbox", "field", "value"}]}. OUT: per read the
geometries as WKT (or an error)."""
import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import QgsApplication, QgsFeatureRequest, QgsRectangle, QgsVectorLayer  # noqa: E402


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
        if read["bbox"]:
            request.setFilterRect(QgsRectangle(*read["bbox"]))
            request.setFlags(QgsFeatureRequest.ExactIntersect)
        wkts, names = [], []
        for feature in layer.getFeatures(request):
            geom = feature.geometry()
            wkts.append(None if geom.isNull() else geom.asWkt(10))
            names.append(str(feature[read["field"]]))
        results.append({"wkt": wkts, "values": names, "crs": layer.crs().authid()})
    json.dump(results, open(out_path, "w"))
    app.exitQgis()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
