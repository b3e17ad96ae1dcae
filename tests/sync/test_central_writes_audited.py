"""Every central write through the sync API (appointments, display messages, intake edits and
deletions, conflict resolution) leaves its audit row in the same transaction, as the docs say
every write does; the texts of an intake (a citizen's matters) never reach the audit log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from central.audit.models import AuditEvent
from tests.helpers import hub_records
from tests.sync.conftest import SEDE
from tests.sync.test_flows import CENTRAL, converge


def _audited(central) -> list[AuditEvent]:  # noqa: ANN001
    with Session(central.app.state.engine) as session:
        return list(session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))).all())


def test_central_writes_through_the_sync_api_are_audited(central, agent, admin_headers):
    CENTRAL.set(central)
    http = central.client
    before = len(_audited(central))
    when = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    appointment = http.put(
        "/api/v1/sync/appointments",
        json={
            "sede_id": SEDE,
            "code": "CITA-0042",
            "service_code": "orientacion",
            "scheduled_at": when,
            "dni": "12345678",
        },  # fmt: skip
        headers=admin_headers,
    )
    assert appointment.status_code == 200, appointment.text
    gone = http.delete(
        f"/api/v1/sync/appointments/{appointment.json()['id']}", headers=admin_headers
    )
    assert gone.status_code == 200
    message = http.put(
        "/api/v1/sync/display-messages",
        json={"sede_id": SEDE, "text": "Atención hasta las 16:00"},
        headers=admin_headers,
    )
    assert message.status_code == 200
    record = hub_records.save_intake(
        agent.conn,
        changes={
            "citizen_doc_type": "dni",
            "citizen_doc_number": "12345678",
            "citizen_names": "Persona Reservada",
            "service_code": "orientacion",
            "matter": "alimentos",
            "summary": "Relato reservado",
        },  # fmt: skip
    )
    converge(agent)
    edited = http.patch(
        f"/api/v1/sync/case-intakes/{record['id']}",
        json={"base_revision": 1, "summary": "Texto central reservado", "status": "referred"},
        headers=admin_headers,
    )
    assert edited.status_code == 200, edited.text
    hub_records.save_intake(
        agent.conn, intake_id=record["id"], changes={"summary": "Versión sede", "status": "open"}
    )
    converge(agent)
    conflict = http.get("/api/v1/sync/conflicts", headers=admin_headers).json()[0]
    resolved = http.post(
        f"/api/v1/sync/conflicts/{conflict['id']}/resolve",
        json={"keep": "other"},
        headers=admin_headers,
    )
    assert resolved.status_code == 200, resolved.text

    rows = [r for r in _audited(central)[before:] if r.actor_username == "admin-sync"]
    by_action = {r.action: r for r in rows}
    assert {"appointment.save", "appointment.delete", "display_message.save",
            "case_intake.edit", "sync_conflict.resolve"} <= set(by_action)  # fmt: skip
    assert by_action["appointment.save"].entity_id == appointment.json()["id"]
    assert by_action["appointment.save"].sede_id == SEDE
    assert json.loads(by_action["case_intake.edit"].after_json)["fields"] == ["status", "summary"]
    assert json.loads(by_action["sync_conflict.resolve"].after_json)["keep"] == "other"
    text = " ".join(f"{r.before_json} {r.after_json}" for r in rows)
    for private in ("Persona Reservada", "Relato reservado", "Texto central reservado", "12345678"):
        assert private not in text
