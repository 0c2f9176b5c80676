"""`tandem`: platform commands over the declared services (topics, migrations, replay, audits, docs).

`build_cli(specs)` makes the command line from the specs it is handed (services/registry.py hands it all of them),
so a new service needs no edit here and `shared/` imports no service."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Annotated

import typer
from typer.models import CommandInfo

from shared import eventstore
from shared.connections import idempotent_producer
from shared.db import create_pool, migrate, migration_files
from shared.lifecycle import configure_logging, run_until_signalled
from shared.relay import Relay
from shared.runtime import ServiceRuntime
from shared.service import ServiceSpec
from shared.settings import DatabaseSettings, KafkaSettings
from shared.topics import SERVICES_THAT_PUBLISH, create_topics, events_topic

app = typer.Typer(help="Tandem platform commands.", no_args_is_help=True)
topics_app = typer.Typer(help="Kafka topics of the shared event log.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
parked_app = typer.Typer(
    help="Events the relay parked because Kafka refused them (too large, not encodable): list, re-drive, skip.",
    no_args_is_help=True,
)
app.add_typer(parked_app, name="parked")
schemas_app = typer.Typer(help="Published JSON Schemas of the events (schemas/events/).", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")
keys_app = typer.Typer(help="Per-person keys of sealed fields (crypto-shredding, docs/adr/0012).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
log = logging.getLogger("tandem")
SPECS: dict[str, ServiceSpec] = {}  # filled by build_cli


def build_cli(specs: Sequence[ServiceSpec]) -> typer.Typer:
    SPECS.clear()
    SPECS.update({spec.name: spec for spec in specs})
    for spec in specs:
        if spec.commands is not None:  # top-level, as `tandem report`: auditors need not know which service
            known = {_command_name(c) for c in app.registered_commands}
            app.registered_commands += [c for c in spec.commands.registered_commands if _command_name(c) not in known]
    return app


def _command_name(command: CommandInfo) -> str:
    """Typer names an unnamed command after its function, with dashes."""
    return command.name or (command.callback.__name__ if command.callback else "").replace("_", "-")


def _spec(name: str) -> ServiceSpec:
    if name not in SPECS:
        raise typer.BadParameter(f"unknown service {name!r}; one of {', '.join(SPECS)}")
    return SPECS[name]


def _runtime(name: str) -> ServiceRuntime:
    spec = _spec(name)
    return ServiceRuntime(spec, spec.settings())


@app.command("services")
def services_command() -> None:
    """One line per declared service: its name and default HTTP port (the platform script reads this)."""
    for spec in SPECS.values():
        typer.echo(f"{spec.name} {spec.default_port}")


@app.command("docs")
def docs_command() -> None:
    """The table of topics, event types and the read models that consume them, generated from the declared services."""
    from shared.docs import subscribers_table

    typer.echo(subscribers_table(list(SPECS.values())))


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
    employee_id: str | None = typer.Option(
        None, help="The person's employee id, as a provider's token names it (the services derive the participant id)."
    ),
) -> None:
    """Print a bearer token signed with the configured key (local development and demos)."""
    from shared.auth import ROLES, issue_token

    if role not in ROLES:
        raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}")
    typer.echo(issue_token(sub, [role], ttl, employee_id=employee_id))


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


@keys_app.command("rotate")
def keys_rotate(batch_size: Annotated[int, typer.Option(min=1, max=10_000)] = 500) -> None:
    """Rewrap every live data key under the current master key (the first of TANDEM_MASTER_KEYS).

    Put the new master key first, keep the old one listed, run this, then remove the old one. Data keys and what
    they seal do not change: only their wrapping does, in short transactions."""
    from shared.keys import MasterKeys, PostgresKeyStore

    store = PostgresKeyStore(MasterKeys.from_settings())

    async def main() -> tuple[int, dict[str, int]]:
        pool = await create_pool(DatabaseSettings().database_url, "public", max_size=2)
        try:
            return await store.rotate(pool, batch_size), await store.counts(pool)
        finally:
            await pool.close()

    rotated, counts = asyncio.run(main())
    typer.echo(f"rewrapped {rotated} data keys under master key {store.master.current_id!r}; now {_key_counts(counts)}")


@keys_app.command("status")
def keys_status() -> None:
    """How many data keys each master key wraps, and how many erasures destroyed."""
    from shared.keys import MasterKeys, PostgresKeyStore

    async def main() -> dict[str, int]:
        pool = await create_pool(DatabaseSettings().database_url, "public", max_size=2)
        try:
            return await PostgresKeyStore(MasterKeys.from_settings()).counts(pool)
        finally:
            await pool.close()

    typer.echo(_key_counts(asyncio.run(main())))


def _key_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}: {n}" for k, n in sorted(counts.items())) or "no keys"


@app.command("migrate")
def migrate_command(
    service: Annotated[str, typer.Option(help="enrolment | matching | sessions | insights")],
) -> None:
    """Bring a service's PostgreSQL schema up to date (the Helm pre-install/pre-upgrade Job runs this)."""

    async def main() -> list[str]:
        async with _runtime(service).opened() as runtime:
            return await runtime.migrate_schema()

    applied = asyncio.run(main())
    typer.echo(f"{service}: {len(applied)} migrations applied" + (f" ({', '.join(applied)})" if applied else ""))


