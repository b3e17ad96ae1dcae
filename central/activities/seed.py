"""Demo data of Module 01: monthly plans for the demo district's professionals (last month and
this month) and activities entered by hand, so the supervision dashboard of the demo shows real
figures. Written through the module's own service (validated and audited like any entry); called
by the demo seed (``central.seed.seed_demo``) when it creates the demo district."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session, select

from central.activities import service
from central.activities.schemas import ManualActivityCreate, ManualKind, PlanCreate, PlanTargets
from central.auth.policy import EVERYWHERE
from central.domain.actor import Actor
from central.users.models import User

# username -> (sede, monthly targets): what a coordinator would programme for each profile
DEMO_PLANS: dict[str, tuple[str, dict[str, int]]] = {
    "ana": ("lima-cercado", {"attentions": 220, "talks": 4}),
    "luis": (
        "lima-cercado",
        {"attentions": 160, "patrocinios": 8, "hearings": 10, "visits": 4, "talks": 2},
    ),
    "carmen": ("lima-cercado", {"attentions": 90, "hearings": 12, "talks": 1}),
    "pedro": ("mega-lima-centro", {"attentions": 60, "evaluations": 25, "visits": 2}),
    "lucia": ("mega-lima-centro", {"attentions": 50, "evaluations": 40}),
    "rosa": ("mega-lima-centro", {"attentions": 70, "visits": 12, "talks": 3}),
}

# (username, kind, day of the month, title, participants): a month's hand-entered activities
DEMO_ACTIVITIES: list[tuple[str, ManualKind, int, str, int]] = [
    ("ana", ManualKind.CHARLA, 3, "Charla: derechos de alimentos en el mercado central", 35),
    ("ana", ManualKind.FERIA, 10, "Feria informativa en la plaza de armas", 120),
    ("ana", ManualKind.CHARLA, 17, "Charla en la I.E. Nuestra Señora de Guadalupe", 60),
    ("luis", ManualKind.VISITA, 5, "Visita al establecimiento penitenciario", 0),
    ("luis", ManualKind.CHARLA, 12, "Charla: qué hacer ante una detención", 28),
    ("luis", ManualKind.VISITA, 19, "Visita a la comisaría de Cotabambas", 0),
    ("carmen", ManualKind.CAMPANA, 8, "Campaña de conciliación gratuita", 45),
    ("carmen", ManualKind.CAPACITACION, 15, "Capacitación interna: nuevo formato de actas", 12),
    ("pedro", ManualKind.EVALUACION, 4, "Evaluación psicológica (pericia de parte)", 1),
    ("pedro", ManualKind.EVALUACION, 9, "Evaluación psicológica de víctima", 1),
    ("pedro", ManualKind.EVALUACION, 16, "Evaluación psicológica de menor", 1),
    ("pedro", ManualKind.VISITA, 18, "Visita domiciliaria de seguimiento", 0),
    ("lucia", ManualKind.EVALUACION, 4, "Examen médico legal", 1),
    ("lucia", ManualKind.EVALUACION, 6, "Examen médico legal", 1),
    ("lucia", ManualKind.EVALUACION, 11, "Reconocimiento médico legal", 1),
    ("lucia", ManualKind.EVALUACION, 20, "Examen médico legal", 1),
    ("rosa", ManualKind.VISITA, 2, "Visita social domiciliaria", 0),
    ("rosa", ManualKind.VISITA, 9, "Visita social domiciliaria", 0),
    ("rosa", ManualKind.CHARLA, 14, "Charla: prevención de la violencia familiar", 40),
    ("rosa", ManualKind.VISITA, 21, "Informe social en comunidad de Huaycán", 0),
]


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def seed_demo_activities(*, session: Session, actor: Actor, today: date) -> tuple[int, int]:
    """Plans for last month and this month, all of last month's activities and this month's
    up to ``today``. Returns (plans, activities) written."""
    people = {
        u.username: u
        for u in session.exec(select(User).where(User.username.in_(list(DEMO_PLANS)))).all()  # type: ignore[attr-defined]
    }
    first_this = today.replace(day=1)
    first_last = (first_this - timedelta(days=1)).replace(day=1)
    plans = activities = 0
    for month_start in (first_last, first_this):
        for username, (sede_id, targets) in DEMO_PLANS.items():
            person = people.get(username)
            if person is None:
                continue
            service.create_plan(
                session=session,
                actor=actor,
                data=PlanCreate(
                    sede_id=sede_id,
                    professional_id=person.id,
                    month=_month(month_start),
                    targets=PlanTargets(**targets),
                    notes="Programación de demostración",
                ),
                area=EVERYWHERE,
            )
            plans += 1
        for username, kind, day, title, participants in DEMO_ACTIVITIES:
            person = people.get(username)
            when = month_start.replace(day=day)
            if person is None or when > today:
                continue
            service.record_activity(
                session=session,
                actor=actor,
                data=ManualActivityCreate(
                    sede_id=DEMO_PLANS[username][0],
                    professional_id=person.id,
                    kind=kind,
                    activity_date=when,
                    title=title,
                    participants=participants,
                ),
                area=EVERYWHERE,
                today=today,
            )
            activities += 1
    return plans, activities
