"""The Flask application: ``create_app()`` builds it; blueprints in this package are thin adapters
over the core (``geo_app.layers``, ``geo_app.features``)."""
from __future__ import annotations

from pathlib import Path

from flask import Flask


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="dev-only-change-me",
        JSON_AS_ASCII=False,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from . import assets, map_view

    app.register_blueprint(assets.bp)
    app.register_blueprint(map_view.bp)
    return app
