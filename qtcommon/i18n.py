"""Message catalogues: every text a person reads comes from a JSON file, so a second language
(Quechua first) is added by dropping a file in, without code changes.

A catalogue is a flat JSON object ``{"key": "text with {placeholders}"}``; keys starting with
``_`` are metadata. Look-up order: the ``--lang-file`` catalogue, then each package's
``i18n/<lang>.json`` (the app before qtcommon), then the same for the reference language es-PE,
which must be complete. A key missing everywhere shows as the key itself (and is logged once),
so a gap is visible in a screenshot instead of crashing the kiosk.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

REFERENCE_LANG = "es-PE"


class CatalogError(ValueError):
    """A catalogue file is unreadable or not a flat object of strings."""


def package_i18n_dir(package: str) -> Path:
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise CatalogError(f"paquete desconocido: {package}")
    return Path(next(iter(spec.submodule_search_locations))) / "i18n"


def load_catalog(path: Path) -> dict[str, str]:
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise CatalogError(f"{path}: no se puede leer ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise CatalogError(f"{path}: JSON inválido en la línea {exc.lineno}") from None
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: debe ser un objeto JSON de textos")
    for key, value in data.items():
        if not isinstance(value, str):
            raise CatalogError(f"{path}: el valor de {key!r} debe ser un texto")
    return data


def available_languages(packages: Iterable[str] = ("qtcommon",)) -> list[str]:
    langs: set[str] = set()
    for package in packages:
        directory = package_i18n_dir(package)
        langs.update(path.stem for path in directory.glob("*.json"))
    return sorted(langs)


class Translator:
    """Looks keys up in an ordered list of catalogues (first hit wins)."""

    def __init__(self, catalogs: Sequence[Mapping[str, str]], lang: str = REFERENCE_LANG) -> None:
        self.lang = lang
        self._catalogs = [dict(catalog) for catalog in catalogs]
        self._missing_logged: set[str] = set()

    @classmethod
    def load(
        cls,
        lang: str = REFERENCE_LANG,
        *,
        packages: Sequence[str] = ("qtcommon",),
        lang_file: Path | str | None = None,
    ) -> Translator:
        """Catalogues for ``lang`` from ``packages`` (most specific first; qtcommon is always
        appended) with es-PE behind them. Unknown languages fall back to es-PE entirely."""
        ordered = [p for p in packages if p != "qtcommon"] + ["qtcommon"]
        catalogs: list[dict[str, str]] = []
        if lang_file is not None:
            catalogs.append(load_catalog(Path(lang_file)))
            lang = catalogs[0].get("_lang", lang)
        for language in dict.fromkeys([lang, REFERENCE_LANG]):
            for package in ordered:
                path = package_i18n_dir(package) / f"{language}.json"
                if path.exists():
                    catalogs.append(load_catalog(path))
                elif language == REFERENCE_LANG:
                    log.debug("no %s catalogue for %s", language, package)
        return cls(catalogs, lang)

    def has(self, key: str) -> bool:
        return any(key in catalog for catalog in self._catalogs)

    def tr(self, key: str, /, **params: Any) -> str:
        for catalog in self._catalogs:
            text = catalog.get(key)
            if text is not None:
                break
        else:
            if key not in self._missing_logged:
                self._missing_logged.add(key)
                log.warning("missing i18n key %s (%s)", key, self.lang)
            return key
        if not params:
            return text
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            log.warning("bad placeholders in i18n key %s (%s)", key, self.lang)
            return text

    __call__ = tr

    def tr_error(self, code: str | None, fallback: str) -> str:
        """The catalogue's text for an error code, else the hub's own Spanish message."""
        key = f"error.{code}"
        return self.tr(key) if code and self.has(key) else fallback

    def keys(self) -> set[str]:
        return {key for catalog in self._catalogs for key in catalog if not key.startswith("_")}
