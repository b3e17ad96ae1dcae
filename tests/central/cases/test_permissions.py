"""Permission matrix of the Module 02 routes (citizens, eligibility, case files), checked against
the matrix written by hand in tests/central/expected_permissions.py: every profile, anchored at
sede A1 / district A / national, calls every route about data in sede A1, sede A2 (same
district) and sede B1 (other district). Allowed (by the hand table) -> 2xx; refused -> 403/404 and
the audit chain does not move; allowed writes and sensitive reads leave an audit row; lists
show exactly what the area allows."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlmodel import select

from central.audit.models import AuditChainHead
from central.auth.deps import api_routes
from central.auth.policy import (
    ALLOWED_SCOPES,
    SENSITIVE_ACTIONS,
    Area,
    Profile,
    ScopeKind,
)
from central.cases import service as cases
from central.cases.schemas import (
    ActionCreate,
    CaseCreate,
    DeadlineCreate,
    PartyCreate,
    ReferralCreate,
)
from central.cases.settings import CasesSettings
from central.citizens import service as citizens
from central.citizens.schemas import CitizenCreate, EligibilityCreate
from central.documents.storage import MemoryStorage
from tests.central.cases.conftest import next_dni
from tests.central.conftest import SYSTEM, sign_in
from tests.central.expected_permissions import expected_area

MINE = ("/api/v1/citizens", "/api/v1/eligibility", "/api/v1/cases")
_n = itertools.count(1)
PDF = b"%PDF-1.4\n%%EOF\n"
TODAY = date.today()


@dataclass(frozen=True)
class Place:
    sede_id: str
    district_id: str


@dataclass
class Call:
    method: str
    url: str
    json: Any = None
    place: Place | None = None
    params: dict | None = None
    files: dict | None = None
    data: dict | None = None
    national_only: bool = False
    district_level: bool = False
    anywhere: bool = False  # not tied to a place: allowed wherever the action is held


class Arranger:
    """Data in a place, made through the services as the system."""

    def __init__(self, db, storage: MemoryStorage) -> None:
        self.db = db
        self.storage = storage
        self.settings = CasesSettings()

    def citizen(self, place: Place, **changes) -> str:
        person = citizens.create_citizen(
            session=self.db,
            actor=SYSTEM,
            data=CitizenCreate(
                sede_id=place.sede_id,
                doc_type="dni",
                doc_number=next_dni(),
                given_names=f"Persona {next(_n)}",
                surnames="Matriz",
                confirm_not_duplicate=True,
                **changes,
            ),
        )
        self.db.commit()
        return person.id

    def case(self, place: Place) -> str:
        case = cases.open_case(
            session=self.db,
            actor=SYSTEM,
            settings=self.settings,
            area=None,
            data=CaseCreate(
                sede_id=place.sede_id,
                service="asistencia_legal",
                matter="alimentos",
                attention_type="asistencia",
                client_citizen_id=self.citizen(place),
            ),
        )
        self.db.commit()
        return case.id

    def case_with_action(self, place: Place, notes: str) -> str:
        case_id = self.case(place)
        cases.add_action(
            session=self.db,
            actor=SYSTEM,
            case_id=case_id,
            area=Area(national=True),
            settings=self.settings,
            data=ActionCreate(action_type="nota", action_date=TODAY, notes=notes),
        )
        self.db.commit()
        return case_id

    def party(self, place: Place) -> tuple[str, str]:
        case_id = self.case(place)
        party = cases.add_party_to(
            session=self.db,
            actor=SYSTEM,
            case_id=case_id,
            area=Area(national=True),
            data=PartyCreate(role="counterpart", name="Contraparte de prueba"),
        )
        self.db.commit()
        return case_id, party.id

    def deadline(self, place: Place, *, overdue: bool = False) -> tuple[str, str]:
        case_id = self.case(place)
        start = date(2024, 1, 2) if overdue else TODAY
        deadline = cases.add_deadline(
            session=self.db,
            actor=SYSTEM,
            case_id=case_id,
            area=Area(national=True),
            settings=self.settings,
            data=DeadlineCreate(title="Plazo", start_date=start, business_days=2),
        )
        self.db.commit()
        return case_id, deadline.id

    def referral(
        self, place: Place, *, internal_to: str | None = None, from_place: Place | None = None
    ) -> tuple[str, str]:
        case_id = self.case(from_place or place)
        data = (
            ReferralCreate(kind="internal", to_sede_id=internal_to, reason="Matriz")
            if internal_to
            else ReferralCreate(kind="external", institution="cem", reason="Matriz")
        )
        referral = cases.create_referral(
            session=self.db, actor=SYSTEM, case_id=case_id, data=data, area=Area(national=True)
        )
        self.db.commit()
        return case_id, referral.id

    def document(self, place: Place) -> tuple[str, str]:
        import io

        case_id = self.case(place)
        document = cases.upload_document(
            session=self.db,
            actor=SYSTEM,
            case_id=case_id,
            area=Area(national=True),
            storage=self.storage,
            settings=self.settings,
            filename="a.pdf",
            stream=io.BytesIO(PDF),
            category="escrito",
        )
        self.db.commit()
        return case_id, document.id

    def statement(self, place: Place) -> tuple[str, str]:
        person = self.citizen(place)
        statement = citizens.create_statement(
            session=self.db,
            actor=SYSTEM,
            citizen_id=person,
            area=Area(national=True),
            data=EligibilityCreate(household_size=2, monthly_income_soles=100),
        )
        self.db.commit()
        return person, statement.id

    def revision(self, case_id: str) -> int:
        from central.cases.models import CaseFile

        self.db.expire_all()
        revision = self.db.get(CaseFile, case_id).revision
        self.db.rollback()
        return revision

    def citizen_revision(self, citizen_id: str) -> int:
        from central.citizens.models import Citizen

        self.db.expire_all()
        revision = self.db.get(Citizen, citizen_id).revision
        self.db.rollback()
        return revision


def build(path: str, method: str, place: Place, arr: Arranger, other: Place) -> Call:
    s = place.sede_id
    c = "/api/v1/cases"
    p = "/api/v1/citizens"
    key = (method, path)

    def case_url(suffix: str = "") -> str:
        return f"{c}/{arr.case(place)}{suffix}"

    def deadline_done() -> Call:
        case_id, deadline_id = arr.deadline(place)
        return Call("POST", f"{c}/{case_id}/deadlines/{deadline_id}/done")

    def party_removal() -> Call:
        case_id, party_id = arr.party(place)
        return Call(
            "POST", f"{c}/{case_id}/parties/{party_id}/removal", {"reason": "Registro por error"}
        )

    def letter() -> Call:
        case_id, referral_id = arr.referral(place)
        return Call("GET", f"{c}/{case_id}/referrals/{referral_id}/letter")

    def decision() -> Call:
        _, referral_id = arr.referral(place, internal_to=place.sede_id, from_place=other)
        return Call("POST", f"{c}/referrals/{referral_id}/decision", {"accept": True})

    def content() -> Call:
        case_id, document_id = arr.document(place)
        return Call("GET", f"{c}/{case_id}/documents/{document_id}/content")

    def merge() -> Call:
        survivor, merged = arr.citizen(place), arr.citizen(place)
        return Call(
            "POST", f"{p}/{survivor}/merge", {"merged_id": merged, "reason": "Misma persona"}
        )

    def patch_case() -> Call:
        case_id = arr.case(place)
        return Call(
            "PATCH", f"{c}/{case_id}", {"base_revision": arr.revision(case_id), "court": "Juzgado"}
        )

    def patch_citizen() -> Call:
        person = arr.citizen(place)
        return Call(
            "PATCH",
            f"{p}/{person}",
            {"base_revision": arr.citizen_revision(person), "phone": "987654321"},
        )

    def eligibility_decision() -> Call:
        _, statement_id = arr.statement(place)
        return Call("POST", f"/api/v1/eligibility/{statement_id}/decision", {"outcome": "verified"})

    builders = {
        ("POST", p): lambda: Call(
            "POST",
            p,
            {
                "sede_id": s,
                "doc_type": "dni",
                "doc_number": next_dni(),
                "given_names": f"Nueva {next(_n)}",
                "surnames": "Persona",
            },
        ),
        ("GET", f"{p}/{{citizen_id}}"): lambda: Call("GET", f"{p}/{arr.citizen(place)}"),
        ("PATCH", f"{p}/{{citizen_id}}"): patch_citizen,
        ("POST", f"{p}/{{citizen_id}}/merge"): merge,
        ("GET", f"{p}/{{citizen_id}}/merges"): lambda: Call(
            "GET", f"{p}/{arr.citizen(place)}/merges"
        ),
        ("GET", f"{p}/{{citizen_id}}/eligibility/status"): lambda: Call(
            "GET", f"{p}/{arr.citizen(place)}/eligibility/status"
        ),
        ("GET", f"{p}/{{citizen_id}}/eligibility"): lambda: Call(
            "GET", f"{p}/{arr.statement(place)[0]}/eligibility"
        ),
        ("POST", f"{p}/{{citizen_id}}/eligibility"): lambda: Call(
            "POST",
            f"{p}/{arr.citizen(place)}/eligibility",
            {"household_size": 3, "monthly_income_soles": "420"},
        ),
        ("POST", "/api/v1/eligibility/{statement_id}/decision"): eligibility_decision,
        ("POST", c): lambda: Call(
            "POST",
            c,
            {
                "sede_id": s,
                "service": "defensa_penal",
                "matter": "penal_defensa",
                "attention_type": "patrocinio",
                "client_citizen_id": arr.citizen(place),
            },
        ),
        ("GET", f"{c}/dashboard"): lambda: Call(
            "GET",
            f"{c}/dashboard",
            params={"district_id": place.district_id, "year": TODAY.year, "month": TODAY.month},
            district_level=True,
        ),
        ("POST", f"{c}/ingest-intakes"): lambda: Call(
            "POST", f"{c}/ingest-intakes", national_only=True
        ),
        ("POST", f"{c}/referrals/{{referral_id}}/decision"): decision,
        ("GET", f"{c}/{{case_id}}"): lambda: Call("GET", case_url()),
        ("PATCH", f"{c}/{{case_id}}"): patch_case,
        ("POST", f"{c}/{{case_id}}/transitions"): lambda: Call(
            "POST", case_url("/transitions"), {"to_state": "in_progress"}
        ),
        ("POST", f"{c}/{{case_id}}/parties"): lambda: Call(
            "POST", case_url("/parties"), {"role": "minor", "name": "Menor"}
        ),
        ("POST", f"{c}/{{case_id}}/parties/{{party_id}}/removal"): party_removal,
        ("GET", f"{p}/lookup"): lambda: Call(
            "GET", f"{p}/lookup", params={"dni": "70000001"}, anywhere=True
        ),
        ("GET", f"{c}/{{case_id}}/restricted"): lambda: Call("GET", case_url("/restricted")),
        ("GET", f"{c}/{{case_id}}/timeline"): lambda: Call("GET", case_url("/timeline")),
        ("GET", f"{c}/{{case_id}}/actions"): lambda: Call("GET", case_url("/actions")),
        ("POST", f"{c}/{{case_id}}/actions"): lambda: Call(
            "POST",
            case_url("/actions"),
            {"action_type": "visita", "action_date": TODAY.isoformat()},
        ),
        ("GET", f"{c}/{{case_id}}/deadlines"): lambda: Call("GET", case_url("/deadlines")),
        ("POST", f"{c}/{{case_id}}/deadlines"): lambda: Call(
            "POST",
            case_url("/deadlines"),
            {"title": "P", "start_date": TODAY.isoformat(), "business_days": 5},
        ),
        ("POST", f"{c}/{{case_id}}/deadlines/{{deadline_id}}/done"): deadline_done,
        ("GET", f"{c}/{{case_id}}/referrals"): lambda: Call("GET", case_url("/referrals")),
        ("POST", f"{c}/{{case_id}}/referrals"): lambda: Call(
            "POST",
            case_url("/referrals"),
            {"kind": "external", "institution": "pnp", "reason": "Denuncia"},
        ),
        ("GET", f"{c}/{{case_id}}/referrals/{{referral_id}}/letter"): letter,
        ("GET", f"{c}/{{case_id}}/documents"): lambda: Call("GET", case_url("/documents")),
        ("POST", f"{c}/{{case_id}}/documents"): lambda: Call(
            "POST",
            case_url("/documents"),
            files={"file": ("x.pdf", PDF, "application/pdf")},
            data={"category": "escrito"},
        ),
        ("GET", f"{c}/{{case_id}}/documents/{{document_id}}/content"): content,
    }
    if key not in builders:
        raise AssertionError(f"no request builder for {method} {path}")
    call = builders[key]()
    call.place = call.place or place
    return call


# list routes: (path, params, what to arrange in each place, how to read an item's sede)
LISTS = {
    "/api/v1/citizens": ({}, "citizen"),
    "/api/v1/cases": ({}, "case"),
    "/api/v1/cases/overdue": ({}, "overdue"),
    "/api/v1/eligibility/overdue": ({}, "late_statement"),
    "/api/v1/cases/notes-search": ({"q": "matrizpalabra"}, "note"),
}


def _head(db) -> int:
    db.expire_all()
    seq = db.exec(select(AuditChainHead.last_seq)).one()
    db.rollback()
    return seq


def _anchor(profile: Profile, world) -> tuple[ScopeKind, dict[str, str]]:
    scopes = ALLOWED_SCOPES[profile]
    if ScopeKind.SEDE in scopes:
        return ScopeKind.SEDE, {"sede": world.sede_a1}
    if ScopeKind.DISTRICT in scopes:
        return ScopeKind.DISTRICT, {"district": world.district_a}
    return ScopeKind.NATIONAL, {}


def test_every_module_02_route_has_a_builder(app):
    routes = [r for r in api_routes(app) if r.path.startswith(MINE)]
    assert len(routes) >= 30
    for route in routes:
        assert route.rule is not None, route.path
        if route.rule in {"authenticated", "public", "device"} or route.path in LISTS:
            continue
        assert route.rule.split(".")[0] in {"citizens", "income", "cases"}, route


@pytest.mark.parametrize("profile", list(Profile), ids=lambda p: p.value)
def test_module_02_permission_matrix(profile, client, app, world, factory, db):
    storage = MemoryStorage()
    app.state.document_storage = storage
    scope, anchor = _anchor(profile, world)
    account = factory.user(profile, scope, **anchor)
    headers = sign_in(client, account)
    arr = Arranger(db, storage)
    places = [
        Place(world.sede_a1, world.district_a),
        Place(world.sede_a2, world.district_a),
        Place(world.sede_b1, world.district_b),
    ]
    arranged: dict[str, dict[str, str]] = {kind: {} for _, kind in LISTS.values()}
    for place in places:
        arranged["citizen"][arr.citizen(place)] = place.sede_id
        arranged["case"][arr.case(place)] = place.sede_id
        arranged["overdue"][arr.deadline(place, overdue=True)[1]] = place.sede_id
        statement_owner, statement_id = arr.statement(place)
        from central.citizens.models import EligibilityStatement

        row = db.get(EligibilityStatement, statement_id)
        row.verification_due = date(2024, 1, 1)
        db.add(row)
        db.commit()
        arranged["late_statement"][statement_id] = place.sede_id
        arranged["note"][arr.case_with_action(place, "matrizpalabra de la sede")] = place.sede_id
    failures: list[str] = []
    checked = 0
    for route in api_routes(app):
        if not route.path.startswith(MINE) or route.rule in {
            "authenticated",
            "public",
            "device",
            None,
        }:
            continue
        action = route.rule
        # expectations written by hand (tests/central/expected_permissions.py), never taken
        # from the policy under test
        area = expected_area(
            profile.value, action, sede_id=anchor.get("sede"), district_id=anchor.get("district")
        )
        method = sorted(route.methods)[0]
        if route.path in LISTS and method == "GET":
            params, kind = LISTS[route.path]
            response = client.get(route.path, params={**params, "limit": 200}, headers=headers)
            checked += 1
            if area.empty:
                if response.status_code != 403:
                    failures.append(f"GET {route.path}: expected 403, got {response.status_code}")
                continue
            if response.status_code != 200:
                failures.append(
                    f"GET {route.path}: expected 200, got {response.status_code} {response.text[:200]}"
                )
                continue
            item_ids = {
                item.get("case_id") if kind == "note" else item["id"] for item in response.json()
            }
            for item_id, sede in arranged[kind].items():
                place = next(p for p in places if p.sede_id == sede)
                expected = area.contains(sede_id=place.sede_id, district_id=place.district_id)
                if (item_id in item_ids) != expected:
                    failures.append(
                        f"GET {route.path}: {kind} of {sede} shown={item_id in item_ids} expected={expected}"
                    )
            continue
        for place in places:
            other = places[2] if place != places[2] else places[0]
            call = build(route.path, method, place, arr, other)
            if call.national_only:
                allowed = area.national
            elif call.anywhere:
                allowed = not area.empty
            elif call.district_level:
                allowed = area.contains(district_id=place.district_id)
            else:
                allowed = area.contains(sede_id=place.sede_id, district_id=place.district_id)
            before = _head(db)
            response = client.request(
                call.method,
                call.url,
                json=call.json,
                params=call.params,
                files=call.files,
                data=call.data,
                headers=headers,
            )
            checked += 1
            ok = 200 <= response.status_code < 300
            if allowed and not ok:
                failures.append(
                    f"{call.method} {route.path} ({place.sede_id}): expected success, got {response.status_code} {response.text[:200]}"
                )
            if not allowed:
                if ok or response.status_code not in {403, 404}:
                    failures.append(
                        f"{call.method} {route.path} ({place.sede_id}): expected 403/404, got {response.status_code}"
                    )
                if _head(db) != before:
                    failures.append(
                        f"{call.method} {route.path} ({place.sede_id}): refused but the audit chain moved"
                    )
            audited = (
                call.method != "GET"
                or action in SENSITIVE_ACTIONS
                or route.path.endswith(("/content", "/letter", "/lookup"))
            )
            if allowed and ok and audited and _head(db) == before:
                failures.append(f"{call.method} {route.path}: allowed but left no audit row")
    assert checked > 60
    assert not failures, "\n".join(failures)
