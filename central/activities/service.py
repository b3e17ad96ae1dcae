"""Rules of Module 01: programming monthly plans, recording activities by hand, and the
supervision report (planned against executed, productivity, workload). Services never commit;
every write is audited in the caller's transaction."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from central.activities import sources
from central.activities.models import ActivityPlan, ActivityPlanTarget, ManualActivity
from central.activities.schemas import (
    ACTIVITY_TYPE_LABELS_ES,
    MANUAL_COUNTS_AS,
    ActivityType,
    GroupBy,
    ManualActivityCreate,
    ManualActivityRead,
    ManualKind,
    PlanCreate,
    PlanRead,
    PlanUpdate,
    SupervisionQuery,
    SupervisionReport,
    SupervisionRow,
    TypeFigures,
    check_month,
)
from central.audit import service as audit
from central.auth.policy import Area, Profile, ScopeKind, can
from central.domain.actor import Actor
from central.domain.clock import utcnow
from central.domain.errors import (
    Conflict,
    Duplicate,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from central.org.models import District, Sede
from central.users.models import User, UserProfile

LIMA = ZoneInfo("America/Lima")

# Profiles whose holders are programmed and supervised (they serve people).
PROFESSIONAL_PROFILES: frozenset[str] = frozenset(
    p.value
    for p in (
        Profile.DEFENSOR_PUBLICO,
        Profile.CONCILIADOR,
        Profile.ABOGADO_VERIFICADOR,
        Profile.TRABAJADOR_SOCIAL,
        Profile.PSICOLOGO,
        Profile.MEDICO_LEGISTA,
        Profile.PERITO,
        Profile.ORIENTADOR,
    )
)

MONTHS_ES = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)


def month_label(month: str) -> str:
    year, number = month.split("-")
    return f"{MONTHS_ES[int(number) - 1]} de {year}"


def lima_today(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(LIMA).date()


def month_days(month: str) -> tuple[date, date]:
    """First and last calendar day of 'YYYY-MM'."""
    year, number = (int(part) for part in month.split("-"))
    first = date(year, number, 1)
    following = date(year + (number == 12), number % 12 + 1, 1)
    return first, date.fromordinal(following.toordinal() - 1)


def months_between(first: str, last: str) -> int:
    y1, m1 = (int(p) for p in first.split("-"))
    y2, m2 = (int(p) for p in last.split("-"))
    return (y2 - y1) * 12 + (m2 - m1) + 1


# ------------------------------------------------------------------------------ people


def _sede(session: Session, sede_id: str, area: Area | None) -> Sede:
    sede = session.get(Sede, sede_id)
    if sede is None or (
        area is not None and not area.contains(sede_id=sede.id, district_id=sede.district_id)
    ):
        raise NotFound("La sede no existe.", fields=[FieldError("sede_id", "sede no encontrada")])
    return sede


def _profiles(session: Session, user_id: str) -> set[str]:
    return set(
        session.exec(select(UserProfile.profile).where(UserProfile.user_id == user_id)).all()
    )


def check_professional(session: Session, *, professional_id: str, sede: Sede) -> User:
    """The professional exists, is active, holds a professional profile and works at the sede
    (assigned to it, or to its district for staff who cover several sedes)."""
    user = session.get(User, professional_id)
    field = "professional_id"
    if user is None or not user.active:
        raise ValidationFailed(
            "El profesional indicado no existe o está inactivo.",
            fields=[FieldError(field, "profesional no encontrado o inactivo")],
        )
    if not _profiles(session, user.id) & PROFESSIONAL_PROFILES:
        raise ValidationFailed(
            "La persona indicada no tiene un perfil profesional (defensor, conciliador, "
            "trabajador social, psicólogo, médico, perito u orientador).",
            fields=[FieldError(field, "sin perfil profesional")],
        )
    belongs = (user.scope_kind == ScopeKind.SEDE and user.sede_id == sede.id) or (
        user.scope_kind == ScopeKind.DISTRICT and user.district_id == sede.district_id
    )
    if not belongs:
        raise ValidationFailed(
            f"El profesional {user.display_name} no pertenece a la sede {sede.name}.",
            fields=[FieldError(field, "el profesional no pertenece a la sede")],
        )
    return user


def professionals_by_sede(session: Session, *, sedes: list[Sede]) -> dict[str, list[User]]:
    """Active professionals who may be programmed at each sede (for forms), in one query."""
    if not sedes:
        return {}
    sede_ids = sorted({s.id for s in sedes})
    district_ids = sorted({s.district_id for s in sedes})
    stmt = (
        select(User)
        .where(
            col(User.active).is_(True),
            ((User.scope_kind == ScopeKind.SEDE) & col(User.sede_id).in_(sede_ids))
            | ((User.scope_kind == ScopeKind.DISTRICT) & col(User.district_id).in_(district_ids)),
            col(User.id).in_(
                select(UserProfile.user_id).where(
                    col(UserProfile.profile).in_(sorted(PROFESSIONAL_PROFILES))
                )
            ),
        )
        .order_by(col(User.display_name))
    )
    people = list(session.exec(stmt).all())
    return {
        sede.id: [
            u
            for u in people
            if (u.scope_kind == ScopeKind.SEDE and u.sede_id == sede.id)
            or (u.scope_kind == ScopeKind.DISTRICT and u.district_id == sede.district_id)
        ]
        for sede in sedes
    }


def professionals_of(session: Session, *, sede: Sede) -> list[User]:
    """Active professionals who may be programmed at the sede."""
    return professionals_by_sede(session, sedes=[sede])[sede.id]


# ------------------------------------------------------------------------------ plans


def _targets(session: Session, plan_ids: list[str]) -> dict[str, dict[str, int]]:
    result: dict[str, dict[str, int]] = {
        pid: {t.value: 0 for t in ActivityType} for pid in plan_ids
    }
    if plan_ids:
        for row in session.exec(
            select(ActivityPlanTarget).where(col(ActivityPlanTarget.plan_id).in_(plan_ids))
        ).all():
            result[row.plan_id][row.activity_type] = row.target
    return result


def _plan_reads(session: Session, plans: list[ActivityPlan]) -> list[PlanRead]:
    if not plans:
        return []
    targets = _targets(session, [p.id for p in plans])
    names = dict(
        session.exec(
            select(User.id, User.display_name).where(
                col(User.id).in_({p.professional_id for p in plans})
            )
        ).all()
    )
    districts = dict(
        session.exec(
            select(Sede.id, Sede.district_id).where(col(Sede.id).in_({p.sede_id for p in plans}))
        ).all()
    )
    return [
        PlanRead(
            id=p.id,
            sede_id=p.sede_id,
            district_id=districts.get(p.sede_id, ""),
            professional_id=p.professional_id,
            professional_name=names.get(p.professional_id, "—"),
            month=p.month,
            targets=targets[p.id],
            notes=p.notes,
            revision=p.revision,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )
        for p in plans
    ]


def plan_read(session: Session, plan: ActivityPlan) -> PlanRead:
    return _plan_reads(session, [plan])[0]


def create_plan(*, session: Session, actor: Actor, data: PlanCreate, area: Area) -> PlanRead:
    sede = _sede(session, data.sede_id, area)
    professional = check_professional(session, professional_id=data.professional_id, sede=sede)
    existing = session.exec(
        select(ActivityPlan).where(
            ActivityPlan.professional_id == professional.id, ActivityPlan.month == data.month
        )
    ).first()
    if existing is not None:
        raise Duplicate(
            f"Ya existe una programación de {professional.display_name} para "
            f"{month_label(data.month)}. Modifique la existente.",
            fields=[FieldError("month", "ya hay una programación para ese mes")],
        )
    plan = ActivityPlan(
        sede_id=sede.id,
        professional_id=professional.id,
        month=data.month,
        notes=data.notes or None,
        created_by=actor.username,
    )
    session.add(plan)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # a concurrent request created it first
        raise Duplicate(
            f"Ya existe una programación de {professional.display_name} para "
            f"{month_label(data.month)}.",
            fields=[FieldError("month", "ya hay una programación para ese mes")],
        ) from exc
    for activity_type, target in data.targets.as_dict().items():
        session.add(ActivityPlanTarget(plan_id=plan.id, activity_type=activity_type, target=target))
    session.flush()
    result = plan_read(session, plan)
    audit.record(
        session=session,
        actor=actor,
        action="activity_plan.create",
        entity="activity_plan",
        entity_id=plan.id,
        sede_id=sede.id,
        after=result.model_dump(mode="json"),
    )
    return result


def get_plan(*, session: Session, plan_id: str, area: Area) -> ActivityPlan:
    plan = session.get(ActivityPlan, plan_id)
    if plan is None:
        raise NotFound("La programación no existe.")
    sede = session.get(Sede, plan.sede_id)
    if not area.contains(sede_id=plan.sede_id, district_id=sede.district_id if sede else None):
        raise NotFound("La programación no existe.")
    return plan


def update_plan(
    *, session: Session, actor: Actor, plan_id: str, data: PlanUpdate, area: Area
) -> PlanRead:
    plan = get_plan(session=session, plan_id=plan_id, area=area)
    if data.expected_revision is not None and data.expected_revision != plan.revision:
        raise Conflict(
            "La programación fue modificada por otra persona. Recargue la página y vuelva a "
            "intentarlo."
        )
    before = plan_read(session, plan)
    changed = False
    if data.targets is not None:
        current = {
            row.activity_type: row
            for row in session.exec(
                select(ActivityPlanTarget).where(ActivityPlanTarget.plan_id == plan.id)
            ).all()
        }
        for activity_type, target in data.targets.as_dict().items():
            row = current.get(activity_type)
            if row is None:
                session.add(
                    ActivityPlanTarget(plan_id=plan.id, activity_type=activity_type, target=target)
                )
                changed = True
            elif row.target != target:
                row.target = target
                session.add(row)
                changed = True
    if "notes" in data.model_fields_set and (data.notes or None) != plan.notes:
        plan.notes = data.notes or None
        changed = True
    if not changed:
        return before
    plan.revision += 1
    plan.updated_at = utcnow()
    session.add(plan)
    session.flush()
    after = plan_read(session, plan)
    audit.record(
        session=session,
        actor=actor,
        action="activity_plan.update",
        entity="activity_plan",
        entity_id=plan.id,
        sede_id=plan.sede_id,
        before=before.model_dump(mode="json"),
        after=after.model_dump(mode="json"),
    )
    return after


def list_plans(
    *,
    session: Session,
    area: Area,
    sede_id: str | None = None,
    month_from: str | None = None,
    month_to: str | None = None,
    professional_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[PlanRead]:
    stmt = select(ActivityPlan).order_by(
        col(ActivityPlan.month).desc(), col(ActivityPlan.sede_id), col(ActivityPlan.id)
    )
    if not area.national:
        stmt = stmt.where(area.where(sede_column=ActivityPlan.sede_id))
    if sede_id:
        stmt = stmt.where(ActivityPlan.sede_id == sede_id)
    if month_from:
        stmt = stmt.where(ActivityPlan.month >= month_from)
    if month_to:
        stmt = stmt.where(ActivityPlan.month <= month_to)
    if professional_id:
        stmt = stmt.where(ActivityPlan.professional_id == professional_id)
    plans = list(session.exec(stmt.offset(offset).limit(limit)).all())
    return _plan_reads(session, plans)


# -------------------------------------------------------------------- manual activities


def _activity_reads(session: Session, rows: list[ManualActivity]) -> list[ManualActivityRead]:
    if not rows:
        return []
    names = dict(
        session.exec(
            select(User.id, User.display_name).where(
                col(User.id).in_({r.professional_id for r in rows})
            )
        ).all()
    )
    districts = dict(
        session.exec(
            select(Sede.id, Sede.district_id).where(col(Sede.id).in_({r.sede_id for r in rows}))
        ).all()
    )
    return [
        ManualActivityRead(
            id=r.id,
            sede_id=r.sede_id,
            district_id=districts.get(r.sede_id, ""),
            professional_id=r.professional_id,
            professional_name=names.get(r.professional_id, "—"),
            kind=ManualKind(r.kind),
            counts_as=MANUAL_COUNTS_AS[ManualKind(r.kind)],
            activity_date=r.activity_date,
            title=r.title,
            participants=r.participants,
            notes=r.notes,
            created_at=r.created_at,
        )
        for r in rows
    ]


def record_activity(
    *,
    session: Session,
    actor: Actor,
    data: ManualActivityCreate,
    area: Area,
    today: date | None = None,
) -> ManualActivityRead:
    """Record an activity done by hand. Staff record their own; recording one for another
    professional takes the right to programme the sede (``activities.plan``)."""
    sede = _sede(session, data.sede_id, area)
    professional_id = data.professional_id or actor.user_id
    if professional_id is None:
        raise ValidationFailed(
            "Indique el profesional que realizó la actividad.",
            fields=[FieldError("professional_id", "campo obligatorio")],
        )
    # the system actor (CLI, seed) has no user of its own and records for anyone
    if (
        actor.user_id is not None
        and professional_id != actor.user_id
        and not can(actor, "activities.plan", sede_id=sede.id, district_id=sede.district_id)
    ):
        raise PermissionDenied("Solo puede registrar sus propias actividades.")
    check_professional(session, professional_id=professional_id, sede=sede)
    today = today or lima_today()
    if data.activity_date > today:
        raise ValidationFailed(
            "La fecha de la actividad no puede ser posterior a hoy.",
            fields=[FieldError("activity_date", "no puede ser posterior a hoy")],
        )
    if data.activity_date.year < 2000:
        raise ValidationFailed(
            "La fecha de la actividad no es válida.",
            fields=[FieldError("activity_date", "fecha no válida")],
        )
    row = ManualActivity(
        sede_id=sede.id,
        professional_id=professional_id,
        kind=data.kind.value,
        activity_date=data.activity_date,
        title=data.title,
        participants=data.participants,
        notes=data.notes or None,
        created_by=actor.username,
    )
    session.add(row)
    session.flush()
    result = _activity_reads(session, [row])[0]
    audit.record(
        session=session,
        actor=actor,
        action="manual_activity.create",
        entity="manual_activity",
        entity_id=row.id,
        sede_id=sede.id,
        after=result.model_dump(mode="json"),
    )
    return result


def get_activity(*, session: Session, activity_id: str, area: Area) -> ManualActivityRead:
    row = session.get(ManualActivity, activity_id)
    if row is not None:
        sede = session.get(Sede, row.sede_id)
        if area.contains(sede_id=row.sede_id, district_id=sede.district_id if sede else None):
            return _activity_reads(session, [row])[0]
    raise NotFound("La actividad no existe.")


def list_activities(
    *,
    session: Session,
    area: Area,
    sede_id: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    kind: ManualKind | None = None,
    professional_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[ManualActivityRead]:
    stmt = select(ManualActivity).order_by(
        col(ManualActivity.activity_date).desc(), col(ManualActivity.id).desc()
    )
    if not area.national:
        stmt = stmt.where(area.where(sede_column=ManualActivity.sede_id))
    if sede_id:
        stmt = stmt.where(ManualActivity.sede_id == sede_id)
    if date_from:
        stmt = stmt.where(ManualActivity.activity_date >= date_from)
    if date_to:
        stmt = stmt.where(ManualActivity.activity_date <= date_to)
    if kind:
        stmt = stmt.where(ManualActivity.kind == kind.value)
    if professional_id:
        stmt = stmt.where(ManualActivity.professional_id == professional_id)
    return _activity_reads(session, list(session.exec(stmt.offset(offset).limit(limit)).all()))


# ---------------------------------------------------------------------------- supervision


@dataclass
class _Tally:
    """Everything counted for one professional at one sede."""

    planned: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    executed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    other: int = 0
    days: set[date] = field(default_factory=set)
    timed_attentions: int = 0
    serving_seconds: float = 0.0
    pause_minutes: float = 0.0
    open_cases: int = 0


def sedes_in_scope(
    *, session: Session, area: Area, district_id: str | None = None, sede_id: str | None = None
) -> list[Sede]:
    """The sedes a report covers: inside the area, narrowed to a district or a sede."""
    if sede_id:
        sede = _sede(session, sede_id, area)
        if district_id and sede.district_id != district_id:
            raise ValidationFailed(
                "La sede no pertenece a la dirección distrital indicada.",
                fields=[FieldError("sede_id", "sede de otro distrito")],
            )
        return [sede]
    stmt = select(Sede).order_by(col(Sede.name))
    if not area.national:
        stmt = stmt.where(area.where(sede_column=Sede.id))
    if district_id:
        district = session.get(District, district_id)
        if district is None or not (
            area.national
            or district_id in area.district_ids
            or session.exec(
                select(func.count())
                .select_from(Sede)
                .where(Sede.district_id == district_id, area.where(sede_column=Sede.id))
            ).one()
        ):
            raise NotFound(
                "La dirección distrital no existe.",
                fields=[FieldError("district_id", "distrito no encontrado")],
            )
        stmt = stmt.where(Sede.district_id == district_id)
    return list(session.exec(stmt).all())


def supervision_report(
    *,
    session: Session,
    area: Area,
    query: SupervisionQuery,
    workload_ceiling: int = 120,
    max_months: int = 24,
    now: datetime | None = None,
) -> SupervisionReport:
    month_from, month_to = query.month_from, query.last_month
    check_month(month_to)
    if month_to < month_from:
        raise ValidationFailed(
            "El mes final no puede ser anterior al mes inicial.",
            fields=[FieldError("month_to", "rango invertido")],
        )
    if months_between(month_from, month_to) > max_months:
        raise ValidationFailed(
            f"El rango no puede superar {max_months} meses.",
            fields=[FieldError("month_to", "rango demasiado largo")],
        )
    sedes = sedes_in_scope(
        session=session, area=area, district_id=query.district_id, sede_id=query.sede_id
    )
    sede_of = {s.id: s for s in sedes}
    sede_ids = sorted(sede_of)
    first_day, _ = month_days(month_from)
    _, last_day = month_days(month_to)
    conn = session.connection()
    present = sources.available(conn)

    tallies: dict[tuple[str, str], _Tally] = defaultdict(_Tally)  # (sede, person key)

    # planned
    if sede_ids:
        for plan_sede, professional_id, activity_type, target in session.exec(
            select(
                ActivityPlan.sede_id,
                ActivityPlan.professional_id,
                ActivityPlanTarget.activity_type,
                func.sum(ActivityPlanTarget.target),
            )
            .join(ActivityPlanTarget, ActivityPlanTarget.plan_id == ActivityPlan.id)
            .where(
                col(ActivityPlan.sede_id).in_(sede_ids),
                ActivityPlan.month >= month_from,
                ActivityPlan.month <= month_to,
            )
            .group_by(
                ActivityPlan.sede_id, ActivityPlan.professional_id, ActivityPlanTarget.activity_type
            )
        ).all():
            tallies[(plan_sede, professional_id)].planned[activity_type] += int(target or 0)

    # executed by hand
    if sede_ids:
        for act_sede, professional_id, kind, count in session.exec(
            select(
                ManualActivity.sede_id,
                ManualActivity.professional_id,
                ManualActivity.kind,
                func.count(),
            )
            .where(
                col(ManualActivity.sede_id).in_(sede_ids),
                ManualActivity.activity_date >= first_day,
                ManualActivity.activity_date <= last_day,
            )
            .group_by(ManualActivity.sede_id, ManualActivity.professional_id, ManualActivity.kind)
        ).all():
            counts_as = MANUAL_COUNTS_AS.get(ManualKind(kind))
            tally = tallies[(act_sede, professional_id)]
            if counts_as is None:
                tally.other += int(count)
            else:
                tally.executed[counts_as.value] += int(count)

    # executed at the counters (queue synced from the hubs): keyed by hub username
    by_username: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    if present.queue and sede_ids:
        for day in sources.attention_days(
            conn, sede_ids=sede_ids, first_day=first_day, last_day=last_day
        ):
            tally = by_username[(day.sede_id, day.username)]
            tally.executed[ActivityType.ATTENTIONS.value] += day.attentions
            tally.timed_attentions += day.timed_attentions
            tally.serving_seconds += day.serving_seconds
            tally.days.add(day.day)
        for worked in sources.session_days(
            conn, sede_ids=sede_ids, first_day=first_day, last_day=last_day
        ):
            by_username[(worked.sede_id, worked.username)].days.add(worked.day)
        for (pause_sede, username), minutes in sources.pause_minutes(
            conn, sede_ids=sede_ids, first_day=first_day, last_day=last_day, now=now
        ).items():
            by_username[(pause_sede, username)].pause_minutes += minutes

    # hub usernames are central usernames (staff accounts travel to the hubs)
    usernames = sorted({username for _, username in by_username})
    user_by_name = (
        dict(
            session.exec(
                select(User.username, User.id).where(col(User.username).in_(usernames))
            ).all()
        )
        if usernames
        else {}
    )
    for (queue_sede, username), counted in by_username.items():
        key = user_by_name.get(username, f"hub:{username}")
        tally = tallies[(queue_sede, key)]
        for activity_type, n in counted.executed.items():
            tally.executed[activity_type] += n
        tally.timed_attentions += counted.timed_attentions
        tally.serving_seconds += counted.serving_seconds
        tally.days |= counted.days
        tally.pause_minutes += counted.pause_minutes

    # executed in case files, and workload
    if present.cases and sede_ids:
        for count in sources.case_counts(
            conn, sede_ids=sede_ids, first_day=first_day, last_day=last_day
        ):
            tallies[(count.sede_id, count.user_id)].executed[count.activity_type] += count.count
        for (case_sede, user_id), open_count in sources.open_case_loads(
            conn, sede_ids=sede_ids
        ).items():
            tallies[(case_sede, user_id)].open_cases += open_count

    # executed in Module 05 (signed reports, sessions held)
    if present.md and sede_ids:
        for count in sources.md_counts(
            conn, sede_ids=sede_ids, first_day=first_day, last_day=last_day
        ):
            tallies[(count.sede_id, count.user_id)].executed[count.activity_type] += count.count

    people = {key for _, key in tallies if not key.startswith("hub:")}
    names = (
        dict(session.exec(select(User.id, User.display_name).where(col(User.id).in_(people))).all())
        if people
        else {}
    )
    district_names = dict(session.exec(select(District.id, District.name)).all())

    # group
    groups: dict[str, list[tuple[str, str, _Tally]]] = defaultdict(list)
    labels: dict[str, tuple[str, str | None, str | None]] = {}
    for (tally_sede, person), tally in tallies.items():
        sede = sede_of[tally_sede]
        if query.group_by is GroupBy.PROFESSIONAL:
            key = f"{tally_sede}/{person}"
            label = (
                f"{person.removeprefix('hub:')} (usuario de sede)"
                if person.startswith("hub:")
                else names.get(person, person)
            )
            labels[key] = (label, tally_sede, sede.district_id)
        elif query.group_by is GroupBy.SEDE:
            key = tally_sede
            labels[key] = (sede.name, tally_sede, sede.district_id)
        else:
            key = sede.district_id
            labels[key] = (district_names.get(key, key), None, key)
        groups[key].append((tally_sede, person, tally))
    if query.group_by is GroupBy.SEDE:  # every sede in scope gets a row, even with nothing
        for sede in sedes:
            groups.setdefault(sede.id, [])
            labels.setdefault(sede.id, (sede.name, sede.id, sede.district_id))
    elif query.group_by is GroupBy.DISTRICT:
        for sede in sedes:
            groups.setdefault(sede.district_id, [])
            labels.setdefault(
                sede.district_id,
                (district_names.get(sede.district_id, sede.district_id), None, sede.district_id),
            )

    rows = [
        _row(key, *labels[key], members, workload_ceiling)
        for key, members in sorted(groups.items(), key=lambda item: labels[item[0]][0].lower())
    ]
    everything = [member for members in groups.values() for member in members]
    totals = _row("total", "Total", None, None, everything, workload_ceiling)
    return SupervisionReport(
        month_from=month_from,
        month_to=month_to,
        group_by=query.group_by,
        district_id=query.district_id,
        sede_id=query.sede_id,
        workload_ceiling=workload_ceiling,
        rows=rows,
        totals=totals,
        sources={
            "queue": present.queue,
            "cases": present.cases,
            "multidisciplinary": present.md,
            "manual": True,
        },
    )


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _row(
    key: str,
    label: str,
    sede_id: str | None,
    district_id: str | None,
    members: list[tuple[str, str, _Tally]],
    ceiling: int,
) -> SupervisionRow:
    planned: dict[str, int] = defaultdict(int)
    executed: dict[str, int] = defaultdict(int)
    other = person_days = timed = 0
    seconds = pauses = 0.0
    open_cases = 0
    loads: list[int] = []
    for _, _, tally in members:
        for activity_type, n in tally.planned.items():
            planned[activity_type] += n
        for activity_type, n in tally.executed.items():
            executed[activity_type] += n
        other += tally.other
        person_days += len(tally.days)
        timed += tally.timed_attentions
        seconds += tally.serving_seconds
        pauses += tally.pause_minutes
        open_cases += tally.open_cases
        if tally.open_cases:
            loads.append(tally.open_cases)
    attentions = executed[ActivityType.ATTENTIONS.value]
    carriers = len(loads)
    average_load = open_cases / carriers if carriers else 0
    return SupervisionRow(
        key=key,
        label=label,
        sede_id=sede_id,
        district_id=district_id,
        figures=[
            TypeFigures(
                activity_type=t,
                label=ACTIVITY_TYPE_LABELS_ES[t],
                planned=planned[t.value],
                executed=executed[t.value],
                compliance_pct=_pct(executed[t.value], planned[t.value]),
            )
            for t in ActivityType
        ],
        other_activities=other,
        attentions=attentions,
        days_worked=person_days,
        attentions_per_day=round(attentions / person_days, 2) if person_days else None,
        avg_attention_minutes=round(seconds / timed / 60, 1) if timed else None,
        pause_minutes=round(pauses, 1),
        open_cases=open_cases,
        workload_ceiling=ceiling,
        workload_pct=_pct(average_load, ceiling) if carriers else None,
        over_ceiling_count=sum(1 for load in loads if load > ceiling),
    )
