"""``alegra display`` refuses bad arguments with a clear Spanish message before opening Qt."""

from __future__ import annotations

from typer.testing import CliRunner

from display.cli import app


def test_bad_hub_address_is_refused():
    result = CliRunner().invoke(app, ["--hub", "hub:abc", "--sede", "lima-cercado"])
    assert result.exit_code == 2
    assert "puerto inválido" in result.output


def test_unreadable_language_file_is_refused(tmp_path):
    result = CliRunner().invoke(
        app,
        ["--hub", "127.0.0.1", "--sede", "lima", "--lang-file", str(tmp_path / "no.json")],
    )
    assert result.exit_code == 2
    assert "no se puede leer" in result.output