@app.command("replay")
def replay_command(
    service: Annotated[str, typer.Option(help="Service whose read models to rebuild.")],
    swap: Annotated[bool, typer.Option(help="Put the rebuilt read models in place of the live ones.")] = False,
    processes: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Processes sharing a read model's partitions, where the read model allows it (one core each).",
        ),
    ] = 1,
) -> None:
    """Rebuild a service's read models from offset 0 into a fresh schema and compare them with the live ones."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from shared import replay as replaying

    async def main() -> bool:
        identical = True
        async with _runtime(service).opened() as runtime:
            for projection in runtime.spec.projections:
                columns = (
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]:,.0f} events/s"),
                    TimeElapsedColumn(),
                    TimeRemainingColumn(),
                )
                with Progress(*columns) as progress:
                    task = progress.add_task(f"replaying {projection.name}", total=None, rate=0.0)
                    started = time.perf_counter()

                    def start(total: int, task=task, progress=progress) -> None:
                        progress.update(task, total=total)

                    def advance(n: int, task=task, progress=progress, started=started) -> None:
                        progress.advance(task, n)
                        done = progress.tasks[0].completed
                        progress.update(task, rate=done / max(1e-6, time.perf_counter() - started))

                    result = await replaying.replay(
                        projection,
                        runtime.connections,
                        live_schema=runtime.schema,
                        on_batch=advance,
                        on_start=start,
                        processes=processes,
                    )
                rate = result.events / max(1e-6, result.seconds)
                typer.echo(
                    f"{projection.name}: {result.events:,} events in {result.seconds:.1f}s ({rate:,.0f} events/s)"
                    f" into {result.schema}"
                )
                for t in result.tables:
                    verdict = "identical" if t.identical else "DIFFERENT"
                    typer.echo(f"  {t.table}: live {t.live_rows:,} rows, replayed {t.replayed_rows:,} rows: {verdict}")
                identical &= result.identical
                if swap:
                    await replaying.swap(runtime.pool, projection, runtime.schema, result.schema)
                    typer.echo(f"  swapped: {projection.name} now serves the replayed read model")
        return identical

    if not asyncio.run(main()) and not swap:
        raise typer.Exit(1)


@app.command("asyncapi")
def asyncapi_command(service: Annotated[str, typer.Option(help="enrolment | matching | sessions | insights")]) -> None:
    """The service's AsyncAPI 3 document (what it publishes and consumes), as it serves it at <prefix>/asyncapi.json."""
    import json

    from shared.asyncapi import document

    typer.echo(json.dumps(document(_spec(service)), indent=2, sort_keys=True))


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
        producer = idempotent_producer(kafka.client_options(), max_request_size=kafka.kafka_max_request_size)
        await producer.start()
        try:
            await Relay(
                eventstore.PostgresEventStore(pool, schema, max_event_bytes=kafka.kafka_max_request_size),
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


# ------------------------------------------------------------------------------------------------ parked events

ServiceOption = Annotated[str, typer.Option("--service", help="The publishing service whose relay parked them.")]
ActorOption = Annotated[str, typer.Option("--by", help="Who acts: an operator id or ticket reference, not a name.")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why, for the audit record (no personal data).")]


def _parked_store(runtime: ServiceRuntime):
    from shared.parked import ParkedEvents

    return ParkedEvents(runtime.pool, runtime.schema, runtime.topic)


@parked_app.command("list")
def parked_list(
    service: ServiceOption,
    all_: Annotated[bool, typer.Option("--all", help="Also the resolved ones, and the audit trail.")] = False,
) -> None:
    """The parked events of a service, in position order, as JSON (one object per line)."""
    import json

    async def main() -> None:
        async with _runtime(service).opened() as runtime:
            await runtime.migrate_schema()
            parked = _parked_store(runtime)
            for event in await parked.listing(include_resolved=all_):
                typer.echo(json.dumps(event.as_dict()))
            if all_:
                for row in await parked.audit_trail():
                    typer.echo(json.dumps({"audit": row}, default=str))

    asyncio.run(main())


@parked_app.command("redrive")
def parked_redrive(
    service: ServiceOption,
    by: ActorOption,
    reason: ReasonOption,
    event: Annotated[str | None, typer.Option("--event", help="Re-drive this event's stream only.")] = None,
) -> None:
    """Publish parked events again, each stream in position order; a stream stops at an event refused again."""
    _resolve_parked(
        service,
        lambda parked, producer, source: parked.redrive(producer, source, actor=by, reason=reason, event_id=event),
    )


@parked_app.command("skip")
def parked_skip(
    service: ServiceOption,
    event: Annotated[str, typer.Option("--event", help="The parked event to give up.")],
    by: ActorOption,
    reason: ReasonOption,
) -> None:
    """Give up one parked event (its consumers will never see it), then publish the events held behind it."""
    _resolve_parked(
        service, lambda parked, producer, source: parked.skip(producer, source, event_id=event, actor=by, reason=reason)
    )


def _resolve_parked(service: str, action) -> None:
    async def main() -> list:
        async with _runtime(service).opened() as runtime:
            await runtime.migrate_schema()
            producer = await runtime.connections.producer()
            return await action(_parked_store(runtime), producer, f"/tandem/{service}")

    try:
        outcomes = asyncio.run(main())
    except LookupError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    for outcome in outcomes:
        typer.echo(f"{outcome.action}: position {outcome.position}, event {outcome.event_id}")
    if not outcomes:
        typer.echo("nothing parked")
    if any(o.action == "redrive failed" for o in outcomes):
        raise typer.Exit(1)
