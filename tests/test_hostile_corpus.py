"""The hostile corpus (tests/hostile/generate.py) through every way in: ``read_features``, the
``geo-app import`` command and the web upload. Each case must end as it says — read (area within
0.1 %, centroid within 5 m of what was written), repaired and said so, or refused with one message
naming the user's file and the problem — and a refusal must leave nothing stored. Built from the real
2025 commune polygons of the store (the mirror's sources) and small SYNTHETIC files.

Each runner goes through every case in one test and lists all the cases that went wrong, so one
broken case does not hide another."""
from __future__ import annotations

import hashlib
import io
import json
import resource
import time
from pathlib import Path

import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from hostile.generate import OK, REFUSED, REPAIRED, Case, generate
from support.web import csrf_token, isolated_home, login

from geo_app.cli import main
from geo_app.importers import FORMATS, ImportFailed, read_features

#: Each case within these (the bounds set for the importer; the cases take well under a second each).
CASE_SECONDS = 10.0
CASE_MEMORY_MB = 500
PRODUCT = "rau-an-toan-bao-thang"
#: The cases that are read (not refused) sent through the web too: each is saved as a draft, whose
#: validation takes seconds, so one per way in (separate shapefile parts, each choice, a repair)
#: rather than all. Every refused case goes through the web.
WEB_READS = {"shp_parts", "shp_zip_no_prj_6deg", "gpkg_layer_chosen", "explicit_crs", "points_as_boundary",
             "geojson_unclosed_ring", "outside_clipped"}


@pytest.fixture(scope="module")
def corpus(store_home, tmp_path_factory) -> list[Case]:
    from geo_app import layers

    return generate(tmp_path_factory.mktemp("hostile"), layers.read("communes"), layers.read("province"))


def _store_hash(home: Path) -> str:
    return hashlib.sha256((home / "layers.gpkg").read_bytes()).hexdigest()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _geometry_problems(case: Case, geoms) -> list[str]:
    got = shapely.union_all([g for g in geoms if g is not None])
    problems = []
    if abs(got.area / case.area_m2 - 1) > 0.001:
        problems.append(f"area {got.area:.1f} m² vs {case.area_m2:.1f} m²")
    shift = shapely.Point(case.centroid).distance(got.centroid)
    if shift > 5:
        problems.append(f"centroid {shift:.1f} m off")
    return problems


def _bounded(case: Case, started: float, base_mb: float) -> list[str]:
    problems = []
    if time.perf_counter() - started > CASE_SECONDS:
        problems.append(f"took {time.perf_counter() - started:.1f} s")
    if _peak_mb() - base_mb > CASE_MEMORY_MB:
        problems.append(f"peak memory +{_peak_mb() - base_mb:.0f} MB")
    return problems


def _refusal_problems(case: Case, text: str) -> list[str]:
    problems = [f"missing {w!r}" for w in case.words if w not in text]
    if case.main.name not in text:
        problems.append(f"does not name {case.main.name}")
    if not text.lstrip().startswith(("Không nhập được tệp", "Lỗi / Error: Không nhập được tệp", "file: Không nhập được tệp")):
        problems.append("not Vietnamese first")
    if "Traceback" in text or "GEOSException" in text or "/tmp/" in text:
        problems.append("library text or a server path")
    return problems


def test_the_corpus_is_large_and_covers_every_format(corpus):
    assert len(corpus) >= 40
    outcomes = {c.outcome for c in corpus}
    assert outcomes == {OK, REPAIRED, REFUSED}
    suffixes = {c.main.suffix.lower() for c in corpus}
    assert set(FORMATS) - {".json", ".txt"} <= suffixes, set(FORMATS) - suffixes
    assert sum(c.outcome == REFUSED for c in corpus) >= 20 and sum(c.outcome == REPAIRED for c in corpus) >= 8


def test_read_features(corpus, store_home):
    before, base_mb, wrong = _store_hash(store_home), _peak_mb(), {}
    for case in corpus:
        started = time.perf_counter()
        try:
            result = read_features(case.main, kind="polygon", **case.options)
        except ImportFailed as exc:
            problems = [] if case.outcome == REFUSED else [f"refused: {exc.message[:300]}"]
            if case.outcome == REFUSED:
                problems += _refusal_problems(case, exc.message)
        else:
            if case.outcome == REFUSED:
                problems = ["was not refused"]
            else:
                text = "\n".join(result.messages)
                problems = _geometry_problems(case, result.frame.geometry.values)
                problems += [f"missing {w!r}" for w in case.words if w not in text]
                if case.outcome == REPAIRED and not result.repairs:
                    problems.append("no repair listed")
                if case.outcome == OK and result.repairs:
                    problems.append(f"unexpected repairs: {[r.reason for r in result.repairs]}")
                if case.outside_share is not None and abs(result.outside_share - case.outside_share) > 0.002:
                    problems.append(f"outside share {result.outside_share:.4f} vs {case.outside_share:.4f}")
        problems += _bounded(case, started, base_mb)
        if problems:
            wrong[case.name] = problems
    assert not wrong, json.dumps(wrong, ensure_ascii=False, indent=1)
    assert _store_hash(store_home) == before, "reading never writes to the store"


