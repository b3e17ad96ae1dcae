"""Spanish labels of Module 04 and its state machine."""

from __future__ import annotations

STATES: dict[str, str] = {
    "solicitud": "Solicitud",
    "designado": "Conciliador designado",
    "invitado": "Invitaciones cursadas",
    "audiencia": "Audiencia en curso",
    "concluido": "Concluido (acta por emitir)",
    "acta": "Acta emitida",
    "derivado": "Derivado",
}
OPEN_STATES = ("solicitud", "designado", "invitado", "audiencia", "concluido")
TRANSITIONS: dict[str, frozenset[str]] = {
    "solicitud": frozenset({"designado", "derivado"}),
    "designado": frozenset({"invitado", "derivado"}),
    "invitado": frozenset({"audiencia", "derivado"}),
    "audiencia": frozenset({"concluido", "derivado"}),
    "concluido": frozenset({"acta", "audiencia"}),
    "acta": frozenset({"audiencia"}),  # only through a replacement session
    "derivado": frozenset(),
}
ROLES: dict[str, str] = {"solicitante": "Solicitante", "invitado": "Invitado"}
WAYS: dict[str, str] = {
    "acuerdo_total": "Acuerdo total",
    "acuerdo_parcial": "Acuerdo parcial",
    "falta_acuerdo": "Falta de acuerdo",
    "inasistencia_una_parte": "Inasistencia de una parte a dos sesiones",
    "inasistencia_ambas": "Inasistencia de ambas partes a una sesión",
    "decision_motivada": "Decisión debidamente motivada del conciliador",
}
AGREEMENT_WAYS = frozenset({"acuerdo_total", "acuerdo_parcial"})
MODES: dict[str, str] = {"presencial": "Presencial", "virtual": "Virtual (Ley 31165)"}
DELIVERY_MODES: dict[str, str] = {
    "personal": "Entrega personal",
    "domicilio": "Entrega en domicilio",
    "correo_electronico": "Correo electrónico",
    "casilla_electronica": "Casilla electrónica",
}
OBLIGATION_KINDS: dict[str, str] = {
    "dar_suma": "Dar suma de dinero",
    "pension_alimentos": "Pensión de alimentos",
    "entregar_bien": "Entregar un bien",
    "hacer": "Obligación de hacer",
    "no_hacer": "Obligación de no hacer",
    "regimen_visitas": "Régimen de visitas",
    "tenencia": "Tenencia",
}
MONEY_KINDS = frozenset({"dar_suma", "pension_alimentos"})
PERIODICITIES: dict[str, str] = {
    "unica": "en un solo pago",
    "semanal": "semanal",
    "quincenal": "quincenal",
    "mensual": "mensual",
}
FAMILY_MATTERS = frozenset({"alimentos", "tenencia", "regimen_visitas"})
EVENT_LABELS: dict[str, str] = {
    "solicitud": "Solicitud registrada",
    "designation": "Designación",
    "session": "Sesión programada",
    "invitation": "Invitación emitida",
    "delivery": "Entrega de invitación",
    "attendance": "Asistencia registrada",
    "extension": "Prórroga acordada",
    "obligations": "Acuerdos registrados",
    "conclusion": "Conclusión",
    "approval": "Conformidad del abogado verificador",
    "acta": "Acta emitida",
    "void": "Número anulado",
    "replacement": "Reemplazo de acta",
    "copy": "Copia certificada",
    "derivation": "Derivación",
}
# Art. 16 (DS 014-2008-JUS as amended): what the acta must contain, in the acta's order.
ART16_ITEMS: dict[str, str] = {
    "numero": "Número correlativo del acta",
    "expediente": "Número de expediente",
    "lugar_fecha": "Lugar y fecha de la audiencia",
    "partes": "Nombres, documento de identidad y domicilio de las partes o representantes (y testigo a ruego)",
    "conciliador": "Nombre, documento y número de registro del conciliador",
    "hechos": "Hechos expuestos, controversia y pretensiones (incluida la reconvención)",
    "acuerdo_o_motivo": "Acuerdo con obligaciones ciertas, expresas y exigibles, o motivo de conclusión",
    "firmas": "Firmas y huellas de las partes y del conciliador",
    "verificador": "Nombre, firma y registro del abogado verificador",
}
