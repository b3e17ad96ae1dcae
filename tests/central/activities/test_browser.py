"""The programming form and the supervision dashboard in Debian's Chromium (Playwright) against a
real central server: Spanish validation, charts, exports and scoping. Screenshots are written to
test-artifacts/screens/activities-*.png."""

from __future__ import annotations

import io

import pytest
from sqlmodel import select

from central.activities import service
from central.activities.schemas import ManualActivityCreate, ManualKind, PlanCreate, PlanTargets
from central.auth.policy import EVERYWHERE, Profile, ScopeKind
from central.core.db import make_engine, session_scope
from central.seed import DEMO_DISTRICT, DEMO_MEGA, DEMO_SEDE
from central.users.models import User
from tests.central.conftest import SYSTEM
from tests.central.web.conftest import (  # noqa: F401 (fixtures)
    browser,
    no_horizontal_scroll,
    page,
    shot,
    sign_in,
    web_server,
)

from .conftest import HubFeed, lima

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def month_data(web_server):  # noqa: F811
    """Three professionals at two sedes of the demo district with plans for March 2026, their
    counter work synced from the hubs, a talk recorded by hand."""
    people = {
        "maria": web_server.make_user(
            Profile.DEFENSOR_PUBLICO, scope=ScopeKind.SEDE, sede=DEMO_SEDE,
            display_name="María Quispe Huamán",
        ),
        "jorge": web_server.make_user(
            Profile.DEFENSOR_PUBLICO, scope=ScopeKind.SEDE, sede=DEMO_SEDE,
            display_name="Jorge Ramos Ccori",
        ),
        "elena": web_server.make_user(
            Profile.DEFENSOR_PUBLICO, scope=ScopeKind.SEDE, sede=DEMO_MEGA,
            display_name="Elena Torres Vilca",
        ),
    }  # fmt: skip
    engine = make_engine(web_server.database_url)
    with session_scope(engine) as session:
        ids = {
            key: session.exec(select(User.id).where(User.username == account.username)).one()
            for key, account in people.items()
        }
        for key, sede, attentions, talks in (
            ("maria", DEMO_SEDE, 20, 2),
            ("jorge", DEMO_SEDE, 16, 1),
            ("elena", DEMO_MEGA, 12, 0),
        ):
            service.create_plan(
                session=session,
                actor=SYSTEM,
                area=EVERYWHERE,
                data=PlanCreate(
                    sede_id=sede,
                    professional_id=ids[key],
                    month="2026-03",
                    targets=PlanTargets(attentions=attentions, talks=talks, hearings=4),
                ),
            )
        # open case files: Elena carries more than the ceiling (120), María fewer
        from central.cases.models import CaseAction, CaseFile
        from central.citizens.models import Citizen

        citizen = Citizen(
            doc_type="dni",
            doc_number="40112233",
            given_names="Rosa",
            surnames="Quispe Mamani",
            name_norm="quispe mamani rosa",
            sede_id=DEMO_SEDE,
        )
        session.add(citizen)
        session.flush()
        for n, (key, sede, state) in enumerate(
            [("elena", DEMO_MEGA, "in_progress")] * 131
            + [("maria", DEMO_SEDE, "open")] * 64
            + [("maria", DEMO_SEDE, "closed")] * 5
        ):
            case = CaseFile(
                number=f"BR-{n:06d}",
                district_id=DEMO_DISTRICT,
                sede_id=sede,
                year=2026,
                seq=n + 1,
                service="asistencia_legal",
                matter="alimentos",
                attention_type="patrocinio" if n % 40 == 0 else "asistencia",
                state=state,
                client_citizen_id=citizen.id,
                assigned_user_id=ids[key],
                opened_at=lima(2026, 3, 1 + n % 28, 10),
            )
            session.add(case)
            session.flush()
            if n % 50 == 0:
                session.add(
                    CaseAction(
                        case_id=case.id,
                        sede_id=sede,
                        action_type="audiencia",
                        action_date=lima(2026, 3, 10).date(),
                        author_user_id=ids[key],
                    )
                )
        service.record_activity(
            session=session,
            actor=SYSTEM,
            area=EVERYWHERE,
            data=ManualActivityCreate(
                sede_id=DEMO_SEDE,
                professional_id=ids["maria"],
                kind=ManualKind.CHARLA,
                activity_date=lima(2026, 3, 12).date(),
                title="Charla sobre pensión de alimentos en el mercado central",
                participants=48,
            ),
        )
    for sede, work in (
        (DEMO_SEDE, (("maria", 18, 12), ("jorge", 9, 25))),
        (DEMO_MEGA, (("elena", 14, 17),)),
    ):
        feed = HubFeed(sede)
        for key, count, minutes in work:
            username = people[key].username
            for day in (2, 3, 4):
                session_id = feed.session(
                    username=username, counter_id="v1", signed_in_at=lima(2026, 3, day, 8)
                )
                feed.pause(
                    counter_id="v1",
                    session_id=session_id,
                    started_at=lima(2026, 3, day, 13),
                    minutes=30,
                )
            for i in range(count):
                feed.attention(
                    username=username,
                    counter_id="v1",
                    called_at=lima(2026, 3, 2 + i % 3, 9 + i // 3),
                    minutes=minutes + i % 5,
                )
        feed.push(engine)
    engine.dispose()
    return people


def test_supervision_dashboard_charts_exports_and_scope(page, web_server, month_data):  # noqa: F811
    director = web_server.make_user(
        Profile.DIRECTOR_DISTRITAL, scope=ScopeKind.DISTRICT, district=DEMO_DISTRICT
    )
    sign_in(page, web_server, director)
    page.click("nav >> text=Supervisión")
    page.fill("#f-desde", "2026-03")
    page.click("form.filters button[type=submit]")
    page.wait_for_selector("#supervision-table")
    assert page.locator("#fig-attentions").inner_text() == "41"
    assert page.locator("#fig-over").inner_text() == "1"  # Elena: 131 open files > 120
    assert "sobre el tope" in (page.locator("#chart-workload").text_content() or "")
    assert "de 48 programadas" in page.locator(".figures").inner_text()
    for chart in ("#chart-types", "#chart-compliance", "#chart-workload"):
        assert page.locator(chart).is_visible()
    table = page.locator("#supervision-table").inner_text()
    for name in ("María Quispe Huamán", "Jorge Ramos Ccori", "Elena Torres Vilca"):
        assert name in table
    assert no_horizontal_scroll(page)
    shot(page, "activities-supervision-director")

    by_sede = page.url.replace("por=professional", "por=sede")
    page.goto(by_sede if "por=" in by_sede else page.url + "&por=sede")
    assert page.locator("#supervision-table tbody tr").count() == 2
    shot(page, "activities-supervision-by-sede")

    with page.expect_download() as info:
        page.click("text=Exportar a Excel")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(open(download.path(), "rb").read()))
    values = [[c.value for c in row] for row in workbook["Supervisión"].iter_rows(min_row=7)]
    assert values[-1][0] == "Total" and values[-1][2] == 41
    with page.expect_download() as pdf_info:
        page.click("text=Exportar a PDF")
    assert open(pdf_info.value.path(), "rb").read(5) == b"%PDF-"

    # a bad month in the address: a Spanish message, no report
    page.goto(web_server.base_url + "/supervision?desde=2026-13")
    assert "AAAA-MM" in page.locator("main").inner_text()
    assert page.locator("#supervision-table").count() == 0


