"""Form plumbing of the web UI: the posted form as a dependency, and validation or domain
errors turned into field-level Spanish messages for the template."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from central.core.http import spanish_message
from central.domain.errors import DomainError

M = TypeVar("M", bound=BaseModel)

# Friendlier messages for some fields than the generic "El formato no es válido."
_FIELD_MESSAGES: dict[tuple[str, str], str] = {
    ("username", "string_pattern_mismatch"): (
        "Use de 3 a 64 caracteres: minúsculas, números, guion (-) o guion bajo (_)."
    ),
    ("email", "string_pattern_mismatch"): "Ingrese un correo electrónico válido.",
    ("profiles", "too_short"): "Seleccione al menos un perfil.",
    ("profiles", "missing"): "Seleccione al menos un perfil.",
    ("scope_kind", "missing"): "Seleccione el alcance.",
    ("scope_kind", "enum"): "Seleccione el alcance.",
    ("id", "string_pattern_mismatch"): (
        "Use minúsculas, números, guion (-) o guion bajo (_), sin espacios (máximo 64)."
    ),
    ("code", "string_pattern_mismatch"): (
        "Use minúsculas, números, guion (-) o guion bajo (_), sin espacios (máximo 64)."
    ),
    ("district_id", "string_pattern_mismatch"): "Seleccione una dirección distrital.",
    ("sede_id", "string_pattern_mismatch"): "Seleccione una sede.",
    ("ubigeo", "string_pattern_mismatch"): "El ubigeo tiene 6 dígitos.",
    ("letter", "string_pattern_mismatch"): "De 1 a 3 letras mayúsculas (por ejemplo, A).",
    ("services", "too_short"): "Asigne al menos un servicio a la ventanilla.",
}


async def posted_form(request: Request) -> FormData:
    """The urlencoded or multipart body (Starlette caches it, so verify_csrf reads the same)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(posted_form)]


@dataclass
class FormErrors:
    """What a template needs to show a failed form: one message per field and a general one."""

    fields: dict[str, str] = field(default_factory=dict)
    message: str | None = None

    def __bool__(self) -> bool:
        return bool(self.fields or self.message)

    def add(self, name: str, text: str) -> None:
        self.fields.setdefault(name, text)


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def optional_text(form: FormData, name: str) -> str | None:
    return text(form, name) or None


def strings(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str) and v]


def validation_errors(exc: ValidationError) -> FormErrors:
    errors = FormErrors(message="Revise los datos marcados.")
    for item in exc.errors():
        loc = [str(p) for p in item.get("loc", ())]
        name = loc[0] if loc else "form"
        kind = str(item.get("type", ""))
        if kind == "string_too_short" and (item.get("ctx") or {}).get("min_length") == 1:
            kind = "missing"  # "at least 1 character" means the field was left empty
        text = _FIELD_MESSAGES.get((name, kind))
        if text is None and kind == "missing":
            text = "Este campo es obligatorio."
        errors.add(name, text or spanish_message(dict(item)))
    return errors


def domain_errors(exc: DomainError) -> FormErrors:
    errors = FormErrors(message=exc.message)
    for item in exc.fields:
        name = item.field.removeprefix("body.")
        errors.add(name.split(".")[0], item.message[:1].upper() + item.message[1:])
    return errors


def build(model: type[M], data: dict[str, Any]) -> tuple[M | None, FormErrors]:
    """Validate ``data`` into ``model``; on failure, the Spanish field errors."""
    try:
        return model.model_validate(data), FormErrors()
    except ValidationError as exc:
        return None, validation_errors(exc)
