"""What central logs about routine trouble on a sede's link: one line, no traceback, not an
error (a hub giving up mid-upload is what a slow or cut WAN does, not a server fault)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from central.sync import models as m

MEDIA = b"application/vnd.alegra.sync+json"


def _push_cut_mid_upload(app, token: str) -> list[dict]:
    """A push whose client sends half its body and disconnects; the messages central sent."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/sync/push",
        "raw_path": b"/api/v1/sync/push",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", MEDIA),
            (b"content-length", b"4096"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    incoming = [
        {
            "type": "http.request",
            "body": b'{"v":1,"sede_id":"sede-sync","hub_epoch":1,',
            "more_body": True,
        },
        {"type": "http.disconnect"},
    ]
    sent: list[dict] = []

    async def receive() -> dict:
        if incoming:
            return incoming.pop(0)
        await asyncio.sleep(3600)  # never: the client is gone
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_a_hub_disconnecting_mid_push_is_one_warning_line_without_traceback(central, caplog):
    with caplog.at_level(logging.INFO):
        sent = _push_cut_mid_upload(central.app, central.token)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    lines = [r for r in caplog.records if "disconnected" in r.getMessage()]
    assert len(lines) == 1, caplog.text
    [line] = lines
    assert line.levelno == logging.WARNING and line.exc_info is None
    assert "\n" not in line.getMessage() and "sede-sync" in line.getMessage()
    assert "Traceback" not in caplog.text
    start = next(msg for msg in sent if msg["type"] == "http.response.start")
    assert start["status"] == 499
    with central.connect() as conn:
        assert conn.execute(select(m.sync_inbox)).all() == []
