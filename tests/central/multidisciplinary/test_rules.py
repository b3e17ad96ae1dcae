"""Rules of Module 05 beyond the main flow: derivation to a Mega ALEGRA sede, the second
professional's review where the sede asks for it, the authority's data all-or-nothing,
assignment only to a professional of the right profile, and the tray's order."""

from __future__ import annotations

from sqlmodel import select

from central.multidisciplinary.models import MdRequest
from central.org.models import Sede

from .conftest import PSYCH_CONTENT


def test_derivation_to_a_mega_alegra_sede_is_recorded(centre, db):
    request = centre.request()
    refused = centre.call(
        "POST",
        f"/api/v1/md/requests/{request['id']}/derivation",
        "coord",
        422,
        json={"to_sede_id": centre.world.sede_a2, "reason": "Sin psicólogo en la sede."},
    )
    assert "Mega ALEGRA" in refused.json()["message"]
    sede = db.get(Sede, centre.world.sede_a2)
    sede.kind = "Mega ALEGRA"
    db.add(sede)
    db.commit()
    moved = centre.call(
        "POST",
        f"/api/v1/md/requests/{request['id']}/derivation",
        "coord",
        200,
        json={"to_sede_id": centre.world.sede_a2, "reason": "Sin psicólogo en la sede."},
    ).json()
    assert moved["sede_id"] == centre.world.sede_a2
    assert moved["derived_from_sede_id"] == centre.sede and moved["state"] == "requested"
    # a professional of the origin sede can no longer be assigned
    wrong = centre.call(
        "POST",
        f"/api/v1/md/requests/{request['id']}/assignment",
        "coord",
        404,
        json={"professional_id": centre.ids["psych"]},
    )
    assert wrong.status_code == 404  # the coordinator of a1 does not run a2's requests
    # the requester still sees where it stands
    assert (
        centre.call("GET", f"/api/v1/md/requests/{request['id']}", "defender", 200).json()["state"]
        == "requested"
    )


def test_review_by_a_second_professional_where_the_sede_asks(centre, app):
    app.state.md_settings.review_required_sedes = [centre.sede]
    try:
        request = centre.request()
        centre.assign(request)
        centre.draft(request, PSYCH_CONTENT)
        blocked = centre.sign(request, status=409)
        assert "revisión" in blocked.json()["message"]
        base = f"/api/v1/md/requests/{request['id']}/report"
        centre.call(
            "POST",
            f"{base}/review-request",
            "psych",
            422,
            params={"reviewer_id": centre.ids["psych"]},
        )
        centre.call(
            "POST",
            f"{base}/review-request",
            "psych",
            422,
            params={"reviewer_id": centre.ids["doctor"]},
        )
        version = centre.call(
            "POST",
            f"{base}/review-request",
            "psych",
            200,
            params={"reviewer_id": centre.ids["psych2"]},
        ).json()
        assert version["status"] == "in_review"
        report_id = centre.call("GET", f"{base}/status", "psych", 200).json()["id"]
        centre.call(
            "POST", f"/api/v1/md/reports/{report_id}/review", "doctor", 403, json={"approve": True}
        )
        centre.call(
            "POST", f"/api/v1/md/reports/{report_id}/review", "psych2", 200, json={"approve": True}
        )
        assert centre.sign(request).json()["status"] == "signed"
    finally:
        app.state.md_settings.review_required_sedes = []


def test_authority_data_all_or_nothing_and_profile_match(centre):
    body = {
        "service_type": "pericia_psicologica",
        "case_id": centre.case_id,
        "questions": "¿Afectación psicológica?",
        "authority_kind": "juzgado",
    }
    missing = centre.call("POST", "/api/v1/md/requests", "defender", 422, json=body)
    assert "número de expediente" in missing.json()["message"]
    request = centre.request(service_type="reconocimiento_medico_legal")
    wrong = centre.call(
        "POST",
        f"/api/v1/md/requests/{request['id']}/assignment",
        "coord",
        422,
        json={"professional_id": centre.ids["psych"]},
    )
    assert "medico legista" in wrong.json()["message"]
    # only the coordinator assigns; a defender cannot
    centre.call(
        "POST",
        f"/api/v1/md/requests/{request['id']}/assignment",
        "defender",
        403,
        json={"professional_id": centre.ids["doctor"]},
    )


def test_tray_nearest_deadline_first_and_only_open(centre, db):
    urgent = centre.request(urgency="urgente")
    normal = centre.request()
    for r in (normal, urgent):
        centre.assign(r)
    done = centre.request()
    centre.assign(done)
    centre.draft(done, PSYCH_CONTENT)
    centre.sign(done)
    tray = centre.call("GET", "/api/v1/md/tray", "psych", 200).json()
    assert [r["id"] for r in tray] == [urgent["id"], normal["id"]]
    assert centre.call("GET", "/api/v1/md/tray", "psych2", 200).json() == []
    db.rollback()
    assert db.exec(select(MdRequest).where(MdRequest.id == done["id"])).one().state == "reported"
    db.rollback()
