"""``alegra central``: run the server, migrate, seed demo data, create the first administrator."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Servidor central de ALEGRA.", no_args_is_help=True, add_completion=False)


def _settings():  # noqa: ANN202
    from central.settings import CentralSettings

    return CentralSettings()


@app.command()
def migrate() -> None:
    """Apply database migrations (idempotent)."""
    from central.core.db import migrate as run_migrate

    settings = _settings()
    run_migrate(settings.resolved_database_url())
    typer.echo("Base de datos actualizada.")


def _seed(settings) -> None:  # noqa: ANN001
    from central.audit import keys as audit_keys
    from central.core.db import make_engine, session_scope
    from central.core.db import migrate as run_migrate
    from central.seed import seed_demo

    url = settings.resolved_database_url()
    run_migrate(url)
    engine = make_engine(url)
    audit_keys.bind(engine, settings.resolved_audit_key())
    with session_scope(engine) as session:
        report = seed_demo(session=session, settings=settings)
    engine.dispose()
    if not report.created:
        typer.echo("Los datos de demostración ya existen.")
        return
    typer.echo("Datos de demostración creados (solo para demostración):")
    for username, profiles, password in report.users:
        extra = f"  TOTP: {report.totp[username]}" if username in report.totp else ""
        typer.echo(f"  {username:<18} {profiles:<24} contraseña: {password}{extra}")


@app.command()
def seed() -> None:
    """Create the demo district, its two sedes and demo users (idempotent)."""
    _seed(_settings())


@app.command()
def run(
    host: Annotated[str, typer.Option(help="Interfaz de escucha")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Puerto")] = 8000,
    demo: Annotated[bool, typer.Option("--demo", help="Cargar datos de demostración")] = False,
) -> None:
    """Run the central server (migrates first)."""
    import uvicorn

    from central.app import create_app

    settings = _settings()
    if demo:
        _seed(settings)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


@app.command("create-admin")
def create_admin(
    username: Annotated[str, typer.Option(prompt="Usuario")],
    display_name: Annotated[str, typer.Option(prompt="Nombre")],
    password: Annotated[
        str, typer.Option(prompt="Contraseña", hide_input=True, confirmation_prompt=True)
    ],
) -> None:
    """Create a national administrator and print the TOTP secret to enrol (second factor)."""
    import pyotp

    from central.audit import keys as audit_keys
    from central.auth.policy import Profile, ScopeKind
    from central.auth.service import password_hasher
    from central.core.db import make_engine, session_scope
    from central.core.db import migrate as run_migrate
    from central.domain.actor import Actor
    from central.domain.errors import DomainError
    from central.users import service as users
    from central.users.schemas import UserCreate

    settings = _settings()
    url = settings.resolved_database_url()
    run_migrate(url)
    engine = make_engine(url)
    audit_keys.bind(engine, settings.resolved_audit_key())
    secret = pyotp.random_base32()
    try:
        data = UserCreate(
            username=username,
            display_name=display_name,
            password=password,
            profiles=[Profile.ADMINISTRADOR_NACIONAL],
            scope_kind=ScopeKind.NATIONAL,
        )
        with session_scope(engine) as session:
            user = users.create_user(
                session=session,
                actor=Actor.system("create-admin"),
                data=data,
                ph=password_hasher(settings),
                check_assignable=False,
                min_password_length=settings.password_min_length,
                must_change_password=False,
            )
            user.totp_secret = secret
            session.add(user)
    except DomainError as exc:
        typer.echo(f"Error: {exc.message}", err=True)
        for item in exc.fields:
            typer.echo(f"  {item.field}: {item.message}", err=True)
        raise typer.Exit(1) from exc
    except ValueError as exc:  # pydantic validation of the username etc.
        typer.echo(f"Error: datos no válidos ({exc})", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=settings.totp_issuer)
    typer.echo(f"Administrador {username} creado.")
    typer.echo(f"Registre este secreto en su aplicación autenticadora: {secret}")
    typer.echo(f"URI: {uri}")


@app.command("md-rotate-keys")
def md_rotate_keys() -> None:
    """Re-encrypt Module 05's stored documents under the first key of ALEGRA_MD_DOCUMENT_KEYS
    (docs/multidisciplinary.md, "key rotation"); resumable."""
    from central.documents.storage import (
        EncryptedStorage,
        LocalDirectoryStorage,
        keys_from_file,
        parse_keys,
        stored_keys,
    )
    from central.multidisciplinary.settings import MultidisciplinarySettings

    settings = _settings()
    section = MultidisciplinarySettings()
    root = section.documents_dir or settings.data_dir / "md-documents"
    keys = section.document_keys or keys_from_file(settings.data_dir / "md-documents.keys")
    storage = EncryptedStorage(LocalDirectoryStorage(root), parse_keys(keys))
    changed = storage.rotate(stored_keys(root)) if root.exists() else 0
    typer.echo(f"Documentos recifrados con la clave vigente: {changed}.")
