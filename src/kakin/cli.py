"""The `kakin` command: serve, migrate, demo, tenant, client."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from kakin.kit.crypto import MasterKeyError
from kakin.kit.db import tenant_session, unscoped_session
from kakin.onboarding import open_tenant
from kakin.runtime import Runtime
from kakin.settings import get_settings
from kakin.tenancy import service as tenancy
from kakin.tenancy.clock import tenant_today
from kakin.tenancy.schemas import ALL_FUNCTIONS, ALL_SCOPES

app = typer.Typer(
    help="kakin (課金): business support for subscription businesses.", no_args_is_help=True
)
tenant_app = typer.Typer(help="Tenants (providers using kakin).", no_args_is_help=True)
client_app = typer.Typer(help="API clients (client id + secret) of a tenant.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(client_app, name="client")


def _runtime(migrate: bool = True) -> Runtime:
    from kakin.migrate import upgrade  # noqa: PLC0415 - Alembic is only loaded when needed

    settings = get_settings()
    runtime = Runtime.from_settings(settings)
    if migrate:
        upgrade(settings.resolved_database_url())
    try:
        runtime.keyring.verify_all()
    except MasterKeyError as exc:
        typer.secho(f"kakin: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    return runtime


def _freeze_startup_objects() -> None:
    """For batch processes (closing, worker): the objects alive after start-up (modules,
    engine, caches) leave the cyclic collector's sight, so its full collections, which a
    closing's many small objects trigger, no longer rescan them (~10 % of a chunk's CPU)."""
    gc.collect()
    gc.freeze()


def _choose_tenant(runtime: Runtime, tenant: str | None) -> str:
    """The tenant named by `-t`, or — seed 003 — list the tenants and ask for one."""
    with unscoped_session(runtime.sessions) as session:
        tenants = [(t.tenant_id, t.name) for t in tenancy.list_tenants(session)]
    ids = {t for t, _ in tenants}
    if tenant:
        if tenant in ids:
            return tenant
        by_name = [t for t, name in tenants if name == tenant]
        if len(by_name) == 1:
            return by_name[0]
        typer.secho(f"kakin: no tenant {tenant!r}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    if not tenants:
        typer.secho("kakin: there are no tenants yet (kakin tenant create NAME)", err=True)
        raise typer.Exit(2)
    for n, (tenant_id, name) in enumerate(tenants, start=1):
        typer.echo(f"  {n}. {name}  ({tenant_id})")
    if not sys.stdin.isatty():
        typer.secho("kakin: choose a tenant with -t TENANT", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    choice = typer.prompt("Tenant number", type=int)
    if not 1 <= choice <= len(tenants):
        raise typer.Exit(2)
    chosen: str = tenants[choice - 1][0]
    return chosen


@app.command()
def migrate() -> None:
    """Migrate the database (KAKIN_DATABASE_URL, default var/kakin.db) to the newest schema."""
    _runtime(migrate=True).close()
    typer.echo("database is at the newest schema")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
) -> None:
    """Migrate the database, then serve the API."""
    import uvicorn  # noqa: PLC0415

    _runtime(migrate=True).close()
    typer.echo(f"kakin serving on http://{host}:{port}  (API docs at /docs)")
    uvicorn.run(
        "kakin.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=False,
    )


@app.command()
def demo() -> None:
    """Create a demo tenant with masters, customers and contracts; print its credentials."""
    from kakin.demo import seed_demo  # noqa: PLC0415

    runtime = _runtime()
    credentials = seed_demo(runtime)
    runtime.close()
    typer.echo(json.dumps(credentials.model_dump(), indent=2))


@tenant_app.command("create")
def tenant_create(
    name: str,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON only")] = False,
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox", help="a tenant for trying kakin out: its clock can be moved forward"
        ),
    ] = False,
) -> None:
    """Create a tenant with every function and one full API client (every function scope
    and admin); print its credentials."""
    runtime = _runtime()
    with unscoped_session(runtime.sessions) as session:
        created = open_tenant(session, name, runtime.keyring.new_wrapped_key(), sandbox=sandbox)
        tenant_id = created.tenant_id
    with tenant_session(runtime.sessions, tenant_id) as session:
        credentials = tenancy.create_client(session, name="default")
    runtime.close()
    body: dict[str, str | bool] = {
        "tenant_id": tenant_id,
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
        "sandbox": sandbox,
    }
    if as_json:
        typer.echo(json.dumps(body))
    else:
        typer.echo(f"tenant {name!r} created\n" + "\n".join(f"  {k}: {v}" for k, v in body.items()))
        typer.echo("keep the client secret now: it is stored only as a hash")


@tenant_app.command("list")
def tenant_list() -> None:
    """List the tenants."""
    runtime = _runtime()
    with unscoped_session(runtime.sessions) as session:
        for t in tenancy.list_tenants(session):
            mark = "\tsandbox" if t.sandbox else ""
            typer.echo(f"{t.tenant_id}\t{t.name}\t{','.join(t.functions)}{mark}")
    runtime.close()


@client_app.command("create")
def client_create(
    tenant: Annotated[str | None, typer.Option("-t", "--tenant", help="tenant id or name")] = None,
    name: Annotated[str, typer.Option(help="a label for the client")] = "",
    scope: Annotated[
        list[str] | None,
        typer.Option(
            help="a scope to grant, repeatable: customers, contracts, rating or admin (tenant "
            "settings, function switches, test clock, audit trail); default: the three "
            "function scopes"
        ),
    ] = None,
) -> None:
    """Issue a new client id and secret for a tenant."""
    unknown = [s for s in scope or [] if s not in ALL_SCOPES]
    if unknown:
        typer.secho(
            f"kakin: unknown scope {unknown[0]!r}; the scopes are {' '.join(ALL_SCOPES)}",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2)
    runtime = _runtime()
    tenant_id = _choose_tenant(runtime, tenant)
    with tenant_session(runtime.sessions, tenant_id) as session:
        # Least privilege: admin only when asked for.
        credentials = tenancy.create_client(session, name=name, scopes=scope or ALL_FUNCTIONS)
    runtime.close()
    typer.echo(json.dumps(credentials.model_dump()))


@client_app.command("revoke")
def client_revoke(
    client_id: str,
    tenant: Annotated[str | None, typer.Option("-t", "--tenant", help="tenant id or name")] = None,
) -> None:
    """Revoke a client and every access token issued to it."""
    runtime = _runtime()
    tenant_id = _choose_tenant(runtime, tenant)
    with tenant_session(runtime.sessions, tenant_id) as session:
        found = tenancy.revoke_client(session, client_id)
    runtime.close()
    if not found:
        typer.secho(f"kakin: no active client {client_id}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {client_id}")


@client_app.command("list")
def client_list(
    tenant: Annotated[str | None, typer.Option("-t", "--tenant", help="tenant id or name")] = None,
) -> None:
    """List a tenant's API clients."""
    runtime = _runtime()
    tenant_id = _choose_tenant(runtime, tenant)
    with tenant_session(runtime.sessions, tenant_id) as session:
        for c in tenancy.list_clients(session):
            state = "revoked" if c.revoked_at else "active"
            typer.echo(f"{c.id}\t{state}\t{' '.join(c.scopes)}\t{c.name}")
    runtime.close()