def _cli_options(options: dict) -> list[str]:
    args = []
    for key, value in options.items():
        if key in ("crs", "layer"):
            args += [f"--{key}", str(value)]
        elif value:
            args.append("--" + key.replace("_", "-"))
    return args


def test_cli(corpus, store_home, tmp_path):
    runner, base_mb, wrong = CliRunner(), _peak_mb(), {}
    for case in corpus:
        started = time.perf_counter()
        out = tmp_path / f"{case.name}.gpkg"
        result = runner.invoke(main, ["import", str(case.main), "--kind", "polygon", *_cli_options(case.options),
                                      "--out", str(out)])
        if case.outcome == REFUSED:
            problems = [] if result.exit_code == 2 else [f"exit code {result.exit_code}: {result.output[-300:]}"]
            problems += _refusal_problems(case, result.output)
            if out.exists():
                problems.append("wrote a file although refused")
        elif result.exit_code != 0:
            problems = [f"exit code {result.exit_code}: {result.output[-300:]}"]
        else:
            problems = _geometry_problems(case, pyogrio.read_dataframe(out).geometry.values)
            problems += [f"missing {w!r}" for w in case.words if w not in result.output]
        problems += _bounded(case, started, base_mb)
        if problems:
            wrong[case.name] = problems
    assert not wrong, json.dumps(wrong, ensure_ascii=False, indent=1)


def _form(case: Case) -> dict:
    form = {}
    for key, value in case.options.items():
        if key == "crs":
            form["crs"] = value
        elif key == "layer":
            form["layer"] = value
        elif value:
            form[key] = "1"
    return form


def test_web_upload(corpus, store_home, tmp_path):
    from geo_app.production import workflow
    from geo_app.serve.web import create_app

    with isolated_home(store_home, tmp_path / "home") as home:
        app = create_app({"TESTING": True, "SECRET_KEY": "t"})
        officer = app.test_client()
        login(officer, "officer")
        token = csrf_token(officer, "/")
        files_dir = home / "workflow" / "files"
        base_mb, wrong = _peak_mb(), {}
        for case in (c for c in corpus if c.outcome == REFUSED or c.name in WEB_READS):
            stored = sorted(files_dir.iterdir()) if files_dir.exists() else []
            history = workflow.history(PRODUCT)
            data = {"csrf_token": token, **_form(case),
                    "file": [(io.BytesIO(p.read_bytes()), p.name) for p in case.files]}
            resp = officer.post(f"/products/{PRODUCT}/draft", data=data, content_type="multipart/form-data",
                                headers={"Accept": "application/json"})
            if case.outcome == REFUSED:
                problems = [] if resp.status_code == 400 else [f"status {resp.status_code}"]
                description = (resp.get_json() or {}).get("description", "")
                problems += _refusal_problems(case, description)
                now = sorted(files_dir.iterdir()) if files_dir.exists() else []
                if now != stored or workflow.history(PRODUCT) != history:
                    problems.append("something was stored although refused")
            elif resp.status_code != 302:
                problems = [f"status {resp.status_code}: {resp.get_data(as_text=True)[:300]}"]
            else:
                kept = Path(workflow.latest(PRODUCT).area["files"][-1])
                doc = json.loads(kept.read_text(encoding="utf-8"))
                problems = _geometry_problems(case, read_features(kept, kind="polygon").frame.geometry.values)
                names = [f["name"] for f in doc["source"]["files"]]
                if names != [p.name for p in case.files]:
                    problems.append(f"original names not kept: {names}")
            if _peak_mb() - base_mb > CASE_MEMORY_MB:  # no time bound: a draft's validation is the workflow's
                problems.append(f"peak memory +{_peak_mb() - base_mb:.0f} MB")
            if problems:
                wrong[case.name] = problems
    assert not wrong, json.dumps(wrong, ensure_ascii=False, indent=1)
