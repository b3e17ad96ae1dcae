"""The rules that refuse, each with its stable code and nothing half-written: conciliability
and the violence block, designation races, dates in the past, the 30-day audiencia, the six
endings and the attendance they need, the Art. 16 checklist, issued actas immutable in the
database itself (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlmodel import func, select

from central.audit.models import AuditChainHead
from central.auth.policy import EVERYWHERE
from central.cases.models import CaseFile
from central.conciliation import service
from central.conciliation.models import ConcActa, ConcFile, ConcSession
from central.conciliation.schemas import DesignationIn, SessionCreate
from central.core.db import new_session
from central.domain.errors import Conflict, DomainError
from tests.central.conciliation.conftest import make_citizen
from tests.central.conftest import SYSTEM


def _count(db, model) -> int:
    db.expire_all()
    value = db.exec(select(func.count()).select_from(model)).one()
    db.rollback()
    return value


def _head(db) -> int:
    db.expire_all()
    value = db.exec(select(AuditChainHead.last_seq)).one()
    db.rollback()
    return value


def test_not_conciliable_matter_is_refused_and_nothing_written(centre, db):
    before, audit_before = _count(db, ConcFile), _head(db)
    response = centre.solicitud(matter="sucesiones")
    assert response.status_code == 422
    assert response.json()["code"] == "not_conciliable"
    assert "herencia" in response.json()["message"]
    assert _count(db, ConcFile) == before and _head(db) == audit_before


@pytest.mark.parametrize("signal", ["declared", "measures", "citizen_flag", "linked_case"])
def test_violence_flag_blocks_with_the_way_out(centre, db, signal):
    extra: dict = {}
    parties = None
    if signal == "declared":
        extra["violence_declared"] = True
    elif signal == "measures":
        extra["protective_measures"] = True
    elif signal == "citizen_flag":
        victim = make_citizen(
            db, centre.sede, given="Rosa", surnames="Mamani Condori", flags=["victima_violencia"]
        )
        parties = [
            {"role": "solicitante", "citizen_id": victim},
            {"role": "invitado", "citizen_id": centre.people["luis"]},
        ]
    else:
        case = CaseFile(
            number=f"X-{signal}",
            district_id=centre.world.district_a,
            sede_id=centre.sede,
            year=2026,
            seq=1,
            service="defensa_victimas",
            matter="violencia_familiar",
            attention_type="patrocinio",
            client_citizen_id=centre.people["ana"],
        )
        db.add(case)
        db.commit()
        extra["case_id"] = case.id
    before = _count(db, ConcFile)
    response = centre.solicitud(parties=parties, **extra)
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["code"] == "violence_block"
    assert "defensa de víctimas" in body["message"]
    assert {"field": "derive_to", "message": "defensa_victimas"} in body["fields"]
    assert _count(db, ConcFile) == before


def test_violence_flag_found_later_blocks_the_invitation(centre, db, client):
    file = centre.open_file()
    centre.designate(file)
    hearing = centre.session(file)
    # the invited party is flagged after the solicitud
    from central.citizens.models import Citizen

    citizen = db.get(Citizen, centre.people["ana"])
    citizen.flags = "victima_violencia"
    db.add(citizen)
    db.commit()
    invited = next(p for p in centre.get(file["id"])["parties"] if p["role"] == "invitado")
    response = centre.post(
        f"/api/v1/conciliation/files/{file['id']}/invitations",
        {"party_id": invited["id"], "session_id": hearing["id"]},
    )
    assert response.status_code == 409 and response.json()["code"] == "violence_block"
    derived = centre.post(
        f"/api/v1/conciliation/files/{file['id']}/derivation",
        {"reason": "Indicador de violencia familiar"},
    )
    assert derived.status_code == 200 and derived.json()["state"] == "derivado"


def test_two_designations_at_once_one_wins(centre, app, db):
    file = centre.open_file()
    engine = app.state.engine
    results: list[object] = []
    barrier = threading.Barrier(2)

    def designate(conciliator: str) -> None:
        session = new_session(engine)
        try:
            barrier.wait()
            service.designate(
                session=session,
                actor=SYSTEM,
                area=EVERYWHERE,
                settings=app.state.conciliation_settings,
                file_id=file["id"],
                data=DesignationIn(
                    conciliator_user_id=conciliator, verifier_user_id=centre.verifier_id
                ),
            )
            session.commit()
            results.append("ok")
        except Conflict as exc:
            session.rollback()
            results.append(exc)
        finally:
            session.close()

    threads = [
        threading.Thread(target=designate, args=(c,))
        for c in (centre.conciliator_id, centre.other_conciliator_id)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("ok") == 1
    assert sum(isinstance(r, Conflict) for r in results) == 1
    db.expire_all()
    row = db.get(ConcFile, file["id"])
    assert row.state == "designado" and row.revision == 2


def test_session_in_the_past_is_refused(centre):
    file = centre.open_file()
    centre.designate(file)
    response = centre.session(file, minutes=-60, status=422)
    assert response["code"] == "invalid_date"


def test_virtual_session_needs_means_and_each_consent(centre):
    file = centre.open_file()
    centre.designate(file)
    hearing = centre.session(file, mode="virtual")
    centre.invite_all(file, hearing)
    refused = centre.attend(file, hearing, consent=False, status=422).json()
    assert "Ley 31165" in refused["message"]
    centre.attend(file, hearing, consent=True, status=200)


def test_session_after_thirty_days_needs_a_recorded_extension(centre, app, db):
    file, _ = centre.to_audiencia()
    settings = app.state.conciliation_settings
    first = date.fromisoformat(file["first_session_on"])
    later = datetime.combine(first + timedelta(days=31), datetime.min.time(), UTC) + timedelta(
        hours=15
    )
    data = SessionCreate(scheduled_at=later, mode="presencial", place="Sala 1")
    with pytest.raises(DomainError) as refused:
        service.schedule_session(
            session=db,
            actor=SYSTEM,
            area=EVERYWHERE,
            settings=settings,
            file_id=file["id"],
            data=data,
        )
    assert refused.value.code == "hearing_period_expired"
    db.rollback()
    assert _count(db, ConcSession) == 1
    ext = centre.post(
        f"/api/v1/conciliation/files/{file['id']}/extension",
        {
            "agreed_on": file["first_session_on"],
            "new_limit": (first + timedelta(days=45)).isoformat(),
            "note": "Las partes acuerdan prorrogar la audiencia.",
        },
        status=200,
    ).json()
    assert ext["audiencia_limit"] == (first + timedelta(days=45)).isoformat()
    service.schedule_session(
        session=db, actor=SYSTEM, area=EVERYWHERE, settings=settings, file_id=file["id"], data=data
    )
    db.commit()


def _second_session(centre, file, app, db, present: dict[str, bool]) -> dict:
    """Hold a second session (scheduled later today)."""
    hearing = centre.session(file, minutes=3)
    centre.attend(file, hearing, present)
    return hearing


@pytest.mark.parametrize(
    "way",
    [
        "acuerdo_total",
        "acuerdo_parcial",
        "falta_acuerdo",
        "inasistencia_una_parte",
        "inasistencia_ambas",
        "decision_motivada",
    ],
)
def test_each_of_the_six_endings_issues_its_acta(centre, client, app, db, way):
    file = centre.open_file()
    centre.designate(file)
    hearing = centre.session(file)
    centre.invite_all(file, hearing)
    if way == "inasistencia_ambas":
        centre.attend(file, hearing, {"Solicitante 1": False, "Invitado 1": False})
    elif way == "inasistencia_una_parte":
        centre.attend(file, hearing, {"Invitado 1": False})
        hearing = _second_session(centre, file, app, db, {"Invitado 1": False})
    else:
        centre.attend(file, hearing)
    file = centre.get(file["id"])
    if way in {"acuerdo_total", "acuerdo_parcial"}:
        centre.agree(file, hearing, way)
    else:
        body = {"way": way, "session_id": hearing["id"]}
        if way == "decision_motivada":
            body["reason"] = (
                "El conciliador advierte que una de las partes no está en condiciones de decidir libremente."
            )
        centre.post(f"/api/v1/conciliation/files/{file['id']}/conclusion", body, status=200)
    acta = centre.issue(file).json()
    assert acta["conclusion_way"] == way
    content = client.get(
        f"/api/v1/conciliation/actas/{acta['id']}/content", headers=centre.conciliator
    ).json()
    if way == "inasistencia_una_parte":
        assert "Invitado 1" in content["reason"]


@pytest.mark.parametrize(
    ("way", "present"),
    [
        ("inasistencia_ambas", {"Invitado 1": False}),
        ("inasistencia_una_parte", {"Invitado 1": False}),
        ("acuerdo_total", {"Invitado 1": False}),
        ("falta_acuerdo", {"Solicitante 1": False, "Invitado 1": False}),
    ],
)
def test_ending_contradicted_by_attendance_is_refused(centre, db, way, present):
    file = centre.open_file()
    centre.designate(file)
    hearing = centre.session(file)
    centre.invite_all(file, hearing)
    centre.attend(file, hearing, present)
    response = centre.post(
        f"/api/v1/conciliation/files/{file['id']}/conclusion",
        {"way": way, "session_id": hearing["id"]},
    )
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "attendance_contradicts"
    assert centre.get(file["id"])["state"] == "audiencia"


def test_party_without_document_refuses_the_acta_naming_it(centre, db, client):
    nodoc = make_citizen(db, centre.sede, given="Pedro", surnames="Sin Documento", doc=False)
    file, hearing = centre.to_audiencia(
        parties=[
            {"role": "solicitante", "citizen_id": centre.people["ana"]},
            {"role": "invitado", "citizen_id": nodoc},
        ]
    )
    centre.agree(file, hearing)
    checklist = client.get(
        f"/api/v1/conciliation/files/{file['id']}/acta/checklist", headers=centre.conciliator
    ).json()
    assert not checklist["complete"]
    partes = next(i for i in checklist["items"] if i["code"] == "partes")
    assert partes["missing"] == ["documento de identidad de Invitado 1"]
    approval = centre.post(
        f"/api/v1/conciliation/files/{file['id']}/acta/approval", headers=centre.verifier
    )
    assert approval.status_code == 422
    issued = centre.post(f"/api/v1/conciliation/files/{file['id']}/acta")
    assert issued.status_code == 422
    assert issued.json()["code"] == "acta_incomplete"
    assert "documento de identidad de Invitado 1" in issued.json()["message"]
    assert _count(db, ConcActa) == 0


def test_acta_needs_the_verifier_approval_of_the_current_draft(centre):
    file, hearing = centre.to_audiencia()
    centre.agree(file, hearing)
    response = centre.post(f"/api/v1/conciliation/files/{file['id']}/acta")
    assert response.status_code == 409 and response.json()["code"] == "acta_incomplete"
    assert "abogado verificador" in response.json()["message"]


def test_issued_acta_cannot_be_updated_or_deleted_in_the_database(centre, engine):
    file, hearing = centre.to_audiencia()
    centre.agree(file, hearing)
    acta = centre.issue(file).json()
    for statement in (
        "UPDATE conc_acta SET number_text = 'X' WHERE id = :id",
        "DELETE FROM conc_acta WHERE id = :id",
    ):
        with pytest.raises(DatabaseError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(text(statement), {"id": acta["id"]})
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT number_text FROM conc_acta WHERE id = :id"), {"id": acta["id"]}
            ).scalar()
            == acta["number_text"]
        )


def test_replacement_acta_links_to_the_first_which_shows_as_replaced(centre, client):
    file, hearing = centre.to_audiencia()
    centre.agree(file, hearing)
    first = centre.issue(file).json()
    at = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    new_session = centre.post(
        f"/api/v1/conciliation/actas/{first['id']}/replacement",
        {
            "reason": "Se omitió la huella del invitado",
            "session": {"scheduled_at": at, "mode": "presencial", "place": "Sala 2"},
        },
        status=201,
    ).json()
    assert new_session["for_replacement"] is True
    centre.attend(file, new_session)
    centre.agree(centre.get(file["id"]), new_session)
    second = centre.issue(file).json()
    assert second["replaces_acta_id"] == first["id"]
    assert second["number"] == first["number"] + 1
    old = client.get(f"/api/v1/conciliation/actas/{first['id']}", headers=centre.conciliator).json()
    assert old["replaced_by_acta_id"] == second["id"]
    page = client.get(f"/verificar/{first['verification_code']}")
    assert "Reemplazad" in page.text
    registry = client.get(
        "/api/v1/conciliation/registry",
        params={"sede_id": centre.sede, "year": second["year"]},
        headers=centre.coordinator,
    ).json()
    assert [r["number"] for r in registry] == [first["number"], second["number"]]
    assert registry[0]["status"].startswith("Reemplazada")


def test_void_number_says_why_and_copies_are_registered(centre, client):
    file, hearing = centre.to_audiencia()
    centre.agree(file, hearing)
    acta = centre.issue(file).json()
    copy = centre.post(
        f"/api/v1/conciliation/actas/{acta['id']}/copies",
        {"recipient_party_id": centre.get(file["id"])["parties"][0]["id"]},
        status=201,
    ).json()
    assert copy["copy_number"] == 1
    again = centre.post(
        f"/api/v1/conciliation/actas/{acta['id']}/copies",
        {"recipient_name": "Juzgado de Paz Letrado", "recipient_doc": None},
        status=201,
    ).json()
    assert again["copy_number"] == 2
    voided = centre.post(
        f"/api/v1/conciliation/actas/{acta['id']}/void",
        {"reason": "Acta extraviada antes de la firma de las partes"},
        headers=centre.coordinator,
        status=200,
    ).json()
    assert voided["voided"] and "extraviada" in voided["void_reason"]
    registry = client.get(
        "/api/v1/conciliation/registry",
        params={"sede_id": centre.sede, "year": acta["year"]},
        headers=centre.coordinator,
    ).json()
    assert registry[0]["status"] == "Anulada: Acta extraviada antes de la firma de las partes"
    for fmt, magic in (("pdf", b"%PDF"), ("xlsx", b"PK")):
        export = client.get(
            "/api/v1/conciliation/registry",
            params={"sede_id": centre.sede, "year": acta["year"], "format": fmt},
            headers=centre.coordinator,
        )
        assert export.status_code == 200 and export.content.startswith(magic)


def test_attendance_before_any_invitation_is_refused(centre):
    """A designated file with no invitation cannot hold a session (it used to fail late with an
    invalid designado -> audiencia transition)."""
    file = centre.open_file()
    centre.designate(file)
    hearing = centre.session(file)
    response = centre.attend(file, hearing, status=409)
    assert response.json()["code"] == "invalid_transition"
    assert "invitaciones" in response.json()["message"]
    assert centre.get(file["id"])["state"] == "designado"


def test_matter_no_longer_conciliable_refuses_the_invitation(centre, app):
    file = centre.open_file()
    centre.designate(file)
    hearing = centre.session(file)
    app.state.conciliation_settings.conciliable_matters = ["desalojo"]
    invited = next(p for p in centre.get(file["id"])["parties"] if p["role"] == "invitado")
    response = centre.post(
        f"/api/v1/conciliation/files/{file['id']}/invitations",
        {"party_id": invited["id"], "session_id": hearing["id"]},
    )
    assert response.status_code == 422 and response.json()["code"] == "not_conciliable"
    assert centre.get(file["id"])["invitations"] == []


def test_delivery_dates_outside_issue_and_today_are_refused(centre):
    file = centre.open_file()
    centre.designate(file)
    hearing = centre.session(file)
    invitation = centre.invite_all(file, hearing)[0]
    url = f"/api/v1/conciliation/files/{file['id']}/invitations/{invitation['id']}/delivery"
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    for body in (
        {"delivered": True, "delivered_on": tomorrow, "mode": "personal", "received_by": "X"},
        {"delivered": True, "delivered_on": "2020-01-01", "mode": "personal", "received_by": "X"},
        {"delivered": True, "delivered_on": invitation["issued_on"]},  # who received it?
        {"delivered": False, "delivered_on": invitation["issued_on"]},  # why not?
    ):
        response = centre.post(url, body)
        assert response.status_code == 422, (body, response.text)
    assert centre.get(file["id"])["invitations"][0]["status"] == "pending"


def test_invitation_letter_says_when_and_where(centre, client):
    import subprocess

    file = centre.open_file()
    centre.designate(file)
    hearing = centre.session(file)
    invitation = centre.invite_all(file, hearing)[0]
    pdf = client.get(
        f"/api/v1/conciliation/files/{file['id']}/invitations/{invitation['id']}/pdf",
        headers=centre.conciliator,
    ).content
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    assert "INVITACIÓN PARA CONCILIAR" in text and "Luis Alberto Rojas Pérez" in text
    assert "Lugar: Sala de audiencias 1" in text and "Fecha y hora:" in text
