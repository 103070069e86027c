"""The documents are kept true by these tests: every command, setting, layer and product is documented, every
command shown in the README runs as written, and every setting is read in one place."""
from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path

import click
import pytest

from geo_app import layers
from geo_app.cli import main
from geo_app.production.products import load_products
from geo_app.settings import VARIABLES

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))


def _all_docs() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in [README, *DOCS])


def _commands(group: click.Group, prefix: str = "geo-app"):
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield from _commands(command, path)
        else:
            yield path


def test_every_command_is_documented():
    text = _all_docs()
    missing = [path for path in _commands(main) if not _documented(path, text)]
    assert not missing, f"commands missing from README.md and docs/: {missing}"


def _documented(path: str, text: str) -> bool:
    # "geo-app water-sources import" or a grouped row such as "geo-app water-sources import|qa|karst"
    head, _, leaf = path.rpartition(" ")
    return path in text or re.search(re.escape(head) + r" [\w|\\-]*\b" + re.escape(leaf) + r"\b", text) is not None


def _readme_command_lines():
    text = README.read_text(encoding="utf-8")
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith(("geo-app ", ".venv/bin/geo-app ")):
                yield line


def test_readme_commands_exist_as_written():
    lines = list(_readme_command_lines())
    assert lines, "README.md shows no geo-app command"
    for line in lines:
        args = shlex.split(line)[1:]
        command: click.Command = main
        ctx = None
        while isinstance(command, click.Group):
            name, args = args[0], args[1:]
            assert name in command.commands, f"README: `{line}`: no command {name!r}"
            command = command.commands[name]
        # parses the options and arguments as click would, without running the command
        ctx = command.make_context(command.name, list(args))
        assert ctx.params is not None, line


def test_every_setting_is_documented_and_read_in_one_place():
    table = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    for name in VARIABLES:
        assert f"| `{name}` |" in table, f"{name} is not in docs/configuration.md"
    documented = set(re.findall(r"GEO_APP_[A-Z0-9_]+", _all_docs()))
    assert documented <= set(VARIABLES), f"documented but unknown: {sorted(documented - set(VARIABLES))}"
    read = re.compile(r"""(?:environ(?:\.get)?|getenv)\s*[(\[]\s*\\?["'](GEO_APP_[A-Z0-9_]+)""")
    for path in [*(REPO / "geo_app").rglob("*.py"), *(REPO / "notebooks").glob("*.ipynb")]:
        if path.name == "settings.py":
            continue
        found = read.findall(path.read_text(encoding="utf-8"))
        assert not found, f"{path.relative_to(REPO)} reads {found} itself: read it through geo_app.settings"


def test_every_layer_and_product_is_documented():
    text = _all_docs()
    for layer in layers.list():
        assert f"`{layer.id}`" in text, f"layer {layer.id} is not documented"
    for product_id in load_products():
        assert f"`{product_id}`" in text, f"product {product_id} is not documented"


def _api_table():
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## Public Python API", 1)[1].split("\n## ", 1)[0]
    for module, names in re.findall(r"^\| `(geo_app[\w.]*)` \| (.*) \|$", section, re.M):
        yield module, re.findall(r"`(\w+)(?:\(|`)", names)


@pytest.mark.parametrize("module, names", list(_api_table()))
def test_public_api_in_the_docs_exists(module, names):
    mod = importlib.import_module(module)
    assert names
    missing = [name for name in names if not hasattr(mod, name)]
    assert not missing, f"{module}: {missing}"


def test_no_references_to_issue_numbers_or_files_outside_the_repository():
    """Code and documents state the fact and its source (a resolution, a paper, a URL), not a tracker number
    or a note outside this repository, which a reader of the repository cannot open."""
    pattern = re.compile(r"\bissues? #?\d+\b|\bdomain\.md\b|\bDomain notes\b", re.I)
    found = []
    for folder, suffixes in (("geo_app", ".py .html .js .css"), ("tests", ".py"), ("bench", ".py"),
                             ("docs", ".md"), ("layers", ".yaml"), ("notebooks", ".ipynb"), ("scripts", ".py")):
        for path in (REPO / folder).rglob("*"):
            if path.suffix in suffixes.split() and path != Path(__file__):
                for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                    if pattern.search(line):
                        found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()[:100]}")
    for name in ("README.md", "Makefile", "pyproject.toml"):
        for number, line in enumerate((REPO / name).read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{name}:{number}: {line.strip()[:100]}")
    assert not found, "\n".join(found)
