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
