"""Stable error codes shared by the hub (MQTT) and central (HTTP), with their Spanish text.

Codes are an interface: never rename one. Messages are for people (es-PE).
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    MALFORMED_JSON = "malformed_json"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_VERSION = "unsupported_version"
    INVALID_PAYLOAD = "invalid_payload"
    UNKNOWN_ACTION = "unknown_action"
    FORBIDDEN = "forbidden"
    UNKNOWN_SERVICE = "unknown_service"
    UNKNOWN_COUNTER = "unknown_counter"
    UNKNOWN_TICKET = "unknown_ticket"
    UNKNOWN_APPOINTMENT = "unknown_appointment"
    INVALID_DNI = "invalid_dni"
    INVALID_TRANSITION = "invalid_transition"
    COUNTER_NOT_OPEN = "counter_not_open"
    COUNTER_BUSY = "counter_busy"
    QUEUE_EMPTY = "queue_empty"
    SEDE_CLOSED = "sede_closed"
    NOT_SIGNED_IN = "not_signed_in"
    BAD_CREDENTIALS = "bad_credentials"
    CONFLICT = "conflict"
    NOT_FOUND = "not_found"
    UNAUTHENTICATED = "unauthenticated"
    RATE_LIMITED = "rate_limited"
    INTERNAL = "internal"
    # central: authentication, authorization and administration (Module 07)
    DUPLICATE = "duplicate"
    ACCOUNT_LOCKED = "account_locked"
    TOTP_REQUIRED = "totp_required"
    TOTP_INVALID = "totp_invalid"
    TOTP_SETUP_REQUIRED = "totp_setup_required"
    TOKEN_INVALID = "token_invalid"  # noqa: S105
    TOKEN_EXPIRED = "token_expired"  # noqa: S105
    TOKEN_REUSED = "token_reused"  # noqa: S105
    WEAK_PASSWORD = "weak_password"  # noqa: S105
    CSRF_FAILED = "csrf_failed"
    ENROLLMENT_CODE_INVALID = "enrollment_code_invalid"
    DEVICE_REVOKED = "device_revoked"
    HUB_UNREACHABLE = "hub_unreachable"  # set by a device itself when the hub did not answer
    # central: citizens and case files (Module 02)
    INVALID_DOCUMENT = "invalid_document"
    INVALID_DATE = "invalid_date"
    POSSIBLE_DUPLICATE = "possible_duplicate"
    CONFLICT_OF_INTEREST = "conflict_of_interest"
    INVALID_JUDICIAL_NUMBER = "invalid_judicial_number"
    CASE_CLOSED = "case_closed"
    FILE_TOO_LARGE = "file_too_large"
    FILE_TYPE_NOT_ALLOWED = "file_type_not_allowed"
    # hub: case intakes at the counter
    UNKNOWN_MATTER = "unknown_matter"
    MISSING_FIELD = "missing_field"
    # hub: one person, one counter at a time
    SIGNED_IN_ELSEWHERE = "signed_in_elsewhere"
    # hub: an idempotency key already taken by another device or for another action
    REQUEST_ID_REUSED = "request_id_reused"
    # central: extrajudicial conciliation (Module 04)
    NOT_CONCILIABLE = "not_conciliable"
    VIOLENCE_BLOCK = "violence_block"
    ACTA_ISSUED = "acta_issued"
    ACTA_INCOMPLETE = "acta_incomplete"
    HEARING_PERIOD_EXPIRED = "hearing_period_expired"
    ATTENDANCE_CONTRADICTS = "attendance_contradicts"
    # central: multidisciplinary services (Module 05)
    REPORT_SIGNED = "report_signed"
    REPORT_INCOMPLETE = "report_incomplete"
    SESSION_OVERLAP = "session_overlap"
    FILE_REQUIRED = "file_required"
    CONTENT_MISMATCH = "content_mismatch"


MESSAGES_ES: dict[ErrorCode, str] = {
    ErrorCode.MALFORMED_JSON: "El mensaje no es un JSON válido.",
    ErrorCode.PAYLOAD_TOO_LARGE: "El mensaje es demasiado grande.",
    ErrorCode.UNSUPPORTED_VERSION: "Versión de mensaje no admitida.",
    ErrorCode.INVALID_PAYLOAD: "Los datos enviados no son válidos.",
    ErrorCode.UNKNOWN_ACTION: "Acción desconocida.",
    ErrorCode.FORBIDDEN: "No tiene permiso para realizar esta acción.",
    ErrorCode.UNKNOWN_SERVICE: "El servicio indicado no existe en esta sede.",
    ErrorCode.UNKNOWN_COUNTER: "La ventanilla indicada no existe en esta sede.",
    ErrorCode.UNKNOWN_TICKET: "El turno indicado no existe.",
    ErrorCode.UNKNOWN_APPOINTMENT: "No encontramos una cita para hoy con esos datos.",
    ErrorCode.INVALID_DNI: "El DNI debe tener 8 dígitos.",
    ErrorCode.INVALID_TRANSITION: "Esa acción no es posible en el estado actual del turno.",
    ErrorCode.COUNTER_NOT_OPEN: "La ventanilla no está abierta.",
    ErrorCode.COUNTER_BUSY: "La ventanilla ya está atendiendo un turno.",
    ErrorCode.QUEUE_EMPTY: "No hay personas en espera.",
    ErrorCode.SEDE_CLOSED: "La sede está cerrada en este horario.",
    ErrorCode.NOT_SIGNED_IN: "Inicie sesión para usar la ventanilla.",
    ErrorCode.BAD_CREDENTIALS: "Usuario o contraseña incorrectos.",
    ErrorCode.CONFLICT: "El registro fue modificado por otra persona.",
    ErrorCode.NOT_FOUND: "No encontrado.",
    ErrorCode.UNAUTHENTICATED: "Debe iniciar sesión.",
    ErrorCode.RATE_LIMITED: "Demasiadas solicitudes. Intente nuevamente en unos segundos.",
    ErrorCode.INTERNAL: "Ocurrió un error interno. Intente nuevamente.",
    ErrorCode.DUPLICATE: "Ya existe un registro con esos datos.",
    ErrorCode.ACCOUNT_LOCKED: "La cuenta está bloqueada temporalmente por intentos fallidos.",
    ErrorCode.TOTP_REQUIRED: "Ingrese el código de verificación de su aplicación autenticadora.",
    ErrorCode.TOTP_INVALID: "El código de verificación no es válido.",
    ErrorCode.TOTP_SETUP_REQUIRED: "Debe configurar la verificación en dos pasos para continuar.",
    ErrorCode.TOKEN_INVALID: "La credencial de acceso no es válida.",
    ErrorCode.TOKEN_EXPIRED: "La sesión expiró. Inicie sesión nuevamente.",
    ErrorCode.TOKEN_REUSED: "La credencial ya fue usada; por seguridad se cerró la sesión.",
    ErrorCode.WEAK_PASSWORD: "La contraseña no cumple la política de seguridad.",
    ErrorCode.CSRF_FAILED: "El formulario expiró o no es válido. Recargue la página.",
    ErrorCode.ENROLLMENT_CODE_INVALID: "El código de registro no es válido, ya fue usado o expiró.",
    ErrorCode.DEVICE_REVOKED: "El dispositivo fue dado de baja.",
    ErrorCode.HUB_UNREACHABLE: "No hay conexión con el servidor de la sede.",
    ErrorCode.INVALID_DOCUMENT: "El número de documento no es válido para el tipo indicado.",
    ErrorCode.INVALID_DATE: "La fecha no es válida.",
    ErrorCode.POSSIBLE_DUPLICATE: "Ya existe una persona registrada con datos muy parecidos.",
    ErrorCode.CONFLICT_OF_INTEREST: "Conflicto de intereses: la contraparte es cliente de la defensa pública.",
    ErrorCode.INVALID_JUDICIAL_NUMBER: "El número de expediente judicial no tiene el formato del Poder Judicial.",
    ErrorCode.CASE_CLOSED: "El expediente está cerrado o archivado.",
    ErrorCode.FILE_TOO_LARGE: "El archivo supera el tamaño máximo permitido.",
    ErrorCode.FILE_TYPE_NOT_ALLOWED: "Tipo de archivo no permitido.",
    ErrorCode.UNKNOWN_MATTER: "La materia indicada no está en el catálogo.",
    ErrorCode.MISSING_FIELD: "Falta completar un dato obligatorio.",
    ErrorCode.SIGNED_IN_ELSEWHERE: "Su usuario tiene un turno en atención en otra ventanilla.",
    ErrorCode.REQUEST_ID_REUSED: "El identificador de solicitud ya fue usado en otra solicitud.",
    ErrorCode.NOT_CONCILIABLE: "La materia indicada no es conciliable.",
    ErrorCode.VIOLENCE_BLOCK: "No procede la conciliación: hay un indicador de violencia familiar o medidas de protección. Derive el caso a defensa de víctimas.",
    ErrorCode.ACTA_ISSUED: "El acta ya fue emitida y no puede modificarse; un acta defectuosa se reemplaza mediante una nueva sesión.",
    ErrorCode.ACTA_INCOMPLETE: "El acta no puede emitirse: falta un contenido obligatorio (Art. 16).",
    ErrorCode.HEARING_PERIOD_EXPIRED: "Venció el plazo de la audiencia única y no hay una prórroga acordada por las partes.",
    ErrorCode.ATTENDANCE_CONTRADICTS: "La forma de conclusión no corresponde a la asistencia registrada.",
    ErrorCode.REPORT_SIGNED: "El informe ya fue firmado y no puede modificarse; registre una enmienda (nueva versión) con su motivo.",
    ErrorCode.REPORT_INCOMPLETE: "El informe no puede firmarse: falta completar una sección obligatoria.",
    ErrorCode.SESSION_OVERLAP: "El profesional ya tiene una sesión en ese horario.",
    ErrorCode.FILE_REQUIRED: "Indique el expediente (caso o conciliación) al que corresponde la solicitud.",
    ErrorCode.CONTENT_MISMATCH: "El contenido del archivo no corresponde a su nombre o tipo.",
}


def message_es(code: ErrorCode) -> str:
    return MESSAGES_ES[code]
