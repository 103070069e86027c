"""Shared fixtures: one real build of the layer store from the mirrored sources per test session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from geo_app.build import build
from geo_app.serve.web import create_app

REPO = Path(__file__).resolve().parent.parent


def mirror_path() -> Path:
    configured = os.environ.get("GEO_APP_DATA_MIRROR")
    path = Path(configured) if configured else REPO.parent / "shared" / "data" / "mirror"
    if not (path / "MANIFEST.tsv").exists():
        pytest.fail(f"the source mirror is missing at {path}; set GEO_APP_DATA_MIRROR")
    return path.resolve()


@pytest.fixture(scope="session")
def mirror() -> Path:
    return mirror_path()


@pytest.fixture(scope="session")
def store_home(tmp_path_factory, mirror) -> Path:
    """GEO_APP_HOME with a store built once from the mirror; the environment points at it."""
    home = tmp_path_factory.mktemp("geo_app_home")
    with pytest.MonkeyPatch.context() as env:  # the environment is given back at the end of the session
        env.setenv("GEO_APP_HOME", str(home))
        env.setenv("GEO_APP_DATA_MIRROR", str(mirror))
        env.setenv("GEO_APP_OFFLINE", "1")
        result = build(progress=False)
        assert result.built
        yield home


@pytest.fixture()
def app(store_home):
    return create_app({"TESTING": True, "SECRET_KEY": "test"})


@pytest.fixture()
def client(app):
    return app.test_client()
