"""Module 01 rules on SQLite and PostgreSQL: plan validation, executed activity counted from the
synced queue (through central's real sync apply path) and from case files, planned against
executed across a range, productivity, the workload ceiling, and scoping."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import select

from central.activities import service
from central.activities.models import ActivityPlan, ActivityPlanTarget, ManualActivity
from central.activities.schemas import (
    GroupBy,
    ManualActivityCreate,
    ManualKind,
    PlanCreate,
    PlanTargets,
    PlanUpdate,
    SupervisionQuery,
)
from central.audit.models import AuditEvent
from central.auth.policy import EVERYWHERE, Area, area_for
from central.domain.actor import Actor
from central.domain.errors import Conflict, Duplicate, NotFound, PermissionDenied, ValidationFailed
from contracts.errors import ErrorCode
from tests.central.conftest import SYSTEM

from .conftest import lima

_n = itertools.count(1)


def actor_of(account, profile: str, *, sede=None, district=None, scope="sede") -> Actor:
    return Actor(
        user_id=account.id,
        username=account.username,
        profiles=(profile,),
        scope_kind=scope,
        sede_id=sede,
        district_id=district,
    )


def plan(db, account, sede, month, **targets) -> str:
    created = service.create_plan(
        session=db,
        actor=SYSTEM,
        area=EVERYWHERE,
        data=PlanCreate(
            sede_id=sede, professional_id=account.id, month=month, targets=PlanTargets(**targets)
        ),
    )
    db.commit()
    return created.id


def report(db, month_from, month_to=None, *, area: Area = EVERYWHERE, **kw):
    return service.supervision_report(
        session=db,
        area=area,
        query=SupervisionQuery(month_from=month_from, month_to=month_to, **kw),
        now=datetime(2030, 1, 1).astimezone(),
    )


def row_for(rep, key_part: str):
    rows = [r for r in rep.rows if key_part in r.key]
    assert len(rows) == 1, [r.key for r in rep.rows]
    return rows[0]


def figure(row, activity_type: str):
    return next(f for f in row.figures if f.activity_type.value == activity_type)


def counts(db) -> tuple[int, int, int, int]:
    db.expire_all()
    result = tuple(
        db.exec(select(func.count()).select_from(model)).one()
        for model in (ActivityPlan, ActivityPlanTarget, ManualActivity, AuditEvent)
    )
    db.rollback()
    return result  # type: ignore[return-value]


# -------------------------------------------------------------------------------- plans


@pytest.mark.parametrize(
    "month", ["2026-13", "2026-00", "26-03", "2026/03", "marzo", "1999-12", ""]
)
def test_plan_month_format_is_refused_in_spanish(month):
    with pytest.raises(ValidationError) as caught:
        PlanCreate(sede_id="sede-a1", professional_id="x", month=month)
    assert "AAAA-MM" in str(caught.value)


@pytest.mark.parametrize("bad", [-1, 10_001, 2.5, "muchas"])
def test_plan_targets_must_be_non_negative_whole_numbers(bad):
    with pytest.raises(ValidationError):
        PlanTargets(attentions=bad)


def test_plan_create_validates_professional_and_refuses_duplicates(db, world, staff):
    before = counts(db)
    # the professional works at another sede
    with pytest.raises(ValidationFailed) as caught:
        plan(db, staff.defensor_a2, world.sede_a1, "2026-03", attentions=10)
    assert caught.value.code == ErrorCode.INVALID_PAYLOAD
    assert caught.value.fields[0].field == "professional_id"
    assert "no pertenece a la sede" in caught.value.message
    db.rollback()
    # a coordinator is not a professional who is programmed
    with pytest.raises(ValidationFailed, match="perfil profesional"):
        plan(db, staff.coordinator_a1, world.sede_a1, "2026-03")
    db.rollback()
    # unknown person, unknown sede
    with pytest.raises(ValidationFailed):
        service.create_plan(
            session=db,
            actor=SYSTEM,
            area=EVERYWHERE,
            data=PlanCreate(sede_id=world.sede_a1, professional_id="nadie", month="2026-03"),
        )
    db.rollback()
    with pytest.raises(NotFound):
        plan(db, staff.defensor_a1, "sede-inexistente", "2026-03")
    db.rollback()
    assert counts(db) == before  # nothing half-written, nothing audited

    plan_id = plan(db, staff.defensor_a1, world.sede_a1, "2026-03", attentions=80, hearings=6)
    after_one = counts(db)
    assert after_one[0] == before[0] + 1 and after_one[1] == before[1] + 6
    assert after_one[3] == before[3] + 1  # audited
    event = db.exec(select(AuditEvent).where(AuditEvent.entity_id == plan_id)).one()
    assert event.action == "activity_plan.create" and event.sede_id == world.sede_a1
    db.rollback()

    with pytest.raises(Duplicate) as duplicate:
        plan(db, staff.defensor_a1, world.sede_a1, "2026-03", attentions=1)
    assert duplicate.value.code == ErrorCode.DUPLICATE
    assert "marzo de 2026" in duplicate.value.message
    db.rollback()
    assert counts(db) == after_one
    # another month is fine
    plan(db, staff.defensor_a1, world.sede_a1, "2026-04")


def test_plan_update_is_audited_and_checks_revision(db, world, staff):
    plan_id = plan(db, staff.defensor_a1, world.sede_a1, "2026-05", attentions=50)
    updated = service.update_plan(
        session=db,
        actor=SYSTEM,
        plan_id=plan_id,
        area=EVERYWHERE,
        data=PlanUpdate(targets=PlanTargets(attentions=60, talks=2), expected_revision=1),
    )
    db.commit()
    assert updated.revision == 2 and updated.targets["attentions"] == 60
    assert updated.targets["talks"] == 2
    with pytest.raises(Conflict):
        service.update_plan(
            session=db,
            actor=SYSTEM,
            plan_id=plan_id,
            area=EVERYWHERE,
            data=PlanUpdate(targets=PlanTargets(attentions=1), expected_revision=1),
        )
    db.rollback()
    actions = db.exec(
        select(AuditEvent.action).where(AuditEvent.entity_id == plan_id).order_by(AuditEvent.seq)
    ).all()
    assert actions == ["activity_plan.create", "activity_plan.update"]
    # outside the caller's area the plan does not exist
    with pytest.raises(NotFound):
        service.get_plan(
            session=db, plan_id=plan_id, area=Area(sede_ids=frozenset({world.sede_b1}))
        )


def test_manual_activity_rules(db, world, staff):
    own = actor_of(staff.defensor_a1, "defensor_publico", sede=world.sede_a1)
    area = area_for(own, "activities.record")
    today = date(2026, 3, 20)
    recorded = service.record_activity(
        session=db,
        actor=own,
        area=area,
        today=today,
        data=ManualActivityCreate(
            sede_id=world.sede_a1,
            kind=ManualKind.CHARLA,
            activity_date=date(2026, 3, 18),
            title="Charla sobre pensión de alimentos",
            participants=35,
        ),
    )
    db.commit()
    assert recorded.professional_id == staff.defensor_a1.id
    assert recorded.counts_as is not None and recorded.counts_as.value == "talks"
    before = counts(db)
    # in the future
    with pytest.raises(ValidationFailed, match="posterior a hoy"):
        service.record_activity(
            session=db,
            actor=own,
            area=area,
            today=today,
            data=ManualActivityCreate(
                sede_id=world.sede_a1,
                kind=ManualKind.CAMPANA,
                activity_date=date(2026, 3, 21),
                title="Campaña",
            ),
        )
    db.rollback()
    # for someone else, without the right to programme the sede
    with pytest.raises(PermissionDenied):
        service.record_activity(
            session=db,
            actor=own,
            area=area,
            today=today,
            data=ManualActivityCreate(
                sede_id=world.sede_a1,
                professional_id=staff.defensor2_a1.id,
                kind=ManualKind.VISITA,
                activity_date=date(2026, 3, 1),
                title="Visita carcelaria",
            ),
        )
    db.rollback()
    # at a sede outside the area
    with pytest.raises(NotFound):
        service.record_activity(
            session=db,
            actor=own,
            area=area,
            today=today,
            data=ManualActivityCreate(
                sede_id=world.sede_b1,
                kind=ManualKind.CHARLA,
                activity_date=date(2026, 3, 1),
                title="Charla",
            ),
        )
    db.rollback()
    assert counts(db) == before
    # a coordinator records for the staff of their sede
    coordinator = actor_of(staff.coordinator_a1, "coordinador_sede", sede=world.sede_a1)
    service.record_activity(
        session=db,
        actor=coordinator,
        area=area_for(coordinator, "activities.record"),
        today=today,
        data=ManualActivityCreate(
            sede_id=world.sede_a1,
            professional_id=staff.defensor2_a1.id,
            kind=ManualKind.VISITA,
            activity_date=date(2026, 3, 2),
            title="Visita al penal",
        ),
    )
    db.commit()
    with pytest.raises(ValidationError):
        ManualActivityCreate(
            sede_id=world.sede_a1,
            kind=ManualKind.CHARLA,
            activity_date="2026-02-30",  # type: ignore[arg-type]
            title="x",
        )
    with pytest.raises(ValidationError):
        ManualActivityCreate(
            sede_id=world.sede_a1,
            kind=ManualKind.CHARLA,
            activity_date=date(2026, 2, 1),
            title="x",
            participants=-3,
        )


# ------------------------------------------------------------------ executed from the queue


def test_attentions_durations_pauses_and_days_from_synced_queue(db, engine, world, staff, hub_feed):
    a1 = staff.defensor_a1.username
    b = staff.defensor2_a1.username
    feed = hub_feed(world.sede_a1)
    # March 2 and 3: four attentions by a1 (10, 20, 30 min, and 12 min then transferred)
    s1 = feed.session(username=a1, counter_id="v1", signed_in_at=lima(2026, 3, 2, 8))
    feed.session(username=a1, counter_id="v1", signed_in_at=lima(2026, 3, 3, 8))
    feed.session(username=a1, counter_id="v1", signed_in_at=lima(2026, 3, 4, 8))  # no attentions
    feed.attention(username=a1, counter_id="v1", called_at=lima(2026, 3, 2, 9), minutes=10)
    feed.attention(username=a1, counter_id="v1", called_at=lima(2026, 3, 2, 10), minutes=20)
    feed.attention(username=a1, counter_id="v1", called_at=lima(2026, 3, 3, 9), minutes=30)
    feed.attention(
        username=a1,
        counter_id="v1",
        called_at=lima(2026, 3, 3, 11),
        minutes=12,
        finish="transferred",
        second_username=b,
        second_minutes=15,
    )
    feed.pause(counter_id="v1", session_id=s1, started_at=lima(2026, 3, 2, 13), minutes=45)
    # a pause whose session id is unknown: matched by counter and time
    feed.pause(counter_id="v1", session_id=None, started_at=lima(2026, 3, 3, 16), minutes=15)
    # outside March (Lima): 23:30 on Feb 28 is still February
    feed.attention(username=a1, counter_id="v1", called_at=lima(2026, 2, 28, 23, 20), minutes=5)
    # a hub-only user unknown to central
    feed.attention(username="temporal", counter_id="v3", called_at=lima(2026, 3, 5, 9), minutes=8)
    feed.push(engine)
    # another sede
    other = hub_feed(world.sede_a2)
    other.attention(
        username=staff.defensor_a2.username,
        counter_id="v1",
        called_at=lima(2026, 3, 2, 9),
        minutes=25,
    )
    other.push(engine)
    plan(db, staff.defensor_a1, world.sede_a1, "2026-03", attentions=8)

    rep = report(db, "2026-03", sede_id=world.sede_a1)
    assert rep.sources["queue"] is True
    first = row_for(rep, staff.defensor_a1.id)
    assert first.attentions == 4
    assert figure(first, "attentions").planned == 8
    assert figure(first, "attentions").compliance_pct == 50.0
    assert first.days_worked == 3  # two days with attentions, one day signed in only
    assert first.attentions_per_day == round(4 / 3, 2)
    assert first.avg_attention_minutes == pytest.approx((10 + 20 + 30 + 12) / 4, abs=0.05)
    assert first.pause_minutes == pytest.approx(60, abs=0.01)
    second = row_for(rep, staff.defensor2_a1.id)
    assert second.attentions == 1 and second.avg_attention_minutes == pytest.approx(15, abs=0.05)
    hub_only = row_for(rep, "hub:temporal")
    assert hub_only.label == "temporal (usuario de sede)" and hub_only.attentions == 1
    assert rep.totals.attentions == 6  # sede a2's attention is not in sede a1's report
    assert all(staff.defensor_a2.id not in r.key for r in rep.rows)

    # February sees only its own attention
    february = report(db, "2026-02", sede_id=world.sede_a1)
    assert february.totals.attentions == 1

    # re-sending the same batch (a hub retry) counts nothing twice
    feed.epoch = 1
    by_sede = report(db, "2026-03", group_by=GroupBy.SEDE)
    assert row_for(by_sede, world.sede_a1).attentions == 6
    assert row_for(by_sede, world.sede_a2).attentions == 1
    assert row_for(by_sede, world.sede_b1).attentions == 0  # every sede in scope gets a row


# ------------------------------------------------------------------ executed in case files


def _case_rows(db, world, staff):
    cases = pytest.importorskip("central.cases.models")
    citizens = pytest.importorskip("central.citizens.models")
    from central.activities import sources

    if not sources.available(db.connection()).cases:
        pytest.skip("case file tables not migrated")
    db.rollback()
    citizen = citizens.Citizen(
        doc_type="dni",
        doc_number=f"4{next(_n):07d}",
        given_names="Rosa",
        surnames="Quispe Mamani",
        name_norm="quispe mamani rosa",
        sede_id=world.sede_a1,
    )
    db.add(citizen)
    db.flush()

    def case_file(sede, district, who, state="open", attention_type="asistencia", opened=None):
        n = next(_n)
        row = cases.CaseFile(
            number=f"T-{n:06d}",
            district_id=district,
            sede_id=sede,
            year=2026,
            seq=n,
            service="asistencia_legal",
            matter="alimentos",
            attention_type=attention_type,
            state=state,
            client_citizen_id=citizen.id,
            assigned_user_id=who,
            opened_at=opened or datetime(2026, 3, 10, 15, 0).astimezone(),
        )
        db.add(row)
        db.flush()
        return row

    def action(case, who, action_type, day):
        db.add(
            cases.CaseAction(
                case_id=case.id,
                sede_id=case.sede_id,
                action_type=action_type,
                action_date=day,
                author_user_id=who,
                notes="",
            )
        )

    return case_file, action


def test_case_actions_patrocinios_and_workload_ceiling(db, world, staff):
    case_file, action = _case_rows(db, world, staff)
    d1 = staff.defensor_a1.id
    first = case_file(world.sede_a1, world.district_a, d1, attention_type="patrocinio")
    case_file(world.sede_a1, world.district_a, d1, attention_type="patrocinio")
    # opened in February (Lima): not a March patrocinio, still an open file
    case_file(
        world.sede_a1,
        world.district_a,
        d1,
        attention_type="patrocinio",
        opened=datetime.fromisoformat("2026-03-01T04:30:00+00:00"),
    )
    case_file(world.sede_a1, world.district_a, d1, state="in_progress")
    case_file(world.sede_a1, world.district_a, d1, state="closed")  # not open
    case_file(world.sede_a1, world.district_a, staff.defensor2_a1.id)
    action(first, d1, "audiencia", date(2026, 3, 12))
    action(first, d1, "audiencia", date(2026, 3, 30))
    action(first, d1, "audiencia", date(2026, 4, 1))  # April
    action(first, d1, "visita", date(2026, 3, 5))
    action(first, d1, "escrito", date(2026, 3, 5))  # not a counted type
    db.commit()
    service.record_activity(
        session=db,
        actor=SYSTEM,
        area=EVERYWHERE,
        today=date(2026, 12, 31),
        data=ManualActivityCreate(
            sede_id=world.sede_a1,
            professional_id=d1,
            kind=ManualKind.VISITA,
            activity_date=date(2026, 3, 6),
            title="Visita domiciliaria",
        ),
    )
    service.record_activity(
        session=db,
        actor=SYSTEM,
        area=EVERYWHERE,
        today=date(2026, 12, 31),
        data=ManualActivityCreate(
            sede_id=world.sede_a1,
            professional_id=d1,
            kind=ManualKind.CAPACITACION,
            activity_date=date(2026, 3, 7),
            title="Capacitación en Ley 30364",
        ),
    )
    db.commit()
    plan(db, staff.defensor_a1, world.sede_a1, "2026-03", hearings=4, visits=2, patrocinios=3)

    rep = service.supervision_report(
        session=db,
        area=EVERYWHERE,
        query=SupervisionQuery(month_from="2026-03", sede_id=world.sede_a1),
        workload_ceiling=3,
    )
    assert rep.sources["cases"] is True
    mine = row_for(rep, d1)
    assert figure(mine, "hearings").executed == 2
    assert figure(mine, "hearings").compliance_pct == 50.0
    assert figure(mine, "visits").executed == 2  # one case action + one by hand
    assert figure(mine, "visits").compliance_pct == 100.0
    assert figure(mine, "patrocinios").executed == 2
    assert mine.other_activities == 1  # the training counts towards no target
    assert mine.open_cases == 4  # closed file excluded
    assert mine.over_ceiling_count == 1 and mine.workload_pct == pytest.approx(133.3)
    colleague = row_for(rep, staff.defensor2_a1.id)
    assert colleague.open_cases == 1 and colleague.over_ceiling_count == 0
    by_sede = service.supervision_report(
        session=db,
        area=EVERYWHERE,
        query=SupervisionQuery(month_from="2026-03", group_by=GroupBy.SEDE),
        workload_ceiling=3,
    )
    sede_row = row_for(by_sede, world.sede_a1)
    assert sede_row.open_cases == 5 and sede_row.over_ceiling_count == 1
    assert sede_row.workload_pct == pytest.approx(round(100 * 2.5 / 3, 1))
    # with the default ceiling (120) nobody is over
    default = report(db, "2026-03", sede_id=world.sede_a1)
    assert default.totals.over_ceiling_count == 0 and default.workload_ceiling == 120


# -------------------------------------------------------- planned against executed, range


def test_planned_against_executed_across_a_range(db, engine, world, staff, hub_feed):
    d1, d2 = staff.defensor_a1, staff.defensor_a2
    plan(db, d1, world.sede_a1, "2026-01", attentions=10, talks=1)
    plan(db, d1, world.sede_a1, "2026-02", attentions=20, talks=1)
    plan(db, d1, world.sede_a1, "2026-03", attentions=40)  # outside the range asked
    plan(db, d2, world.sede_a2, "2026-02", attentions=5)
    feed = hub_feed(world.sede_a1)
    for day, count in ((15, 4), (16, 3)):
        for i in range(count):
            feed.attention(
                username=d1.username,
                counter_id="v1",
                called_at=lima(2026, 1, day, 9 + i),
                minutes=10,
            )
    for i in range(5):
        feed.attention(
            username=d1.username, counter_id="v1", called_at=lima(2026, 2, 3, 9 + i), minutes=6
        )
    feed.attention(username=d1.username, counter_id="v1", called_at=lima(2026, 3, 2), minutes=6)
    feed.push(engine)
    other = hub_feed(world.sede_a2)
    for i in range(6):
        other.attention(
            username=d2.username, counter_id="v1", called_at=lima(2026, 2, 10, 9 + i), minutes=20
        )
    other.push(engine)
    for when in (date(2026, 1, 20), date(2026, 2, 20), date(2026, 2, 21)):
        service.record_activity(
            session=db,
            actor=SYSTEM,
            area=EVERYWHERE,
            today=date(2026, 12, 31),
            data=ManualActivityCreate(
                sede_id=world.sede_a1,
                professional_id=d1.id,
                kind=ManualKind.FERIA,
                activity_date=when,
                title="Feria de servicios",
                participants=120,
            ),
        )
    db.commit()

    rep = report(db, "2026-01", "2026-02")
    mine = row_for(rep, d1.id)
    assert figure(mine, "attentions").planned == 30
    assert figure(mine, "attentions").executed == 12
    assert figure(mine, "attentions").compliance_pct == 40.0
    assert figure(mine, "talks").planned == 2 and figure(mine, "talks").executed == 3
    assert figure(mine, "talks").compliance_pct == 150.0
    assert mine.days_worked == 3
    assert mine.attentions_per_day == 4.0
    assert mine.avg_attention_minutes == pytest.approx((7 * 10 + 5 * 6) / 12, abs=0.05)
    theirs = row_for(rep, d2.id)
    assert figure(theirs, "attentions").planned == 5
    assert figure(theirs, "attentions").executed == 6
    assert figure(theirs, "attentions").compliance_pct == 120.0
    totals = figure(rep.totals, "attentions")
    assert (totals.planned, totals.executed) == (35, 18)
    assert totals.compliance_pct == pytest.approx(51.4)
    assert rep.totals.days_worked == 4  # person-days
    # the same figures summed per district
    by_district = report(db, "2026-01", "2026-02", group_by=GroupBy.DISTRICT)
    district_a = row_for(by_district, world.district_a)
    assert figure(district_a, "attentions").executed == 18
    assert figure(district_a, "attentions").planned == 35
    assert figure(row_for(by_district, world.district_b), "attentions").planned == 0
    # a single month and an inverted or too long range
    assert figure(report(db, "2026-03").totals, "attentions").executed == 1
    with pytest.raises(ValidationFailed, match="anterior"):
        report(db, "2026-03", "2026-01")
    with pytest.raises(ValidationFailed, match="24 meses"):
        report(db, "2024-01", "2026-03")


# ---------------------------------------------------------------------------- scoping


def test_supervision_is_scoped_to_the_callers_area(db, engine, world, staff, hub_feed):
    for account, sede in (
        (staff.defensor_a1, world.sede_a1),
        (staff.defensor_a2, world.sede_a2),
        (staff.defensor_b1, world.sede_b1),
    ):
        plan(db, account, sede, "2026-06", attentions=10)
        feed = hub_feed(sede)
        feed.attention(
            username=account.username, counter_id="v1", called_at=lima(2026, 6, 2), minutes=9
        )
        feed.push(engine)

    def keys(actor, **kw):
        area = area_for(actor, "supervision.read")
        rep = report(db, "2026-06", area=area, **kw)
        return {r.key.split("/")[0] for r in rep.rows}

    coordinator = actor_of(staff.coordinator_a1, "coordinador_sede", sede=world.sede_a1)
    director = actor_of(
        staff.director_a, "director_distrital", district=world.district_a, scope="district"
    )
    admin = actor_of(staff.admin, "administrador_nacional", scope="national")
    assert keys(coordinator) == {world.sede_a1}
    assert keys(director) == {world.sede_a1, world.sede_a2}
    assert keys(admin) == {world.sede_a1, world.sede_a2, world.sede_b1}
    assert keys(director, sede_id=world.sede_a2) == {world.sede_a2}
    with pytest.raises(NotFound):
        keys(coordinator, sede_id=world.sede_a2)
    with pytest.raises(NotFound):
        keys(director, sede_id=world.sede_b1)
    with pytest.raises(NotFound):
        keys(director, district_id=world.district_b)
    with pytest.raises(NotFound):
        keys(coordinator, district_id=world.district_b)
    # a coordinator asking for their own district sees only their sede
    assert keys(coordinator, district_id=world.district_a) == {world.sede_a1}
    # professionals hold no supervision grant at all
    defender = actor_of(staff.defensor_a1, "defensor_publico", sede=world.sede_a1)
    assert area_for(defender, "supervision.read").empty
    # lists are scoped the same way
    plans = service.list_plans(session=db, area=area_for(director, "activities.read"))
    assert {p.sede_id for p in plans} == {world.sede_a1, world.sede_a2}


def test_rollup_follows_new_and_late_synced_events(db, engine, world, staff, hub_feed):
    """The report reads a daily roll-up: attentions synced after a report, and the late end
    of an attention already counted, show in the next report; nothing is counted twice."""
    from central.activities.models import QueueDay

    username = staff.defensor_a1.username
    feed = hub_feed(world.sede_a1)
    feed.attention(username=username, counter_id="v1", called_at=lima(2026, 7, 1, 9), minutes=10)
    open_ticket = feed.attention(
        username=username, counter_id="v1", called_at=lima(2026, 7, 1, 11), minutes=0,
        finish="serving",
    )  # fmt: skip
    feed.push(engine)
    first = row_for(report(db, "2026-07", sede_id=world.sede_a1), staff.defensor_a1.id)
    db.commit()
    assert first.attentions == 2
    assert first.avg_attention_minutes == pytest.approx(10, abs=0.05)  # the open one has no time
    # later the same day: the open attention ends (25 min) and a new one is served (same day)
    from datetime import timedelta

    from contracts.sync import SyncEvent

    ended = lima(2026, 7, 1, 11) + timedelta(minutes=26)
    feed._event(
        "ticket.finished",
        "ticket",
        open_ticket,
        {
            "ticket": {"id": open_ticket, "sede_id": world.sede_a1, "business_date": "2026-07-01",
                       "service_code": "orientacion", "number": "A999", "status": "done",
                       "revision": 9, "updated_at": ended.isoformat()},
            "event": {"id": "late-finish-1", "ticket_id": open_ticket, "event_type": "finished",
                      "from_status": "serving", "to_status": "done", "username": username,
                      "at": ended.astimezone(UTC).isoformat(timespec="microseconds")},
        },
    )  # fmt: skip
    assert isinstance(feed.events[-1], SyncEvent)
    feed.attention(username=username, counter_id="v1", called_at=lima(2026, 7, 1, 15), minutes=4)
    feed.push(engine)
    second = row_for(report(db, "2026-07", sede_id=world.sede_a1), staff.defensor_a1.id)
    db.commit()
    assert second.attentions == 3
    assert second.avg_attention_minutes == pytest.approx((10 + 25 + 4) / 3, abs=0.05)
    # a report with nothing new recomputes nothing and changes nothing
    third = row_for(report(db, "2026-07", sede_id=world.sede_a1), staff.defensor_a1.id)
    assert third == second
    db.rollback()
    rows = db.exec(select(QueueDay).where(QueueDay.sede_id == world.sede_a1)).all()
    assert [(r.day, r.username, r.attentions) for r in rows] == [("2026-07-01", username, 3)]
