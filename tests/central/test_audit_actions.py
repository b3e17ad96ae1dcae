"""Every action code the code base writes to the audit log has a Spanish label, and the
auditor's filter offers every sensitive read (one by one and all at once)."""

from __future__ import annotations

import ast
from pathlib import Path

from central.audit.actions import ACTION_LABELS_ES, SENSITIVE_READS
from central.auth.policy import Profile
from tests.conftest import REPO_ROOT

from .conftest import sign_in

CENTRAL = REPO_ROOT / "central"
# wrappers whose third positional argument is the action code
WRAPPERS = {"_audit"}


def _strings(node: ast.AST) -> set[str]:
    """String constants an expression can evaluate to (literals, either side of an `if`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _strings(node.body) | _strings(node.orelse)
    return set()


def _called(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _wrapper_prefix(tree: ast.AST) -> str:
    """A module's ``_audit`` wrapper may build the code as ``f"conciliation.{action}"``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name in WRAPPERS:
            for call in ast.walk(node):
                for keyword in getattr(call, "keywords", []):
                    if keyword.arg == "action" and isinstance(keyword.value, ast.JoinedStr):
                        first = keyword.value.values[0]
                        if isinstance(first, ast.Constant):
                            return str(first.value)
    return ""


def used_action_codes() -> dict[str, str]:
    """Every literal action code passed to the audit log in central/, with where it is."""
    found: dict[str, str] = {}
    for path in sorted(CENTRAL.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        prefix = _wrapper_prefix(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            values: set[str] = set()
            for keyword in node.keywords:
                if keyword.arg == "action":
                    values |= _strings(keyword.value)
            if _called(node) in WRAPPERS and len(node.args) >= 3:
                values |= {prefix + code for code in _strings(node.args[2])}
            for value in values:
                found.setdefault(value, f"{Path(path).relative_to(REPO_ROOT)}:{node.lineno}")
    return found


def test_the_scan_finds_the_codes_of_every_kind_of_call():
    codes = used_action_codes()
    # keyword calls, the case wrapper and both branches of a conditional
    for known in ("sede.create", "case.update", "auth.signin", "conciliation.solicitud"):
        assert known in codes
    assert len(codes) >= 60


def test_every_action_code_written_to_the_log_has_a_spanish_label():
    missing = {
        code: where for code, where in used_action_codes().items() if code not in ACTION_LABELS_ES
    }
    assert not missing, f"audit action codes without a label in central/audit/actions.py: {missing}"
    for code, label in ACTION_LABELS_ES.items():
        assert label and label[0].isupper() and label != code


def test_sensitive_reads_are_registered_as_such():
    assert {
        "sensitive_note.read",
        "sensitive_note.list",
        "eligibility.read",
        "case.restricted_read",
    } <= SENSITIVE_READS


def make_sensitive_reads(client, world, factory) -> None:  # noqa: ANN001
    """A psychologist writes a note, reads it and lists the notes: two sensitive reads."""
    headers = sign_in(client, factory.user(Profile.PSICOLOGO, sede=world.sede_a1))
    note = client.post(
        "/api/v1/sensitive-notes",
        headers=headers,
        json={
            "sede_id": world.sede_a1,
            "category": "victima",
            "subject_ref": "r-1",
            "title": "Informe",
            "body": "Texto",
        },  # fmt: skip
    )
    assert note.status_code == 201
    assert client.get(f"/api/v1/sensitive-notes/{note.json()['id']}", headers=headers).is_success
    assert client.get("/api/v1/sensitive-notes", headers=headers).is_success


def test_the_auditor_can_filter_the_api_on_every_sensitive_read(client, world, factory):
    make_sensitive_reads(client, world, factory)
    headers = sign_in(client, factory.user(Profile.AUDITOR))
    page = client.get(
        "/api/v1/audit/events", headers=headers, params={"sensitive_reads": "true"}
    ).json()
    assert sorted(item["action"] for item in page["items"]) == [
        "sensitive_note.list",
        "sensitive_note.read",
    ]
