"""Benchmark of Module 04 (extrajudicial conciliation) on PostgreSQL.

    .venv/bin/python bench/conciliation.py [--files 100000] [--actas 10000] [--issues 60]
                                           [--tray-samples 200] [--keep]

Builds a dedicated database (the real Alembic chain, so the real indexes and the append-only
triggers), then measures:

- ``acta_issue_p95_ms``: check (Art. 16), number, render, sign (PAdES) and store one acta and
  commit, over ``--issues`` files driven to "concluido" through the service (target <= 500 ms);
- ``registry_export_s``: the registro de actas of one centre and year with ``--actas`` actas,
  as PDF (target <= 10 s);
- ``tray_p95_ms``: a conciliator's tray (today's sessions, deliveries coming due, files by
  stage) among ``--files`` files (target <= 50 ms), and ``tray_bare_p95_ms``: the same SQL
  statements replayed bare through psycopg in the same run.

Prints ONE JSON object; the four keys above are an interface (issue 13). Smaller sizes by flags
for quick runs; the defaults are the issue's sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # before bench/ itself: bench/central.py would shadow the package

PG_ADMIN_URL = os.environ.get(
    "ALEGRA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TARGETS = {"acta_issue_p95_ms": 500.0, "registry_export_s": 10.0, "tray_p95_ms": 50.0}
SEDES = 20


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--actas", type=int, default=10_000)
    parser.add_argument("--issues", type=int, default=60)
    parser.add_argument("--tray-samples", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()

    import logging

    logging.disable(logging.WARNING)
    from sqlalchemy import create_engine, text

    from central.core.db import make_engine, migrate

    name = f"alegra_bench_conc_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    result: dict[str, object] = {}
    try:
        migrate(url)
        engine = make_engine(url)
        with tempfile.TemporaryDirectory(prefix="alegra-bench-conc-") as tmp:
            world = _world(engine)
            result["acta_issue_p95_ms"], result["acta_issue_p50_ms"] = _issue(
                engine, world, Path(tmp), args.issues
            )
            result["registry_export_s"], result["registry_pdf_bytes"] = _registry(
                engine, world, Path(tmp), args.actas
            )
            tray, bare = _tray(engine, url, world, args.files, args.tray_samples)
            result["tray_p95_ms"], result["tray_bare_p95_ms"] = tray, bare
        engine.dispose()
    finally:
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    result["sizes"] = {
        "files": args.files,
        "actas": args.actas,
        "issues": args.issues,
        "tray_samples": args.tray_samples,
    }
    result["targets"] = TARGETS
    result["meets_targets"] = all(float(result[k]) <= v for k, v in TARGETS.items())  # type: ignore[arg-type]
    print(json.dumps(result))


def _world(engine) -> dict[str, object]:  # noqa: ANN001
    from central.auth.policy import Profile
    from central.citizens.models import Citizen
    from central.conciliation.models import ConcProfessional
    from central.core.db import session_scope
    from central.domain.actor import Actor
    from central.org import service as org
    from central.org.schemas import DistrictCreate, SedeCreate, SedeKind
    from central.users.models import User, UserProfile

    system = Actor.system("bench")
    with session_scope(engine) as session:
        org.create_district(
            session=session,
            actor=system,
            data=DistrictCreate(id="dd-bench", name="Dirección de prueba"),
        )
        for index in range(SEDES):
            org.create_sede(
                session=session,
                actor=system,
                data=SedeCreate(
                    id=f"sede-{index:02d}",
                    district_id="dd-bench",
                    name=f"Centro ALEGRA {index:02d}",
                    kind=SedeKind.ALEGRA,
                    ubigeo="150101",
                    address=f"Av. Abancay {100 + index}, Lima",
                ),
            )
        users = {}
        for role, profile in (
            ("conciliator", Profile.CONCILIADOR),
            ("verifier", Profile.ABOGADO_VERIFICADOR),
        ):
            user = User(
                username=f"bench-{role}",
                display_name=f"Bench {role}",
                password_hash="x",
                scope_kind="sede",
                sede_id="sede-00",
            )
            session.add(user)
            session.flush()
            session.add(UserProfile(user_id=user.id, profile=profile.value))
            session.add(
                ConcProfessional(
                    user_id=user.id,
                    full_name=f"Profesional {role}",
                    doc_number="40001234",
                    conciliator_registration="31245",
                    family_specialty_registration="8812",
                    bar_registration="CAL 45678",
                )  # fmt: skip
            )
            users[role] = user.id
        people = []
        for index in range(2):
            citizen = Citizen(
                doc_type="dni", doc_number=f"7000000{index}", given_names=f"Persona {index}", surnames="Quispe Mamani",
                name_norm=f"quispe mamani persona {index}", address="Jr. Las Flores 123, Lima", sede_id="sede-00",
            )  # fmt: skip
            session.add(citizen)
            session.flush()
            people.append(citizen.id)
    return {"users": users, "people": people, "sede": "sede-00"}


def _concluded_file(session, world, settings, now: datetime) -> str:  # noqa: ANN001
    from central.auth.policy import EVERYWHERE
    from central.conciliation import service
    from central.conciliation.schemas import (
        AttendanceIn,
        ConclusionIn,
        DesignationIn,
        InvitationCreate,
        ObligationsIn,
        SessionCreate,
        SolicitudCreate,
    )  # fmt: skip
    from central.domain.actor import Actor

    conciliator = Actor(
        user_id=world["users"]["conciliator"],
        username="bench",
        profiles=("conciliador",),
        scope_kind="national",
    )
    file = service.create_solicitud(
        session=session, actor=conciliator, area=EVERYWHERE, settings=settings, now=now,
        data=SolicitudCreate(
            sede_id=world["sede"], matter="alimentos",
            parties=[{"role": "solicitante", "citizen_id": world["people"][0]}, {"role": "invitado", "citizen_id": world["people"][1]}],
            facts="Hechos de la solicitud de alimentos para la menor.", controversy="El invitado no aporta a los alimentos.",
            claims=[{"party_index": 0, "description": "Pensión de alimentos de S/ 600 mensuales."}],
        ),
    )  # fmt: skip
    service.designate(
        session=session, actor=conciliator, area=EVERYWHERE, settings=settings, file_id=file.id,
        data=DesignationIn(conciliator_user_id=world["users"]["conciliator"], verifier_user_id=world["users"]["verifier"]),
    )  # fmt: skip
    hearing = service.schedule_session(
        session=session, actor=conciliator, area=EVERYWHERE, settings=settings, file_id=file.id, now=now,
        data=SessionCreate(scheduled_at=now + timedelta(minutes=5), mode="presencial", place="Sala 1"),
    )  # fmt: skip
    parties = service.parties(session=session, file_id=file.id)
    for party in parties:
        if party.role == "invitado":
            service.issue_invitation(
                session=session, actor=conciliator, area=EVERYWHERE, settings=settings, file_id=file.id, now=now,
                data=InvitationCreate(party_id=party.id, session_id=hearing.id),
            )  # fmt: skip
    service.record_attendance(
        session=session, actor=conciliator, area=EVERYWHERE, settings=settings, file_id=file.id, session_id=hearing.id,
        data=AttendanceIn(entries=[{"party_id": p.id, "present": True} for p in parties]), now=now + timedelta(minutes=10),
    )  # fmt: skip
    debtor = next(p for p in parties if p.role == "invitado")
    creditor = next(p for p in parties if p.role == "solicitante")
    service.set_obligations(
        session=session, actor=conciliator, area=EVERYWHERE, file_id=file.id,
        data=ObligationsIn(obligations=[{
            "kind": "pension_alimentos", "debtor_party_id": debtor.id, "creditor_party_id": creditor.id,
            "description": "Pensión de alimentos a favor de la menor", "amount": "600.00", "periodicity": "mensual",
            "start_date": date(2027, 1, 5),
        }]),
    )  # fmt: skip
    service.conclude(
        session=session,
        actor=conciliator,
        area=EVERYWHERE,
        file_id=file.id,
        data=ConclusionIn(way="acuerdo_total", session_id=hearing.id),
    )
    verifier = Actor(
        user_id=world["users"]["verifier"],
        username="bench-v",
        profiles=("abogado_verificador",),
        scope_kind="national",
    )
    service.approve_acta(session=session, actor=verifier, area=EVERYWHERE, file_id=file.id)
    return file.id


def _issue(engine, world, tmp: Path, issues: int) -> tuple[float, float]:  # noqa: ANN001
    from central.auth.policy import EVERYWHERE
    from central.conciliation import flows
    from central.conciliation.settings import ConciliationSettings
    from central.core.db import new_session, session_scope
    from central.core.signing import ensure_signing_identity
    from central.documents.storage import LocalDirectoryStorage
    from central.domain.actor import Actor

    settings = ConciliationSettings(min_notice_business_days=0, hearings_as_appointments=True)
    now = datetime.now(UTC).replace(hour=14, minute=0, second=0, microsecond=0)
    file_ids = []
    for _ in range(issues):
        with session_scope(engine) as session:
            file_ids.append(_concluded_file(session, world, settings, now))
    paper = flows.Paper(
        identity=ensure_signing_identity(
            tmp / "signing", common_name="ALEGRA bench", organization="MINJUSDH"
        ),
        storage=LocalDirectoryStorage(tmp / "documents"),
        base_url="https://alegra.example.gob.pe",
        institution="Ministerio de Justicia y Derechos Humanos",
    )
    conciliator = Actor(
        user_id=world["users"]["conciliator"],
        username="bench",
        profiles=("conciliador",),
        scope_kind="national",
    )
    times = []
    for file_id in file_ids:
        session = new_session(engine)
        started = time.perf_counter()
        flows.issue_acta(
            session=session,
            actor=conciliator,
            area=EVERYWHERE,
            settings=settings,
            file_id=file_id,
            paper=paper,
        )
        session.commit()
        times.append((time.perf_counter() - started) * 1000)
        session.close()
    return p95(times[1:] or times), round(statistics.median(times), 2)


def _registry(engine, world, tmp: Path, actas: int) -> tuple[float, int]:  # noqa: ANN001
    """``actas`` issued actas of one centre and year loaded set-based, then the PDF export."""
    from sqlalchemy import text

    from central.auth.policy import EVERYWHERE
    from central.conciliation import flows
    from central.core.db import new_session
    from central.core.signing import ensure_signing_identity
    from central.documents.storage import LocalDirectoryStorage

    year = 2031  # a year of its own, so the issued ones above do not mix in
    with engine.begin() as conn:
        conn.execute(
            text(
                """
                INSERT INTO conc_file (id, number, sede_id, district_id, year, seq, matter, state, source,
                    facts, controversy, violence_declared, protective_measures, requested_on, revision,
                    conclusion_way, created_at, updated_at)
                SELECT 'rf-' || g, 'SEDE-01-CE-2031-' || lpad(g::text, 6, '0'), 'sede-01', 'dd-bench', 2031, g,
                    (ARRAY['alimentos','tenencia','regimen_visitas','desalojo','obligacion_dar_suma'])[1 + g % 5],
                    'acta', 'central', 'Hechos', 'Controversia', false, false, DATE '2031-01-02' + (g % 300), 3,
                    (ARRAY['acuerdo_total','acuerdo_parcial','falta_acuerdo','inasistencia_una_parte','inasistencia_ambas','decision_motivada'])[1 + g % 6],
                    now(), now()
                FROM generate_series(1, :n) AS g
                """
            ),
            {"n": actas},
        )
        conn.execute(
            text(
                """
                INSERT INTO conc_acta (id, file_id, sede_id, year, number, number_text, conclusion_way, content,
                    pdf_key, pdf_sha256, verification_code, issued_at)
                SELECT 'ra-' || g, 'rf-' || g, 'sede-01', 2031, g, lpad(g::text, 6, '0') || '-2031',
                    (ARRAY['acuerdo_total','acuerdo_parcial','falta_acuerdo','inasistencia_una_parte','inasistencia_ambas','decision_motivada'])[1 + g % 6],
                    '{}', 'x/' || g, md5(g::text) || md5((g + 1)::text), 'BENCH' || g,
                    TIMESTAMPTZ '2031-01-02 15:00:00+00' + (g % 300) * INTERVAL '1 day'
                FROM generate_series(1, :n) AS g
                """
            ),
            {"n": actas},
        )
        conn.execute(
            text(
                "INSERT INTO conc_acta_void (id, acta_id, reason, voided_at) SELECT 'rv-' || g, 'ra-' || g, 'Número anulado por error material en la impresión', now() FROM generate_series(1, :n, 997) AS g"
            ),
            {"n": actas},
        )
    paper = flows.Paper(
        identity=ensure_signing_identity(
            tmp / "signing", common_name="ALEGRA bench", organization="MINJUSDH"
        ),
        storage=LocalDirectoryStorage(tmp / "documents"),
        base_url="https://alegra.example.gob.pe",
        institution="Ministerio de Justicia y Derechos Humanos",
    )
    session = new_session(engine, read_only=True)
    started = time.perf_counter()
    data, _ = flows.registry(
        session=session, area=EVERYWHERE, sede_id="sede-01", year=year, fmt="pdf", paper=paper
    )
    elapsed = time.perf_counter() - started
    session.close()
    return round(elapsed, 3), len(data)


def _tray(engine, url: str, world, files: int, samples: int) -> tuple[float, float]:  # noqa: ANN001
    """``files`` files over the sedes and 5 conciliators per sede, with sessions and pending
    invitations; the tray of one conciliator timed through the service, then bare."""
    import psycopg
    from sqlalchemy import event, text

    from central.auth.policy import Area
    from central.conciliation import service
    from central.core.db import new_session

    with engine.begin() as conn:
        conn.execute(
            text(
                """
                INSERT INTO conc_file (id, number, sede_id, district_id, year, seq, matter, state, source,
                    facts, controversy, violence_declared, protective_measures, requested_on, revision,
                    conciliator_user_id, created_at, updated_at)
                SELECT 'tf-' || g, 'T-' || g, 'sede-' || lpad((g % :sedes)::text, 2, '0'), 'dd-bench', 2026, 100000 + g,
                    'alimentos',
                    (ARRAY['solicitud','designado','invitado','audiencia','concluido','acta','acta','acta'])[1 + g % 8],
                    'central', 'Hechos', 'Controversia', false, false, DATE '2026-01-02' + (g % 330), 2,
                    'conc-' || (g % :sedes) || '-' || ((g / :sedes) % 5), now(), now()
                FROM generate_series(1, :n) AS g
                """
            ),
            {"n": files, "sedes": SEDES},
        )
        conn.execute(
            text(
                """
                INSERT INTO conc_session (id, file_id, sede_id, ordinal, scheduled_at, mode, place, status, for_replacement, created_at)
                SELECT 'ts-' || g, 'tf-' || g, 'sede-' || lpad((g % :sedes)::text, 2, '0'), 1,
                    date_trunc('day', now()) + ((g % 40) - 20) * INTERVAL '1 day' + (g % 9 + 13) * INTERVAL '1 hour',
                    'presencial', 'Sala 1', CASE WHEN g % 40 >= 20 THEN 'scheduled' ELSE 'held' END, false, now()
                FROM generate_series(1, :n) AS g
                """
            ),
            {"n": files, "sedes": SEDES},
        )
        conn.execute(
            text(
                """
                INSERT INTO conc_party (id, file_id, role, ordinal, citizen_id)
                SELECT 'tp-' || g, 'tf-' || g, 'invitado', 1, :citizen FROM generate_series(1, :n) AS g
                """
            ),
            {"n": files, "citizen": world["people"][1]},
        )
        conn.execute(
            text(
                """
                INSERT INTO conc_invitation (id, file_id, party_id, session_id, issued_on, delivery_due, status, created_at)
                SELECT 'ti-' || g, 'tf-' || g, 'tp-' || g, 'ts-' || g, CURRENT_DATE - (g % 30), CURRENT_DATE - (g % 30) + 3,
                    CASE WHEN g % 3 = 0 THEN 'pending' ELSE 'delivered' END, now()
                FROM generate_series(1, :n) AS g
                """
            ),
            {"n": files},
        )
    # as autovacuum would have left them: visibility map set (index-only scans), statistics
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) conc_file, conc_session, conc_party, conc_invitation"))
    users = [f"conc-{s}-{k}" for s in range(SEDES) for k in range(5)]
    times: list[float] = []
    # every statement the service sends, per sample, to replay the very same ones bare
    recorded: list[list[tuple[str, object]]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
        recorded[-1].append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        for index in range(samples):
            user = users[index % len(users)]
            sede = f"sede-{int(user.split('-')[1]):02d}"
            area = Area(sede_ids=frozenset({sede}))
            recorded.append([])
            session = new_session(engine, read_only=True)
            started = time.perf_counter()
            service.tray(session=session, area=area, user_id=user)
            times.append((time.perf_counter() - started) * 1000)
            session.close()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    bare: list[float] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statements in recorded:
            started = time.perf_counter()
            for statement, parameters in statements:
                conn.execute(statement, parameters).fetchall()  # type: ignore[arg-type]
            bare.append((time.perf_counter() - started) * 1000)
    return p95(times[5:] or times), p95(bare[5:] or bare)


if __name__ == "__main__":
    main()
