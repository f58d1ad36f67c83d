"""Every module under app/ is on the web side or named in setup.cfg's domain contract.

import-linter checks only the modules a contract names, and does not see a directory without
an __init__.py at all: without this test a new domain module would be left unchecked.
"""
import configparser
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
WEB_SIDE = {"app.views", "app.api", "app.cli", "app.web", "app.auth"}


def top_level_modules():
    modules = set()
    for path in (ROOT / "app").iterdir():
        if path.suffix == ".py" and path.stem != "__init__":
            modules.add(f"app.{path.stem}")
        elif path.is_dir() and any(path.rglob("*.py")):
            assert (path / "__init__.py").is_file(), f"import-linter cannot see {path.name}/ without an __init__.py"
            modules.add(f"app.{path.name}")
    return modules


def test_every_module_is_web_side_or_domain():
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "setup.cfg")
    domain = set(config["importlinter:contract:domain"]["source_modules"].split())
    modules = top_level_modules()
    assert modules - WEB_SIDE - domain == set(), "add to the domain contract's source_modules in setup.cfg"
    assert domain - modules == set(), "gone: remove from source_modules in setup.cfg"
