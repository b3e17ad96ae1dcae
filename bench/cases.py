"""Benchmark of case-file search on PostgreSQL at national scale.

    .venv/bin/python bench/cases.py [--files 1000000] [--samples 200] [--keep]

Builds a dedicated database (migrated with the real Alembic chain, so the real indexes), fills
it with set-based SQL (``generate_series``; indexes dropped during the load and rebuilt after,
foreign-key triggers off for the load only): N files, 5N actions with Spanish notes, ~0.9N
people, N/2 deadlines, 25 districts x 4 sedes. Then it times the service functions the API
calls (central.cases.service) and, in the same run, the very same SQL statements they emit
replayed bare through psycopg (no ORM, no pool, no Python object building):

- search by document number and by name (a district director's scope), target p95 < 50 ms;
- full-text over action notes, target p95 < 200 ms;
- the supervision dashboard of one district for one month, target < 500 ms.

Prints ONE JSON object; ``search_document_p95_ms``, ``search_name_p95_ms``, ``fulltext_p95_ms``,
``dashboard_ms`` (and their ``*_bare_*`` twins) are an interface (issue 6).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# first, even when PYTHONPATH already names the repository: bench/ (the script's directory) comes
# before it, and bench/hub.py or bench/central.py would shadow those packages
sys.path.insert(0, str(REPO))

PG_ADMIN_URL = os.environ.get(
    "ALEGRA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TARGETS = {"search_p95_ms": 50.0, "fulltext_p95_ms": 200.0, "dashboard_ms": 500.0}
DISTRICTS, SEDES_PER_DISTRICT = 25, 4

GIVEN = (
    "rosa maria jose juan luis ana carmen elena jorge carlos pedro julia teresa miguel"
    " victor raul silvia patricia gloria luz martha ricardo cesar edwin wilmer yenny"
    " nelly flor marco hugo felipe ruth norma juana santos celia alberto david daniel"
    " sonia lucia gabriela fernando oscar mario roxana milagros hilda isabel diana"
).split()
SURNAMES = (
    "quispe mamani huaman flores rodriguez sanchez garcia rojas gonzales chavez ramos"
    " torres vasquez diaz mendoza castillo ruiz lopez perez espinoza vargas cruz condori"
    " ccori apaza choque gutierrez salazar castro cardenas romero medina aguilar herrera"
    " jimenez paredes morales silva ramirez leon cabrera ticona ayala soto coaquira"
    " calderon nunez rivera villanueva palomino llerena ccahuana yupanqui pari layme"
    " cusi inga tito sucso puma cahuana arias zapata campos"
).split()
NOTE_WORDS = (
    "audiencia demanda pension alimentos alimenticia juzgado paz letrado tenencia menor"
    " hijo hija padre madre demandado demandante escrito presentado notificacion"
    " resolucion apelacion visita domicilio diligencia fiscalia denuncia comisaria"
    " violencia familiar medidas proteccion victima agresion psicologica fisica informe"
    " pericia conciliacion acuerdo desistimiento sentencia fundada infundada plazo"
    " vencimiento recurso queja expediente entrevista usuaria orientacion derivacion"
    " regimen visitas filiacion extramatrimonial desalojo deuda laboral despido beneficios"
).split()
MATTERS = [
    "alimentos",
    "tenencia",
    "violencia_familiar",
    "regimen_visitas",
    "filiacion",
    "laboral",
    "desalojo",
    "penal_defensa",
    "otro",
]
SERVICES = ["defensa_victimas", "asistencia_legal", "defensa_penal", "conciliacion"]
STATES = ["open", "in_progress", "in_progress", "suspended", "closed", "closed", "archived"]
ACTIONS = ["escrito", "audiencia", "visita", "diligencia", "entrevista", "notificacion", "nota"]


def _sql_array(words: list[str]) -> str:
    return "ARRAY[" + ",".join(f"'{w}'" for w in words) + "]"


def _pick(array: str, n: int, salt: str) -> str:
    """A deterministic pseudo-random element per row (hash of the row number and a salt)."""
    return f"({array})[1 + (abs(hashtext(g::text || '{salt}')) % {n})]"


def load(conn, files: int) -> dict[str, float]:  # noqa: ANN001
    """Fill the migrated database; returns the seconds each step took."""
    timings: dict[str, float] = {}
    people = max(1, int(files * 0.9))
    given, surnames, words = _sql_array(GIVEN), _sql_array(SURNAMES), _sql_array(NOTE_WORDS)
    cur = conn.cursor()
    cur.execute("SET session_replication_role = replica")  # no FK triggers during the load
    cur.execute("SET maintenance_work_mem = '512MB'")
    cur.execute("SET synchronous_commit = off")
    # drop secondary indexes of the big tables (not those backing constraints), rebuild after
    cur.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.tablename IN ('citizen','case_file','case_action','case_deadline','case_event')
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        """
    )
    indexes = cur.fetchall()
    for name, _ in indexes:
        cur.execute(f'DROP INDEX "{name}"')
    started = time.perf_counter()
    cur.execute(
        "INSERT INTO district (id, name, revision, created_at, updated_at) "
        "SELECT 'dd' || lpad(d::text, 2, '0'), 'Dirección distrital ' || d, 1, now(), now() "
        f"FROM generate_series(1, {DISTRICTS}) d"
    )
    cur.execute(
        "INSERT INTO sede (id, district_id, name, kind, ubigeo, ubigeo_scheme, address, "
        "timezone, queue_policy, active, revision, created_at, updated_at) "
        "SELECT 's' || lpad(d::text, 2, '0') || '-' || s, 'dd' || lpad(d::text, 2, '0'), "
        "'Centro ALEGRA ' || d || '-' || s, 'ALEGRA', '150101', 'INEI', 'Av. Bench ' || s, "
        "'America/Lima', '{}', true, 1, now(), now() "
        f"FROM generate_series(1, {DISTRICTS}) d, generate_series(1, {SEDES_PER_DISTRICT}) s"
    )
    sede_of = f"'s' || lpad((1 + (g % {DISTRICTS}))::text, 2, '0') || '-' || (1 + ((g / {DISTRICTS}) % {SEDES_PER_DISTRICT}))"
    district_of = f"'dd' || lpad((1 + (g % {DISTRICTS}))::text, 2, '0')"
    s1, s2, g1 = (
        _pick(surnames, len(SURNAMES), "a"),
        _pick(surnames, len(SURNAMES), "b"),
        _pick(given, len(GIVEN), "c"),
    )
    cur.execute(
        f"""
        INSERT INTO citizen (id, doc_type, doc_number, given_names, surnames, name_norm,
            birth_date, sex, language, flags, sede_id, revision, created_at, updated_at)
        SELECT 'p' || g, 'dni', lpad((10000000 + g)::text, 8, '0'), n.g1, n.s1 || ' ' || n.s2,
               n.s1 || ' ' || n.s2 || ' ' || n.g1,
               date '1940-01-01' + (abs(hashtext(g::text || 'bd')) % 25000),
               CASE WHEN g % 2 = 0 THEN 'F' ELSE 'M' END, 'castellano', '', {sede_of}, 1,
               now(), now()
        FROM generate_series(1, {people}) g,
             LATERAL (SELECT {s1} AS s1, {s2} AS s2, {g1} AS g1) n
        """
    )
    timings["citizens_s"] = time.perf_counter() - started
    started = time.perf_counter()
    cur.execute(
        f"""
        INSERT INTO case_file (id, number, district_id, sede_id, year, seq, service, matter,
            attention_type, state, client_citizen_id, assigned_user_id, judicial_number, summary,
            source, intake_conflict, revision, opened_at, updated_at)
        SELECT 'c' || g, {district_of} || '-' || (2025 + g % 2) || '-' || lpad(g::text, 7, '0'),
               {district_of}, {sede_of}, 2025 + g % 2, g,
               ({_sql_array(SERVICES)})[1 + g % {len(SERVICES)}],
               ({_sql_array(MATTERS)})[1 + (g / 7) % {len(MATTERS)}],
               CASE WHEN g % 3 = 0 THEN 'patrocinio' ELSE 'asistencia' END,
               ({_sql_array(STATES)})[1 + (g / 3) % {len(STATES)}],
               'p' || (1 + abs(hashtext(g::text || 'cl')) % {people}), NULL,
               CASE WHEN g % 4 = 0 THEN lpad((g % 99999)::text, 5, '0') || '-' || (2020 + g % 6)
                    || '-0-1801-JR-FA-' || lpad((1 + g % 9)::text, 2, '0') END,
               '', 'central', false, 1,
               timestamptz '2025-01-01 05:00:00+00' + ((g * 997) % 63072000) * interval '1 second',
               now()
        FROM generate_series(1, {files}) g
        """
    )
    timings["files_s"] = time.perf_counter() - started
    started = time.perf_counter()
    w = [_pick(words, len(NOTE_WORDS), f"w{i}") for i in range(8)]
    notes = " || ' ' || ".join(w)
    cur.execute(
        f"""
        INSERT INTO case_action (id, case_id, sede_id, case_sede_id, action_type, action_date,
                                 author_user_id, notes, restricted, created_at)
        SELECT 'a' || g, 'c' || c, {sede_of.replace("g", "c")}, {sede_of.replace("g", "c")},
               ({_sql_array(ACTIONS)})[1 + g % {len(ACTIONS)}],
               date '2025-01-01' + ((c * 997) % 63072000) / 86400 + (g % 5) * 9,
               NULL, {notes}, g % 50 = 0, now()
        FROM generate_series(1, {files * 5}) g, LATERAL (SELECT 1 + (g - 1) / 5 AS c) k
        """
    )
    timings["actions_s"] = time.perf_counter() - started
    started = time.perf_counter()
    cur.execute(
        f"""
        INSERT INTO case_deadline (id, case_id, sede_id, title, start_date, business_days,
                                   due_date, status, created_at)
        SELECT 'd' || g, 'c' || (g * 2), {sede_of.replace("g", "(g * 2)")}, 'Plazo',
               date '2025-01-01' + (g % 700), 5, date '2025-01-08' + (g % 700),
               CASE WHEN g % 3 = 0 THEN 'pending' ELSE 'done' END, now()
        FROM generate_series(1, {files // 2}) g
        """
    )
    timings["deadlines_s"] = time.perf_counter() - started
    conn.commit()
    started = time.perf_counter()
    for _, definition in indexes:
        cur.execute(definition)
    conn.commit()
    timings["indexes_s"] = time.perf_counter() - started
    started = time.perf_counter()
    cur.execute("ANALYZE")
    conn.commit()
    timings["analyze_s"] = time.perf_counter() - started
    cur.execute("SET session_replication_role = origin")
    return timings


