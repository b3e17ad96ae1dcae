"""The permission matrix written out by hand (profile × action), independent of
central/auth/policy.py: the permission tests take their expectations from here, so a changed
grant in the policy (e.g. coordinators given ``sensitive.read``) fails them instead of being
copied into the expectation. Change both on purpose, never one from the other.

N = everywhere, A = within the user's own sede / district, - = refused.
"""

from __future__ import annotations

from dataclasses import dataclass

# fmt: off
TABLE = """
action                  def  con  ver  ori  ts  psi  med  per  coord  dir  admin  aud
districts.read          -    -    -    -    -   -    -    -    -      A    N      N
districts.write         -    -    -    -    -   -    -    -    -      -    N      -
sedes.read              A    A    A    A    A   A    A    A    A      A    N      N
sedes.create            -    -    -    -    -   -    -    -    -      -    N      -
sedes.update            -    -    -    -    -   -    -    -    -      A    N      -
sedes.configure         -    -    -    -    -   -    -    -    A      A    N      -
users.read              -    -    -    -    -   -    -    -    A      A    N      N
users.create            -    -    -    -    -   -    -    -    A      A    N      -
users.update            -    -    -    -    -   -    -    -    A      A    N      -
devices.read            -    -    -    -    -   -    -    -    A      A    N      N
devices.enroll          -    -    -    -    -   -    -    -    A      A    N      -
devices.revoke          -    -    -    -    -   -    -    -    A      A    N      -
sync.read               -    -    -    -    -   -    -    -    A      A    N      N
sync.resolve            -    -    -    -    -   -    -    -    A      A    N      -
sync.publish            -    -    -    -    -   -    -    -    A      A    N      -
audit.read              -    -    -    -    -   -    -    -    -      -    -      N
audit.export            -    -    -    -    -   -    -    -    -      -    -      N
sensitive.read          -    -    -    -    A   A    A    A    -      -    -      -
sensitive.write         -    -    -    -    A   A    A    A    -      -    -      -
citizens.read           A    A    A    A    A   A    A    A    A      A    N      -
citizens.write          A    A    A    A    A   A    A    A    A      -    N      -
citizens.merge          -    -    -    -    -   -    -    -    A      A    N      -
income.read             -    -    A    -    A   -    -    -    -      -    -      -
income.write            A    -    A    A    A   -    -    -    -      -    -      -
income.verify           -    -    A    -    A   -    -    -    -      -    -      -
cases.read              A    A    A    A    A   A    A    A    A      A    N      -
cases.write             A    A    A    A    A   A    A    A    A      -    -      -
cases.sensitive         A    -    A    -    A   A    A    A    -      -    -      -
cases.supervise         -    -    -    -    -   -    -    -    A      A    N      -
activities.read         A    A    A    A    A   A    A    A    A      A    N      -
activities.plan         -    -    -    -    -   -    -    -    A      A    N      -
activities.record       A    A    A    A    A   A    A    A    A      A    -      -
supervision.read        -    -    -    -    -   -    -    -    A      A    N      -
conciliation.read       -    A    A    -    -   -    -    -    A      A    N      -
conciliation.write      -    A    -    -    -   -    -    -    A      -    -      -
conciliation.designate  -    -    -    -    -   -    -    -    A      -    -      -
conciliation.verify     -    -    A    -    -   -    -    -    -      -    -      -
conciliation.registry   -    -    A    -    -   -    -    -    A      A    N      -
md.request              A    A    A    -    -   -    -    -    A      -    -      -
md.read                 A    A    A    A    A   A    A    A    A      A    N      -
md.assign               -    -    -    -    -   -    -    -    A      A    -      -
md.work                 -    -    -    -    A   A    A    A    -      -    -      -
md.content              A    A    A    -    A   A    A    A    A      A    -      -
md.supervise            -    -    -    -    -   -    -    -    A      A    N      -
md.who_saw              -    -    -    -    -   -    -    -    A      A    -      N
"""
# fmt: on

COLUMNS = {
    "def": "defensor_publico",
    "con": "conciliador",
    "ver": "abogado_verificador",
    "ori": "orientador",
    "ts": "trabajador_social",
    "psi": "psicologo",
    "med": "medico_legista",
    "per": "perito",
    "coord": "coordinador_sede",
    "dir": "director_distrital",
    "admin": "administrador_nacional",
    "aud": "auditor",
}


def _parse() -> dict[str, dict[str, str]]:
    lines = [line.split() for line in TABLE.strip().splitlines()]
    header, rows = lines[0][1:], lines[1:]
    table: dict[str, dict[str, str]] = {}
    for action, *cells in rows:
        assert len(cells) == len(header), action
        table[action] = {COLUMNS[h]: c for h, c in zip(header, cells, strict=True) if c != "-"}
    return table


EXPECTED: dict[str, dict[str, str]] = _parse()


@dataclass(frozen=True)
class ExpectedArea:
    """Where a single-profile user anchored at one sede / district / the country may act."""

    national: bool = False
    district_id: str | None = None
    sede_id: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.national or self.district_id or self.sede_id)

    def contains(self, *, sede_id: str | None = None, district_id: str | None = None) -> bool:
        if self.national:
            return True
        if self.sede_id is not None:
            return sede_id == self.sede_id
        if self.district_id is not None:
            return district_id == self.district_id
        return False


def expected_area(
    profile: str, action: str, *, sede_id: str | None, district_id: str | None
) -> ExpectedArea:
    """The area the table grants to a user holding only ``profile`` anchored at a sede, a
    district or (neither) the whole country."""
    if action not in EXPECTED:
        raise AssertionError(f"action {action!r} is not in tests/central/expected_permissions.py")
    reach = EXPECTED[action].get(str(profile))
    if reach is None:
        return ExpectedArea()
    if reach == "N" or (sede_id is None and district_id is None):
        return ExpectedArea(national=True)
    if sede_id is not None:
        return ExpectedArea(sede_id=sede_id)
    return ExpectedArea(district_id=district_id)
