"""The audit chain's HMAC key, kept outside the database: each engine is bound to the key of
the settings it was made from (``bind``, done by create_app and the CLI); an engine nobody bound
uses the key bound to its database in this process, else the key of the environment settings (``ALEGRA_AUDIT_KEY`` or the generated
``<data dir>/audit-hmac.key``, mode 0600)."""

from __future__ import annotations

from functools import lru_cache
from weakref import WeakKeyDictionary

from sqlalchemy import Engine
from sqlmodel import Session

_BOUND: WeakKeyDictionary[Engine, bytes] = WeakKeyDictionary()
# another engine on a database already bound in this process uses the same key
_BY_URL: dict[str, bytes] = {}


def bind(engine: Engine, key: str) -> None:
    _BOUND[engine] = _BY_URL[engine.url.render_as_string(hide_password=False)] = key.encode()


@lru_cache(maxsize=1)
def _environment_key() -> bytes:
    from central.settings import CentralSettings

    return CentralSettings().resolved_audit_key().encode()


def key_for_engine(engine: Engine) -> bytes:
    return (
        _BOUND.get(engine)
        or _BY_URL.get(engine.url.render_as_string(hide_password=False))
        or _environment_key()
    )


def key_for(session: Session) -> bytes:
    bind_ = session.get_bind()
    engine = bind_ if isinstance(bind_, Engine) else bind_.engine
    return key_for_engine(engine)
