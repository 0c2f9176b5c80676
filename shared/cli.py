"""`tandem`: platform commands shared by all services (topics, event-store migrations, relay)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated

import typer

from shared import eventstore
from shared.db import create_pool, migrate, migration_files
from shared.lifecycle import configure_logging, run_until_signalled
from shared.relay import Relay, idempotent_producer
from shared.settings import DatabaseSettings, KafkaSettings
from shared.topics import SERVICES_THAT_PUBLISH, create_topics, events_topic

app = typer.Typer(help="Tandem platform commands.", no_args_is_help=True)
topics_app = typer.Typer(help="Kafka topics of the shared event log.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
schemas_app = typer.Typer(help="Published JSON Schemas of the events (schemas/events/).", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")
log = logging.getLogger("tandem")


@app.callback()
def _setup() -> None:
    configure_logging(default_format="text")  # people run these at a terminal; TANDEM_LOG_FORMAT=json for Jobs


@topics_app.command("create")
def topics_create() -> None:
    """Create the platform's topics (retention forever, delete policy); existing topics are left alone."""
    created = asyncio.run(create_topics(KafkaSettings()))
    typer.echo(f"created: {', '.join(created) or 'nothing (all topics exist)'}")


@schemas_app.command("check")
def schemas_check() -> None:
    """Fail unless every event's schema is published and FULL compatible with all its revisions."""
    from shared.schemas import check_all

    failures = {t: p for t, p in check_all().items() if p}
    for type_name, problems in failures.items():
        for problem in problems:
            typer.echo(f"{type_name}: {problem}", err=True)
    if failures:
        raise typer.Exit(1)
    typer.echo("all event schemas are published and compatible")


@schemas_app.command("publish")
def schemas_publish() -> None:
    """Write a new revision for each changed, compatible event schema."""
    from shared.schemas import publish

    written = publish()
    typer.echo("\n".join(written) if written else "nothing changed")


@app.command()
def token(
    role: str = typer.Option(..., help="program_admin | participant | auditor"),
    sub: str = typer.Option("local-admin", help="Subject; for a participant, its participant id."),
    ttl: int = typer.Option(8 * 3600, help="Seconds the token stays valid."),
) -> None:
    """Print a bearer token signed with the configured key (local development and demos)."""
    from shared.auth import ROLES, issue_token

    if role not in ROLES:
        raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}")
    typer.echo(issue_token(sub, [role], ttl))


@app.command()
def verify(
    service: Annotated[list[str] | None, typer.Option(help="Service whose log to check (repeatable).")] = None,
) -> None:
    """Check the event stores and the Kafka log for edited, dropped, reordered or inserted events."""
    service = service or list(SERVICES_THAT_PUBLISH)
    from rich.console import Console
    from rich.table import Table

    from shared.verify import verify_service

    kafka, db = KafkaSettings(), DatabaseSettings()
    findings = []
    for name in service:
        findings += asyncio.run(verify_service(db.database_url, kafka, name))
    if not findings:
        typer.echo(f"clean: no tampering found in {', '.join(service)} (event stores and Kafka)")
        return
    table = Table(title=f"{len(findings)} findings")
    for column in ("copy", "kind", "stream", "version", "where", "detail"):
        table.add_column(column)
    for f in findings:
        table.add_row(f.copy, f.kind, f.stream_id, str(f.version or ""), f.where, f.detail)
    Console(width=200).print(table)
    raise typer.Exit(1)


@app.command("migrate")
def migrate_command(
    service: Annotated[str, typer.Option(help="enrolment | matching | sessions | insights")],
) -> None:
    """Bring a service's PostgreSQL schema up to date (the Helm pre-install/pre-upgrade Job runs this)."""
    import importlib

    runtime = importlib.import_module(f"services.{service}.bootstrap").build().state.runtime
    applied = asyncio.run(runtime.migrate_schema())
    typer.echo(f"{service}: {len(applied)} migrations applied" + (f" ({', '.join(applied)})" if applied else ""))


