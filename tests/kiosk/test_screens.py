"""Every kiosk screen renders to a non-blank PNG of the kiosk's size."""

from __future__ import annotations

from PySide6.QtGui import QImage

from kiosk.screens import LANDSCAPE, PORTRAIT, render_all
from qtcommon.screenshot import distinct_colours


def test_render_all_kiosk_screens(qapp, tmp_path):
    sheet, font = qapp.styleSheet(), qapp.font()
    paths = render_all(tmp_path)
    names = {p.stem for p in paths}
    for expected in (
        "kiosk-01-home",
        "kiosk-02-preference",
        "kiosk-04-dni-error",
        "kiosk-06-ticket",
        "kiosk-07-print-failed",
        "kiosk-08-hub-unreachable",
        "kiosk-12-offline",
        "kiosk-13-closed",
    ):
        assert expected in names
    for path in paths:
        image = QImage(str(path))
        size = (image.width(), image.height())
        assert size == (LANDSCAPE if "landscape" in path.stem else PORTRAIT), path.name
        assert distinct_colours(image, step=8) >= 3, f"{path.name} looks blank"
    assert qapp.styleSheet() == sheet and qapp.font() == font  # restored for the next test


def test_alegra_screens_command_renders_the_kiosk(qapp, tmp_path):
    from typer.testing import CliRunner

    from alegra.screens import app

    result = CliRunner().invoke(app, ["--out", str(tmp_path), "--only", "kiosk"])
    assert result.exit_code == 0, result.output
    pngs = sorted(p.name for p in tmp_path.glob("kiosk-*.png"))
    assert "kiosk-01-home.png" in pngs and len(pngs) >= 10
    assert "pantallas en" in result.output

    bad = CliRunner().invoke(app, ["--out", str(tmp_path), "--only", "tv"])
    assert bad.exit_code == 2
