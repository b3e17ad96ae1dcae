"""Benchmark of Module 05 (multidisciplinary services) on PostgreSQL.

    .venv/bin/python bench/multidisciplinary.py [--requests 200000] [--audit-rows 10000000]
                                                [--signs 40] [--samples 100] [--keep]

Builds a dedicated database (the real Alembic chain: real indexes and triggers), then measures:

- ``report_sign_p95_ms``: validate, render, sign (PAdES, the professional's identity) and
  store (encrypted) one psychological report, and commit, over ``--signs`` reports
  (target <= 500 ms);
- ``tray_p95_ms``: a professional's tray among ``--requests`` requests (target <= 50 ms);
- ``who_saw_ms``: p95 of the "quién vio qué" query for one person (rows and their decoding)
  among ``--audit-rows`` audit rows (target <= 200 ms). The bulk audit rows are inserted
  directly with negative sequence numbers (outside the hash chain, which they would otherwise
  take minutes to extend); the person's own rows are written through the audit service.

Prints ONE JSON object; the three keys above are an interface (issue 14). The defaults are the
issue's sizes; smaller ones by flags for quick runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # before bench/ itself: bench/central.py would shadow the package

PG_ADMIN_URL = os.environ.get(
    "ALEGRA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TARGETS = {"report_sign_p95_ms": 500.0, "tray_p95_ms": 50.0, "who_saw_ms": 200.0}
PROFESSIONALS = 200
CITIZENS = 100_000


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--audit-rows", type=int, default=10_000_000)
    parser.add_argument("--signs", type=int, default=40)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()

    import logging

    logging.disable(logging.WARNING)
    from sqlalchemy import create_engine, text

    from central.core.db import make_engine, migrate

    name = f"alegra_bench_md_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    result: dict[str, object] = {}
    try:
        migrate(url)
        engine = make_engine(url)
        with tempfile.TemporaryDirectory(prefix="alegra-bench-md-") as tmp:
            world = _world(engine)
            result["report_sign_p95_ms"], result["report_sign_p50_ms"] = _signs(
                engine, world, Path(tmp), args.signs
            )
            result["tray_p95_ms"], result["tray_rows"] = _tray(
                engine, world, args.requests, args.samples
            )
            result["who_saw_ms"], result["who_saw_rows"] = _who_saw(
                engine, world, args.audit_rows, args.samples
            )
        engine.dispose()
    finally:
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    result["sizes"] = {
        "requests": args.requests,
        "audit_rows": args.audit_rows,
        "signs": args.signs,
        "samples": args.samples,
    }
    result["targets"] = TARGETS
    result["meets_targets"] = all(float(result[k]) <= v for k, v in TARGETS.items())  # type: ignore[arg-type]
    print(json.dumps(result))


def _world(engine) -> dict[str, object]:  # noqa: ANN001
    from central.auth.policy import Profile
    from central.cases.models import CaseFile
    from central.citizens.models import Citizen
    from central.core.db import session_scope
    from central.domain.actor import Actor
    from central.org import service as org
    from central.org.schemas import DistrictCreate, SedeCreate, SedeKind
    from central.users.models import User, UserProfile

    system = Actor.system("bench")
    with session_scope(engine) as session:
        org.create_district(
            session=session, actor=system, data=DistrictCreate(id="dd-bench", name="Dirección")
        )
        org.create_sede(
            session=session,
            actor=system,
            data=SedeCreate(
                id="sede-00",
                district_id="dd-bench",
                name="Mega ALEGRA Lima Centro",
                kind=SedeKind.MEGA_ALEGRA,
                ubigeo="150101",
                address="Av. Abancay 100, Lima",
            ),  # fmt: skip
        )
        professionals = []
        for index in range(PROFESSIONALS):
            user = User(
                username=f"bench-psi-{index}", display_name=f"Psicóloga {index}",
                password_hash="x", scope_kind="sede", sede_id="sede-00",
            )  # fmt: skip
            session.add(user)
            session.flush()
            session.add(UserProfile(user_id=user.id, profile=Profile.PSICOLOGO.value))
            professionals.append(user.id)
        citizen = Citizen(
            doc_type="dni", doc_number="70000001", given_names="Persona", surnames="Quispe Mamani",
            name_norm="quispe mamani persona", address="Jr. Las Flores 123, Lima", sede_id="sede-00",
        )  # fmt: skip
        session.add(citizen)
        session.flush()
        case = CaseFile(
            number="sede-00-2026-00001", district_id="dd-bench", sede_id="sede-00", year=2026,
            seq=1, service="defensa_victimas", matter="alimentos", attention_type="patrocinio",
            client_citizen_id=citizen.id,
        )  # fmt: skip
        session.add(case)
        session.flush()
        return {"professionals": professionals, "citizen": citizen.id, "case": case.id}


def _actor(user_id: str, profile: str = "psicologo"):  # noqa: ANN202
    from central.domain.actor import Actor

    return Actor(
        user_id=user_id, username="bench", profiles=(profile,), scope_kind="sede", sede_id="sede-00"
    )


def _signs(engine, world, tmp: Path, count: int) -> tuple[float, float]:  # noqa: ANN001
    from central.auth.policy import EVERYWHERE
    from central.core.db import session_scope
    from central.core.signing import ensure_signing_identity
    from central.documents.storage import (
        EncryptedStorage,
        LocalDirectoryStorage,
        new_key,
        parse_keys,
    )
    from central.multidisciplinary import flows, service
    from central.multidisciplinary.schemas import AssignIn, RequestCreate
    from central.multidisciplinary.settings import MultidisciplinarySettings
    from tests.central.multidisciplinary.conftest import PSYCH_CONTENT

    settings = MultidisciplinarySettings()
    identity = ensure_signing_identity(
        tmp / "signing", common_name="ALEGRA", organization="MINJUSDH"
    )
    paper = flows.Paper(
        identity=identity,
        professionals_dir=tmp / "signing" / "professionals",
        storage=EncryptedStorage(LocalDirectoryStorage(tmp / "docs"), parse_keys(new_key())),
        base_url="https://alegra.example.gob.pe",
        institution="Ministerio de Justicia y Derechos Humanos",
    )
    psych = world["professionals"][0]
    requests = []
    with session_scope(engine) as session:
        for _ in range(count + 3):
            row = service.create_request(
                session=session, actor=_actor(psych, "defensor_publico"), area=EVERYWHERE,
                settings=settings,
                data=RequestCreate(
                    service_type="pericia_psicologica", case_id=world["case"],
                    questions="¿Presenta afectación psicológica compatible con los hechos?",
                ),
            )  # fmt: skip
            service.assign_request(
                session=session, actor=_actor(psych, "coordinador_sede"), area=EVERYWHERE,
                request_id=row.id, data=AssignIn(professional_id=psych),
            )  # fmt: skip
            service.save_draft(
                session=session, actor=_actor(psych), area=EVERYWHERE, request_id=row.id,
                content=PSYCH_CONTENT,
            )  # fmt: skip
            requests.append(row.id)
    timings = []
    for index, request_id in enumerate(requests):
        started = time.perf_counter()
        with session_scope(engine) as session:
            flows.sign_report(
                session=session, actor=_actor(psych), area=EVERYWHERE, settings=settings,
                request_id=request_id, paper=paper,
            )  # fmt: skip
        if index >= 3:  # the first ones make the professional's identity and warm caches
            timings.append((time.perf_counter() - started) * 1000)
    return p95(timings), round(sorted(timings)[len(timings) // 2], 2)


def _tray(engine, world, count: int, samples: int) -> tuple[float, int]:  # noqa: ANN001
    from sqlalchemy import text

    from central.core.db import new_session
    from central.multidisciplinary import service

    professionals = world["professionals"]
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE pros (n int, id text)"))
        conn.execute(
            text("INSERT INTO pros VALUES (:n, :id)"),
            [{"n": i, "id": p} for i, p in enumerate(professionals)],
        )
        # most requests are closed; ~1 in 8 open, spread over the professionals
        conn.execute(
            text(
                """
                INSERT INTO md_request (id, number, sede_id, origin_sede_id, service_type,
                    case_id, file_number, citizen_id, questions, urgency, state, requested_by,
                    assigned_user_id, due_date, created_at, updated_at)
                SELECT md5('r' || g), 'B-' || g, 'sede-00', 'sede-00',
                    (ARRAY['pericia_psicologica','evaluacion_psicologica'])[1 + g % 2],
                    :case, 'F-' || g, :citizen, 'Preguntas', 'normal',
                    (ARRAY['delivered','reported','delivered','in_progress','delivered',
                           'reported','delivered','assigned'])[1 + (g / :pros) % 8],
                    'bench', p.id, DATE '2026-01-01' + (g % 300), now(), now()
                FROM generate_series(1, :count) AS g JOIN pros p ON p.n = g % :pros
                """
            ),
            {"case": world["case"], "citizen": world["citizen"], "count": count,
             "pros": len(professionals)},
        )  # fmt: skip
        conn.execute(text("ANALYZE md_request"))
    timings = []
    rows = 0
    for index in range(samples):
        actor = _actor(professionals[index % len(professionals)])
        session = new_session(engine)
        started = time.perf_counter()
        rows = len(service.tray(session=session, actor=actor))
        timings.append((time.perf_counter() - started) * 1000)
        session.close()
    return p95(timings), rows


def _who_saw(engine, world, count: int, samples: int) -> tuple[float, int]:  # noqa: ANN001
    from sqlalchemy import text

    from central.audit import service as audit
    from central.core.db import new_session, session_scope
    from central.multidisciplinary import service
    from central.multidisciplinary.views import access_rows

    batch = 500_000
    done = 0
    while done < count:  # one transaction per batch
        with engine.begin() as conn:
            size = min(batch, count - done)
            conn.execute(
                text(
                    """
                    INSERT INTO audit_event (seq, id, occurred_at, actor_user_id, actor_username,
                        actor_profiles, action, entity, entity_id, sede_id, after_json,
                        prev_hash, hash)
                    SELECT -(:offset + g), md5('a' || (:offset + g)),
                        now() - ((:offset + g) || ' seconds')::interval,
                        'u' || (g % 500), 'user' || (g % 500), 'psicologo', 'md.content_read',
                        'citizen', 'c' || (g % :people), 'sede-00',
                        '{"what":"informe","purpose":"elaboracion"}', '', ''
                    FROM generate_series(1, :size) AS g
                    """
                ),
                {"offset": done, "size": size, "people": 100_000},
            )
            done += size
    with engine.begin() as conn:
        conn.execute(text("ANALYZE audit_event"))
    with session_scope(engine) as session:  # the person's own reads, through the real writer
        for index in range(100):
            audit.record(
                session=session, actor=_actor(world["professionals"][index % 10]),
                action="md.content_read", entity="citizen", entity_id=world["citizen"],
                sede_id="sede-00",
                after={"what": "informe", "object_id": None, "request_id": "r", "purpose": "revision"},
            )  # fmt: skip
    timings = []
    rows = 0
    for _ in range(samples):
        session = new_session(engine)
        started = time.perf_counter()
        rows = len(access_rows(service.who_saw(session=session, citizen_id=world["citizen"])))
        timings.append((time.perf_counter() - started) * 1000)
        session.close()
    return p95(timings), rows


if __name__ == "__main__":
    main()
