"""Catalogues of Module 02 with their Spanish labels, and the file's state machine."""

from __future__ import annotations

from contracts.cases import DEFAULT_MATTERS

SERVICES: dict[str, str] = {
    "defensa_penal": "Defensa penal",
    "asistencia_legal": "Asistencia legal",
    "defensa_victimas": "Defensa de víctimas",
    "conciliacion": "Conciliación extrajudicial",
    "multidisciplinario": "Servicios multidisciplinarios",
}
# the matter catalogue is defined once, with the hubs (they offer it before their first pull)
MATTERS: dict[str, str] = dict(DEFAULT_MATTERS)
ATTENTION_TYPES: dict[str, str] = {
    "orientacion": "Orientación",
    "asistencia": "Asistencia técnico-legal (MD02)",
    "patrocinio": "Patrocinio (MD03)",
}
STATES: dict[str, str] = {
    "open": "Abierto",
    "in_progress": "En trámite",
    "suspended": "Suspendido",
    "referred": "Derivado",
    "closed": "Concluido",
    "archived": "Archivado",
}
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"in_progress", "suspended", "referred", "closed"}),
    "in_progress": frozenset({"suspended", "referred", "closed"}),
    "suspended": frozenset({"in_progress", "closed"}),
    "referred": frozenset({"in_progress", "closed"}),
    "closed": frozenset({"archived"}),
    "archived": frozenset(),
}
ENDED_STATES = frozenset({"closed", "archived"})
OUTCOMES: dict[str, str] = {
    "sentencia_favorable": "Sentencia favorable",
    "sentencia_desfavorable": "Sentencia desfavorable",
    "acuerdo_conciliatorio": "Acuerdo conciliatorio",
    "orientacion_brindada": "Orientación brindada",
    "desistimiento": "Desistimiento del usuario",
    "abandono": "Abandono / sin contacto",
    "derivado_externo": "Derivado a otra institución",
    "no_gratuidad": "Resolución de no gratuidad",
    "conflicto_intereses": "Conflicto de intereses",
    "otro": "Otro resultado",
}
ACTION_TYPES: dict[str, str] = {
    "escrito": "Escrito presentado",
    "audiencia": "Audiencia",
    "visita": "Visita",
    "diligencia": "Diligencia",
    "entrevista": "Entrevista",
    "notificacion": "Notificación",
    "nota": "Nota",
}
PARTY_ROLES: dict[str, str] = {
    "client": "Usuario (cliente)",
    "counterpart": "Contraparte",
    "victim": "Víctima",
    "minor": "Menor de edad",
    "other": "Otro",
}
RESTRICTED_ROLES = frozenset({"victim", "minor"})
INSTITUTIONS: dict[str, str] = {
    "ministerio_publico": "Ministerio Público",
    "pnp": "Policía Nacional del Perú",
    "cem": "Centro Emergencia Mujer",
    "demuna": "DEMUNA",
    "poder_judicial": "Poder Judicial",
    "defensoria": "Defensoría del Pueblo",
    "mimp": "Ministerio de la Mujer y Poblaciones Vulnerables",
    "otra": "Otra institución",
}
DOCUMENT_CATEGORIES: dict[str, str] = {
    "escrito": "Escrito",
    "resolucion": "Resolución judicial",
    "acta": "Acta",
    "informe": "Informe",
    "identidad": "Documento de identidad",
    "prueba": "Medio probatorio",
    "otro": "Otro",
}
EVENT_LABELS: dict[str, str] = {
    "opened": "Apertura del expediente",
    "state": "Cambio de estado",
    "party": "Parte incorporada",
    "party_removed": "Parte retirada",
    "action": "Actuación",
    "deadline": "Plazo registrado",
    "deadline_done": "Plazo cumplido",
    "referral": "Derivación",
    "referral_decision": "Decisión de derivación",
    "document": "Documento adjuntado",
    "assignment": "Asignación de profesional",
    "update": "Datos modificados",
    "intake": "Actualización desde la sede",
}
