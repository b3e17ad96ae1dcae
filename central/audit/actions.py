"""Every audited action code, with its Spanish label and whether it is a read of sensitive data
(what the auditor's filter groups as "lecturas sensibles"). A test scans the code base for the
codes passed to the audit log and requires each one here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AuditAction:
    code: str
    label_es: str
    sensitive_read: bool = False


_ACTIONS = (
    # sign-in and sessions
    AuditAction("auth.signin", "Inicio de sesión"),
    AuditAction("auth.signin_failed", "Inicio de sesión fallido"),
    AuditAction("auth.signin_throttled", "Inicio de sesión frenado (demasiados intentos)"),
    AuditAction("auth.signout", "Cierre de sesión"),
    AuditAction("auth.refresh", "Renovación de credencial"),
    AuditAction("auth.refresh_reuse", "Reutilización de credencial (sesión revocada)"),
    AuditAction("auth.totp_setup_required", "Configuración de segundo factor requerida"),
    # staff accounts
    AuditAction("user.create", "Creación de usuario"),
    AuditAction("user.update", "Modificación de usuario"),
    AuditAction("user.unlock", "Desbloqueo de usuario"),
    AuditAction("user.password_change", "Cambio de contraseña"),
    AuditAction("user.password_reset", "Restablecimiento de contraseña"),
    AuditAction("user.totp_enable", "Activación de segundo factor"),
    AuditAction("user.totp_reset", "Reinicio de segundo factor"),
    # organisation
    AuditAction("district.create", "Creación de dirección distrital"),
    AuditAction("district.update", "Modificación de dirección distrital"),
    AuditAction("sede.create", "Creación de sede"),
    AuditAction("sede.update", "Modificación de sede"),
    AuditAction("sede_service.create", "Creación de servicio"),
    AuditAction("sede_service.update", "Modificación de servicio"),
    AuditAction("sede_service.delete", "Eliminación de servicio"),
    AuditAction("counter.create", "Creación de ventanilla"),
    AuditAction("counter.update", "Modificación de ventanilla"),
    AuditAction("counter.delete", "Eliminación de ventanilla"),
    AuditAction("sede_hours.set", "Cambio de horario de atención"),
    AuditAction("sede_queue_policy.set", "Cambio de política de cola"),
    # devices
    AuditAction("device.enrollment_code_issue", "Emisión de código de registro de dispositivo"),
    AuditAction("device.enroll", "Registro de dispositivo"),
    AuditAction("device.revoke", "Baja de dispositivo"),
    # the audit log itself
    AuditAction("audit.search", "Consulta de auditoría"),
    AuditAction("audit.export", "Exportación de auditoría"),
    # citizens
    AuditAction("citizen.create", "Registro de ciudadano"),
    AuditAction("citizen.update", "Modificación de datos de ciudadano"),
    AuditAction("citizen.merge", "Fusión de registros de ciudadano"),
    AuditAction("citizen.identity_lookup", "Consulta de identidad (RENIEC)", sensitive_read=True),
    AuditAction("eligibility.create", "Declaración socioeconómica"),
    AuditAction("eligibility.decide", "Decisión de gratuidad"),
    AuditAction("eligibility.read", "Lectura de datos socioeconómicos", sensitive_read=True),
    # case files
    AuditAction("case.open", "Apertura de expediente"),
    AuditAction("case.update", "Modificación de expediente"),
    AuditAction("case.transition", "Cambio de estado de expediente"),
    AuditAction("case.party_add", "Incorporación de parte al expediente"),
    AuditAction("case.party_remove", "Retiro de parte del expediente"),
    AuditAction("case.action_add", "Registro de actuación"),
    AuditAction("case.deadline_add", "Registro de plazo"),
    AuditAction("case.deadline_done", "Plazo cumplido"),
    AuditAction("case.alert_read", "Alerta de plazo leída"),
    AuditAction("case.document_upload", "Carga de documento al expediente"),
    AuditAction("case.document_download", "Descarga de documento del expediente", True),
    AuditAction("case.referral_create", "Derivación de expediente"),
    AuditAction("case.referral_decide", "Respuesta a derivación"),
    AuditAction("case.referral_letter", "Emisión de oficio de derivación"),
    AuditAction("case.restricted_read", "Lectura de actuaciones reservadas", sensitive_read=True),
    AuditAction("case.ingest_intakes", "Ingreso de atenciones de sede como expedientes"),
    AuditAction("case.intake_update", "Corrección de atención de sede"),
    # sensitive records
    AuditAction("sensitive_note.create", "Registro de información sensible"),
    AuditAction("sensitive_note.read", "Lectura de información sensible", sensitive_read=True),
    AuditAction("sensitive_note.list", "Listado de información sensible", sensitive_read=True),
    # activities and supervision (Module 01)
    AuditAction("activity_plan.create", "Registro de programación de actividades"),
    AuditAction("activity_plan.update", "Modificación de programación de actividades"),
    AuditAction("manual_activity.create", "Registro de actividad"),
    AuditAction("supervision.export", "Exportación del reporte de supervisión"),
    # conciliation (Module 04)
    AuditAction("conciliation.solicitud", "Registro de solicitud de conciliación"),
    AuditAction("conciliation.designate", "Designación de conciliador"),
    AuditAction("conciliation.session", "Programación de audiencia de conciliación"),
    AuditAction("conciliation.invitation", "Emisión de invitación a conciliar"),
    AuditAction("conciliation.delivery", "Registro de entrega de invitación"),
    AuditAction("conciliation.attendance", "Registro de asistencia a audiencia"),
    AuditAction("conciliation.extension", "Prórroga de audiencia de conciliación"),
    AuditAction("conciliation.obligations", "Registro de acuerdos y obligaciones"),
    AuditAction("conciliation.conclude", "Conclusión del procedimiento de conciliación"),
    AuditAction("conciliation.approve", "Verificación de legalidad del acta"),
    AuditAction("conciliation.acta_issue", "Emisión de acta de conciliación"),
    AuditAction("conciliation.acta_void", "Anulación de acta de conciliación"),
    AuditAction("conciliation.acta_replacement", "Emisión de acta de reemplazo"),
    AuditAction("conciliation.acta_copy", "Emisión de copia certificada de acta"),
    AuditAction("conciliation.derive", "Derivación desde conciliación"),
    AuditAction("conciliation.professional", "Registro de datos de conciliador"),
    # multidisciplinary services (Module 05)
    AuditAction("md_request.create", "Solicitud de servicio multidisciplinario"),
    AuditAction("md_request.assign", "Asignación de solicitud a un profesional"),
    AuditAction("md_request.derive", "Derivación de solicitud a otra sede"),
    AuditAction("md_session.schedule", "Programación de sesión con la persona"),
    AuditAction("md_session.outcome", "Registro de resultado de sesión (realizada, inasistencia)"),
    AuditAction("md_report.save_draft", "Edición de borrador de informe"),
    AuditAction("md_report.request_review", "Envío de informe a revisión"),
    AuditAction("md_report.review", "Revisión de informe por un segundo profesional"),
    AuditAction("md_report.sign", "Firma de informe"),
    AuditAction("md_report.amend", "Enmienda de informe (nueva versión)"),
    AuditAction("md_report.deliver", "Entrega de informe"),
    AuditAction("md_socio.ficha", "Registro de ficha socioeconómica"),
    AuditAction("md_socio.decide", "Decisión de gratuidad del servicio"),
    AuditAction("md_evidence.receive", "Recepción de indicio o muestra"),
    AuditAction("md_evidence.custody", "Registro en la cadena de custodia"),
    AuditAction("md.content_read", "Lectura de contenido sensible (informe, ficha, indicio)", True),
    AuditAction("md.content_denied", "Intento denegado de leer contenido sensible", True),
    AuditAction("md.who_saw", "Consulta de quién vio qué datos de una persona", True),
    # central-owned records published to the sedes through sync
    AuditAction("appointment.save", "Registro o modificación de cita"),
    AuditAction("appointment.delete", "Anulación de cita"),
    AuditAction("display_message.save", "Publicación de mensaje en pantalla"),
    AuditAction("sync_conflict.resolve", "Resolución de conflicto de sincronización"),
    AuditAction("case_intake.edit", "Corrección de ficha de atención de sede"),
    AuditAction("case_intake.delete", "Eliminación de ficha de atención de sede"),
)

ACTIONS: dict[str, AuditAction] = {action.code: action for action in _ACTIONS}
ACTION_LABELS_ES: dict[str, str] = {action.code: action.label_es for action in _ACTIONS}
SENSITIVE_READS: frozenset[str] = frozenset(a.code for a in _ACTIONS if a.sensitive_read)
# the filter value that stands for every sensitive read at once
SENSITIVE_READS_FILTER = "lecturas-sensibles"


def action_label(code: str) -> str:
    """The Spanish label of an action; an unknown code is shown as itself."""
    return ACTION_LABELS_ES.get(code, code)