class Capture:
    """Records the SQL statements (and parameters) an engine runs, to replay them bare."""

    def __init__(self, engine) -> None:  # noqa: ANN001
        from sqlalchemy import event

        self.statements: list[tuple[str, Any]] = []
        self.active = False

        @event.listens_for(engine, "before_cursor_execute")
        def _record(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
            if self.active:
                self.statements.append((statement, parameters))


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 2)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    import psycopg
    from sqlalchemy import create_engine, text

    from central.auth.policy import Area
    from central.cases import service
    from central.core.db import make_engine, migrate, new_session

    reuse = args.database is not None
    name = args.database or f"alegra_bench_cases_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    if not reuse:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    raw_url = url.replace("postgresql+psycopg://", "postgresql://")
    result: dict[str, Any] = {"files": args.files, "actions": args.files * 5, "database": name}
    try:
        migrate(url)
        if not reuse:
            with psycopg.connect(raw_url) as conn:
                result["load"] = {k: round(v, 1) for k, v in load(conn, args.files).items()}
        engine = make_engine(url)
        capture = Capture(engine)
        rng = random.Random(6)
        # no server-side prepared statements: every replay is planned for its own values, as
        # the service's statements are
        bare = psycopg.connect(raw_url, autocommit=True, prepare_threshold=None)

        def run(label: str, call, samples: int) -> tuple[list[float], list[float]]:  # noqa: ANN001
            service_ms, bare_ms = [], []
            for i in range(samples + 5):
                session = new_session(engine)
                capture.statements, capture.active = [], True
                started = time.perf_counter()
                call(session, rng)
                elapsed = (time.perf_counter() - started) * 1000
                capture.active = False
                session.rollback()
                session.close()
                statements = list(capture.statements)
                started = time.perf_counter()
                with bare.cursor() as cur:
                    for statement, params in statements:
                        cur.execute(statement, params)
                        cur.fetchall() if cur.description else None
                bare_elapsed = (time.perf_counter() - started) * 1000
                if i >= 5:  # warm-up
                    service_ms.append(elapsed)
                    bare_ms.append(bare_elapsed)
            return service_ms, bare_ms

        district = Area(district_ids=frozenset({"dd07"}))
        people = max(1, int(args.files * 0.9))

        def by_document(session, rng) -> None:  # noqa: ANN001
            doc = str(10000000 + rng.randint(1, people)).zfill(8)
            service.search_cases(
                session=session, area=district, filters=service.CaseFilters(doc_number=doc)
            )

        # names of people in the registry (clients of the district's files and others), typed
        # as lists show them: "surnames given names"
        with bare.cursor() as cur:
            cur.execute(
                "SELECT name_norm FROM citizen WHERE id = ANY(%s)",
                (["p" + str(rng.randint(1, people)) for _ in range(args.samples + 5)],),
            )
            names = [row[0] for row in cur.fetchall()]

        def by_name(session, rng) -> None:  # noqa: ANN001
            service.search_cases(
                session=session, area=district, filters=service.CaseFilters(name=rng.choice(names))
            )

        def by_words(session, rng) -> None:  # noqa: ANN001
            # given name first: nobody's name starts that way, so every word is searched anywhere
            words = rng.choice(names).split()
            service.search_cases(
                session=session,
                area=district,
                filters=service.CaseFilters(name=f"{words[-1]} {words[0]}"),
            )

        def fulltext(session, rng) -> None:  # noqa: ANN001
            query = f"{rng.choice(NOTE_WORDS)} {rng.choice(NOTE_WORDS)}"
            service.search_notes(session=session, area=district, query=query, limit=50)

        def dashboard(session, rng) -> None:  # noqa: ANN001
            service.district_month_dashboard(
                session=session,
                area=Area(national=True),
                district_id=f"dd{rng.randint(1, DISTRICTS):02d}",
                year=2025,
                month=rng.randint(1, 12),
            )

        for key, call, samples in (
            ("search_document", by_document, args.samples),
            ("search_name", by_name, args.samples),
            ("search_name_words", by_words, max(20, args.samples // 4)),
            ("fulltext", fulltext, args.samples),
            ("dashboard", dashboard, max(10, args.samples // 10)),
        ):
            service_ms, bare_ms = run(key, call, samples)
            if key == "dashboard":
                result["dashboard_ms"] = p95(service_ms)
                result["dashboard_bare_sql_ms"] = p95(bare_ms)
                result["dashboard_median_ms"] = round(statistics.median(service_ms), 2)
            else:
                result[f"{key}_p95_ms"] = p95(service_ms)
                result[f"{key}_bare_sql_p95_ms"] = p95(bare_ms)
                result[f"{key}_median_ms"] = round(statistics.median(service_ms), 2)
        bare.close()
        engine.dispose()
        result["targets"] = TARGETS
        result["pass"] = (
            result["search_document_p95_ms"] < TARGETS["search_p95_ms"]
            and result["search_name_p95_ms"] < TARGETS["search_p95_ms"]
            and result["fulltext_p95_ms"] < TARGETS["fulltext_p95_ms"]
            and result["dashboard_ms"] < TARGETS["dashboard_ms"]
        )
        result["notes"] = (
            "dashboard_ms is the p95 of several district/month dashboards; search_name uses names "
            "of people in the registry as stored (surnames first); search_name_words types given "
            "name first (every word searched anywhere, trigram index; no target in the issue); "
            "bare = the same SQL statements the service emitted, replayed through psycopg "
            "(no prepared statements) in the same run"
        )
    finally:
        if not args.keep and not reuse:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the generated database")
    parser.add_argument(
        "--database", help="measure an existing database made by --keep (same --files) again"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = measure(args)
    result["total_s"] = round(time.perf_counter() - started, 1)
    result["date"] = date.today().isoformat()
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result.get("pass") else 1


if __name__ == "__main__":
    sys.exit(main())
