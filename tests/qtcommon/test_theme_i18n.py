"""Theme tokens, QSS rendering and i18n catalogues."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from qtcommon.clock import format_date, format_time
from qtcommon.i18n import CatalogError, Translator, load_catalog
from qtcommon.theme import DARK, LIGHT, build_stylesheet, mm_to_px, qss_files, render_qss, sane_dpi


def test_touch_target_is_20mm_at_the_screen_dpi():
    assert LIGHT.for_dpi(96).touch_px == 76  # 20 mm at 96 dpi
    assert LIGHT.for_dpi(160).touch_px == mm_to_px(20, 160) == 126
    assert LIGHT.for_dpi(0).touch_px == 76  # offscreen nonsense → 96 dpi default
    assert sane_dpi(9999) == 96


def test_every_shared_qss_token_exists_in_both_themes():
    for theme in (LIGHT, DARK):
        sheet = build_stylesheet(theme, qss_files())
        assert "${" not in sheet
        assert f"min-height: {theme.touch_px - 2 * theme.border_width}px" in sheet


def test_unknown_token_is_a_clear_error():
    with pytest.raises(ValueError, match="token de tema desconocido 'nope'"):
        render_qss("QWidget { color: ${nope}; }", LIGHT.tokens(), source="x.qss")


def test_high_contrast_of_text_on_buttons():
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    def contrast(a: str, b: str) -> float:
        la, lb = sorted((luminance(a), luminance(b)), reverse=True)
        return (la + 0.05) / (lb + 0.05)

    for theme in (LIGHT, DARK):
        assert contrast(theme.fg, theme.bg) >= 7
        assert contrast(theme.on_primary, theme.primary) >= 7
        assert contrast(theme.on_accent, theme.accent) >= 7
        assert contrast(theme.on_danger, theme.danger) >= 4.5


def test_spanish_catalogue_and_quechua_fallback():
    es = Translator.load("es-PE")
    qu = Translator.load("qu")
    assert es("common.back") == "Volver"
    assert qu("common.back") == "Kutiy"
    # missing in the partial Quechua catalogue → Spanish
    assert qu("conn.offline") == es("conn.offline") == "Sin conexión con el servidor de la sede"
    # unknown language → Spanish entirely
    assert Translator.load("fr")("common.back") == "Volver"


def test_lang_file_overrides_without_code_changes(tmp_path):
    path = tmp_path / "ay.json"
    path.write_text(json.dumps({"_lang": "ay", "common.back": "Kutt'aña"}), "utf-8")
    tr = Translator.load("es-PE", lang_file=path)
    assert tr.lang == "ay"
    assert tr("common.back") == "Kutt'aña"
    assert tr("common.home") == "Inicio"


def test_bad_catalogue_files_are_refused(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{", "utf-8")
    with pytest.raises(CatalogError, match="JSON inválido"):
        load_catalog(bad)
    bad.write_text('{"a": 1}', "utf-8")
    with pytest.raises(CatalogError, match="debe ser un texto"):
        load_catalog(bad)
    with pytest.raises(CatalogError, match="no se puede leer"):
        load_catalog(tmp_path / "missing.json")


def test_missing_key_shows_the_key_and_placeholders_fill():
    tr = Translator([{"hello": "Hola {name}"}])
    assert tr("nope.key") == "nope.key"
    assert tr("hello", name="Rosa") == "Hola Rosa"
    assert tr.tr_error("hub_unreachable", "fallback") == "fallback"


def test_lima_time_and_spanish_dates():
    es = Translator.load("es-PE")
    moment = datetime(2026, 11, 27, 15, 5, tzinfo=UTC)  # 10:05 in Lima
    assert format_time(moment) == "10:05"
    assert format_date(moment, es) == "viernes 27 de noviembre"
    with pytest.raises(ValueError):
        format_time(datetime(2026, 1, 1))