def test_coordinator_sees_only_their_sede(page, web_server, month_data):  # noqa: F811
    coordinator = web_server.make_user(
        Profile.COORDINADOR_SEDE, scope=ScopeKind.SEDE, sede=DEMO_MEGA
    )
    sign_in(page, web_server, coordinator)
    page.goto(web_server.base_url + "/supervision?desde=2026-03")
    table = page.locator("#supervision-table").inner_text()
    assert "Elena Torres Vilca" in table
    assert "María Quispe Huamán" not in table and "Jorge Ramos Ccori" not in table
    assert page.locator("#fig-attentions").inner_text() == "14"
    shot(page, "activities-supervision-coordinator")
    # another sede by address: not found
    response = page.goto(web_server.base_url + f"/supervision?desde=2026-03&sede={DEMO_SEDE}")
    assert response is not None and response.status == 404


def test_programming_form_validation_in_spanish(page, web_server, month_data):  # noqa: F811
    coordinator = web_server.make_user(
        Profile.COORDINADOR_SEDE, scope=ScopeKind.SEDE, sede=DEMO_SEDE
    )
    sign_in(page, web_server, coordinator)
    page.click("nav >> text=Programación")
    page.click("text=Nueva programación")
    page.select_option("#f-sede_id", DEMO_SEDE)
    page.select_option("#f-professional_id", label="Jorge Ramos Ccori")
    page.fill("#f-month", "2026-04")
    page.fill("#f-target_attentions", "-5")
    page.fill("#f-target_hearings", "6")
    page.click("form.panel button[type=submit]")
    error = page.locator("#e-target_attentions")
    assert "0" in error.inner_text() and "10 000" in error.inner_text()
    shot(page, "activities-plan-form-error")
    page.fill("#f-target_attentions", "85")
    page.click("form.panel button[type=submit]")
    page.wait_for_selector(".notice")
    assert "Programación registrada" in page.locator(".notice").inner_text()
    assert page.locator("#f-target_attentions").input_value() == "85"
    shot(page, "activities-plan-created")
    # the same professional and month again
    page.goto(web_server.base_url + "/programacion/nueva")
    page.select_option("#f-sede_id", DEMO_SEDE)
    page.select_option("#f-professional_id", label="Jorge Ramos Ccori")
    page.fill("#f-month", "2026-04")
    page.click("form.panel button[type=submit]")
    assert (
        "Ya existe una programación de Jorge Ramos Ccori para abril de 2026"
        in page.locator(".alert").inner_text()
    )
    shot(page, "activities-plan-duplicate")
    page.goto(web_server.base_url + "/programacion?mes=2026-04")
    assert "Jorge Ramos Ccori" in page.locator("table").inner_text()


def test_professional_records_a_talk(page, web_server, month_data):  # noqa: F811
    """A defender records their own talk; a date in the future is refused in Spanish."""
    defender = month_data["jorge"]
    sign_in(page, web_server, defender)
    page.click("nav >> text=Actividades")
    assert page.locator("nav >> text=Supervisión").count() == 0  # no supervision grant
    page.click("text=Registrar actividad")
    assert page.locator("#f-professional_id").count() == 0  # records only their own
    page.select_option("#f-kind", "charla")
    page.fill("#f-activity_date", "2099-01-10")
    page.fill("#f-title", "Charla sobre violencia familiar en la I.E. 1024")
    page.fill("#f-participants", "60")
    page.click("form.panel button[type=submit]")
    assert "posterior a hoy" in page.locator(".alert").inner_text()
    shot(page, "activities-activity-form-error")
    page.fill("#f-activity_date", "2026-03-20")
    page.click("form.panel button[type=submit]")
    page.wait_for_selector(".notice")
    rows = page.locator("table tbody").inner_text()
    assert "Charla sobre violencia familiar en la I.E. 1024" in rows and "Jorge Ramos Ccori" in rows
    assert no_horizontal_scroll(page)
    shot(page, "activities-activity-list")
