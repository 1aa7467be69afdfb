"""The README stays true: its commands exist and every setting is documented."""

from __future__ import annotations

import re
from pathlib import Path

from service.settings import Settings

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme_table():
    missing = [
        name for name in Settings.model_fields if f"`PARTNERSEARCH_{name.upper()}`" not in README
    ]
    assert missing == []


def test_readme_make_targets_exist_and_ci_runs_the_test_command():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z-]+):", makefile, flags=re.M))
    named = set(re.findall(r"`make ([a-z-]+)`", README))
    assert {"run", "test"} <= named
    assert named <= targets
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test$", ci, flags=re.M)


def _error_classes(base: type) -> list[type]:
    out = [base]
    for sub in base.__subclasses__():
        out += _error_classes(sub)
    return out


def test_readme_error_table_matches_the_codes_the_api_answers():
    import importlib

    from ingest.errors import PartnerSearchError

    for name in ("index.errors", "eval.errors", "service.errors"):
        importlib.import_module(name)

    # Each package keeps the errors it raises; all of them share the one base.
    modules = {cls.__module__ for cls in _error_classes(PartnerSearchError)}
    assert {"ingest.errors", "index.errors", "eval.errors", "service.errors"} <= modules
    # The OpenAPI examples name codes too; a row must match code that answers, not one.
    source = "".join(
        path.read_text(encoding="utf-8")
        for path in sorted((REPO / "service").rglob("*.py"))
        if path.name != "examples.py"
    )
    raised = set()
    for pattern in (
        r"ApiError\(\s*(\d{3}),\s*\"(\w+)\"",
        r"error_response\(\s*(\d{3}),\s*\"(\w+)\"",
    ):
        raised |= {(int(status), code) for status, code in re.findall(pattern, source)}
    # Every PartnerSearchError answers with the status and code its class carries.
    classes = _error_classes(PartnerSearchError)
    raised |= {(cls.status, cls.code) for cls in classes}
    source += " ".join(f'"{cls.code}"' for cls in classes)
    documented = {
        (int(status), code)
        for status, code in re.findall(r"^\| (\d{3}) \| `(\w+)` \|", README, flags=re.M)
    }
    assert len(raised) >= 15
    assert raised - documented == set()  # every code the app sends has its row
    for _status, code in documented:  # and every row is a code the app can send
        assert f'"{code}"' in source, code
