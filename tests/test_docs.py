"""The documents that are made from the code are up to date, and the README keeps to what a user needs."""
from core.cli.methods import markdown
from tests.conftest import ROOT


def test_the_model_table_is_the_registry():
    assert (ROOT / "docs" / "models.md").read_text() == markdown(), (
        "docs/models.md is stale: run `python -m core methods --markdown > docs/models.md`")


def test_the_readme_is_for_users():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 210, f"README.md has {len(lines)} lines: figures and tables belong in docs/"