@app.command("replay")
def replay_command(
    service: Annotated[str, typer.Option(help="Service whose read models to rebuild.")],
    swap: Annotated[bool, typer.Option(help="Put the rebuilt read models in place of the live ones.")] = False,
) -> None:
    """Rebuild a service's read models from offset 0 into a fresh schema and compare them with the live ones."""
    import importlib

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from shared import replay as replaying
    from shared.topics import dead_letter_topic

    bootstrap = importlib.import_module(f"services.{service}.bootstrap")
    settings = bootstrap.settings()
    live = settings.schema_name or service
    identical = True
    for projection in bootstrap.projections(settings):
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn()) as progress:
            task = progress.add_task(f"replaying {projection.name}", total=None)
            seen = {"records": 0, "started": time.perf_counter()}

            def advance(n: int, task=task, seen=seen, progress=progress, name=projection.name) -> None:
                seen["records"] += n
                rate = seen["records"] / max(1e-6, time.perf_counter() - seen["started"])
                progress.update(task, description=f"replaying {name}: {seen['records']:,} records, {rate:,.0f}/s")

            result = asyncio.run(
                replaying.replay(
                    projection,
                    dsn=settings.database_url,
                    live_schema=live,
                    bootstrap_servers=settings.kafka_bootstrap_servers,
                    dead_letter_topic=dead_letter_topic(settings.topic_prefix),
                    on_batch=advance,
                )
            )
        typer.echo(f"{projection.name}: {result.events:,} events in {result.seconds:.1f}s into {result.schema}")
        for t in result.tables:
            verdict = "identical" if t.identical else "DIFFERENT"
            typer.echo(f"  {t.table}: live {t.live_rows:,} rows, replayed {t.replayed_rows:,} rows: {verdict}")
        identical &= result.identical
        if swap:
            asyncio.run(replaying.swap(settings.database_url, projection, live, result.schema))
            typer.echo(f"  swapped: {projection.name} now serves the replayed read model")
    if not identical and not swap:
        raise typer.Exit(1)


@app.command("asyncapi")
def asyncapi_command(
    service: Annotated[str, typer.Option(help="enrolment | matching | sessions | insights")],
    write: Annotated[bool, typer.Option(help="Write docs/asyncapi/<service>.json instead of printing.")] = False,
) -> None:
    """The service's AsyncAPI 3 document (what it publishes and consumes)."""
    import importlib
    import json

    from shared.asyncapi import DOCS, document

    app_ = importlib.import_module(f"services.{service}.bootstrap").build()
    text = json.dumps(document(service, app_.state.runtime.projections), indent=2, sort_keys=True) + "\n"
    if write:
        DOCS.mkdir(parents=True, exist_ok=True)
        (DOCS / f"{service}.json").write_text(text)
        typer.echo(f"wrote {DOCS / f'{service}.json'}")
    else:
        typer.echo(text)


@app.command("report")
def report_command(
    program: Annotated[str, typer.Option(help="Program id (prg-…).")],
    as_of: Annotated[str | None, typer.Option(help="ISO 8601 instant; default now (UTC).")] = None,
    csv: Annotated[bool, typer.Option("--csv", help="Per-pair rows as CSV instead of the JSON report.")] = False,
) -> None:
    """A program's insights report as of any instant, as the insights API gives it."""
    import importlib
    from datetime import datetime

    insights_cli = importlib.import_module("services.insights.cli")  # loaded by name: shared depends on no service
    when = datetime.fromisoformat(as_of.replace("Z", "+00:00")) if as_of else None
    typer.echo(asyncio.run(insights_cli.render(program, when, csv)))


@app.command("trail")
def trail_command(participant: Annotated[str, typer.Option(help="Pseudonymous participant id (p-…).")]) -> None:
    """Print every event concerning one participant, across services, as JSON."""
    import json

    from shared.trail import as_json, read_log, trail

    events = trail(asyncio.run(read_log(KafkaSettings())), participant)
    typer.echo(json.dumps([as_json(e) for e in events], indent=2, ensure_ascii=False))


@app.command()
def relay(
    schema: str = typer.Option(..., help="PostgreSQL schema of the event store."),
    service: str = typer.Option(..., help="Publishing service; decides the topic and ce_source."),
    batch_size: int = typer.Option(1000, min=1),
) -> None:
    """Publish a service's stored events to Kafka until SIGTERM."""
    kafka, db = KafkaSettings(), DatabaseSettings()

    async def main(stop: asyncio.Event) -> None:
        pool = await create_pool(db.database_url, schema)
        await migrate(pool, schema, migration_files(eventstore.MIGRATIONS))
        producer = idempotent_producer(kafka.client_options())
        await producer.start()
        try:
            await Relay(
                eventstore.PostgresEventStore(pool, schema),
                db.database_url,
                events_topic(service, kafka.topic_prefix),
                producer,
                source=f"/tandem/{service}",
                batch_size=batch_size,
            ).run(stop)
        finally:
            await producer.stop()
            await pool.close()
        log.info("relay stopped")

    run_until_signalled(main)


if __name__ == "__main__":
    app()