# --- usage records ---------------------------------------------------------------------

usage_app = typer.Typer(
    help="Usage records (利用実績): import files, daily totals.", no_args_is_help=True
)
app.add_typer(usage_app, name="usage")


@usage_app.command("import")
def usage_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    tenant: Annotated[str | None, typer.Option("-t", "--tenant", help="tenant id or name")] = None,
) -> None:
    """Load usage records from a CSV file, all or nothing.

    The header names the columns (any order):
    record_id,subscription_id,subscription_external_ref,usage_item,quantity,used_at —
    with exactly one of subscription_id / subscription_external_ref per line, quantity a
    decimal (>= 0, up to 6 places), used_at ISO 8601 with a UTC offset. UTF-8 (with or
    without BOM) or CP932. A bad line and nothing is stored (every bad line is listed); a
    record_id registered before with the same content counts as a duplicate, with other
    content it fails the file. Without -t the tenants are listed to choose from.
    """
    from kakin.usage.csv_import import ImportFailed, count_lines, import_usage_csv  # noqa: PLC0415

    runtime = _runtime()
    try:
        tenant_id = _choose_tenant(runtime, tenant)
        with typer.progressbar(length=count_lines(file), label="importing", file=sys.stderr) as bar:
            result = import_usage_csv(runtime, tenant_id, file, progress=bar.update)
    except ImportFailed as exc:
        shown = exc.errors[:MAX_ERRORS_SHOWN]
        for where, reason in shown:
            typer.secho(f"{file.name}: {where}: {reason}", fg=typer.colors.RED, err=True)
        if len(exc.errors) > len(shown):
            typer.secho(f"… and {len(exc.errors) - len(shown)} more", err=True)
        typer.secho(f"kakin: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.close()
    typer.echo(
        f"accepted {result.accepted}, duplicates {result.duplicates}, "
        f"{result.rows} records in {result.elapsed:.2f} s ({result.rate:,.0f} records/s)"
    )


MAX_ERRORS_SHOWN = 200
"""Bad lines printed by `kakin usage import` (the count of the rest follows)."""


@usage_app.command("rollup")
def usage_rollup(
    tenant: Annotated[
        str | None, typer.Option("-t", "--tenant", help="tenant id or name (default: all)")
    ] = None,
    date: Annotated[
        list[str] | None,
        typer.Option("--date", help="recompute this local day (YYYY-MM-DD) wholesale; repeatable"),
    ] = None,
) -> None:
    """The daily batch: recompute the per-day usage totals of days with new or deleted
    records (or of --date days wholesale). Running it again changes nothing."""
    from kakin.usage.rollup import run_rollup  # noqa: PLC0415

    try:
        days = [dt.date.fromisoformat(d) for d in date] if date else None
    except ValueError:
        typer.secho("kakin: --date takes YYYY-MM-DD", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    runtime = _runtime()
    try:
        tenant_id = _choose_tenant(runtime, tenant) if tenant else None
        result = run_rollup(runtime, tenant_id=tenant_id, days=days)
    finally:
        runtime.close()
    typer.echo(
        f"rolled up {result.days} day(s) of {result.tenants} tenant(s): {result.totals} totals"
    )


# --- closing and the worker ------------------------------------------------------------


@app.command("close")
def close_command(
    date: Annotated[str, typer.Option("--date", help="closing date YYYY-MM-DD (締め処理日)")],
    tenant: Annotated[
        str | None, typer.Option("-t", "--tenant", help="tenant id or name (default: all)")
    ] = None,
) -> None:
    """Run the closing of --date: rate every contract whose billing period ended the day
    before (RATING.md §2). Safe to repeat; an interrupted run resumes."""
    from kakin.billing import closing  # noqa: PLC0415
    from kakin.billing.errors import ClosingInProgress  # noqa: PLC0415
    from kakin.billing.models import ClosingRun  # noqa: PLC0415

    try:
        closing_date = dt.date.fromisoformat(date)
    except ValueError:
        typer.secho("kakin: --date takes YYYY-MM-DD", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    runtime = _runtime()
    _freeze_startup_objects()
    with unscoped_session(runtime.sessions) as session:
        tenants = {t.tenant_id: t for t in tenancy.list_tenants(session)}
    if tenant:
        chosen = tenants[_choose_tenant(runtime, tenant)]
        if "rating" not in chosen.functions:
            typer.secho(
                f"kakin: tenant {chosen.tenant_id} ({chosen.name}) has the rating function "
                "off: nothing of it is closed (switch it on with PATCH /v1/tenant)",
                fg=typer.colors.RED,
                err=True,
            )
            runtime.close()
            raise typer.Exit(2)
        selected = [chosen]
    else:
        selected = [t for t in tenants.values() if "rating" in t.functions]
    future = [t for t in selected if closing_date > tenant_today(t)]
    for t in future:
        typer.secho(
            f"kakin: {t.tenant_id}: the closing date {closing_date} is after the tenant's "
            f"today {tenant_today(t)}",
            fg=typer.colors.RED,
            err=True,
        )
    if future:
        runtime.close()
        raise typer.Exit(2)
    failed = False
    for tenant_id in (t.tenant_id for t in selected):
        with typer.progressbar(length=1, label=f"closing {tenant_id}", file=sys.stderr) as bar:
            shown = 0

            def progress(p: closing.RunProgress) -> None:
                nonlocal shown
                bar.length = max(p.total, 1)
                bar.update(p.done - shown)
                shown = p.done

            try:
                run_id = closing.close(runtime.sessions, tenant_id, closing_date, progress=progress)
            except ClosingInProgress as exc:
                typer.secho(f"kakin: {exc.detail}", fg=typer.colors.RED, err=True)
                failed = True
                continue
        with tenant_session(runtime.sessions, tenant_id) as session:
            run = session.get_one(ClosingRun, (tenant_id, run_id))
            typer.echo(
                f"{tenant_id}: {run.status}: {run.contracts_done}/{run.contracts_total} contracts, "
                f"{run.receivables_written} receivables and {run.lines_written} lines written"
            )
            for error in run.errors[:MAX_ERRORS_SHOWN]:
                typer.secho(f"  {error['contract_id']}: {error['reason']}", err=True)
            failed = failed or run.status != "completed"
    runtime.close()
    if failed:
        raise typer.Exit(1)


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="do one pass and exit")] = False,
) -> None:
    """Run the batches without the API: the daily usage rollup and the due closings."""
    from kakin.billing.scheduler import Scheduler, run_due_work  # noqa: PLC0415

    runtime = _runtime()
    _freeze_startup_objects()
    if once:
        typer.echo(f"ran {run_due_work(runtime)} closing(s)")
        runtime.close()
        return
    scheduler = Scheduler(runtime, runtime.settings.scheduler_interval_seconds or 300.0)
    typer.echo("kakin worker running; Ctrl-C to stop")
    with contextlib.suppress(KeyboardInterrupt):
        scheduler.run()
    runtime.close()


if __name__ == "__main__":
    app()
