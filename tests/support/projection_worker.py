"""Runs the counting projection as a real process, so tests can SIGKILL it mid-stream.

python -m tests.support.projection_worker --schema S --topic T [--max-records N] [--delay-ms D]
"""

from __future__ import annotations

import argparse
import asyncio

from shared.connections import Connections
from shared.db import migrate, migration_files
from shared.lifecycle import configure_logging, run_until_signalled
from shared.projection import TRACKING_MIGRATIONS, ProjectionRunner
from shared.settings import DatabaseSettings, KafkaSettings
from tests.support.counting import CountingProjection


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schema", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--max-records", type=int, default=500)
    parser.add_argument("--delay-ms", type=float, default=0.0, help="per event, to make a batch take time")
    args = parser.parse_args()
    configure_logging()
    kafka, db = KafkaSettings(), DatabaseSettings()

    async def run(stop: asyncio.Event) -> None:
        projection = CountingProjection([args.topic], delay_per_event_s=args.delay_ms / 1000)
        async with Connections(db.database_url, kafka, args.schema) as connections:
            await migrate(connections.pool, args.schema, migration_files(TRACKING_MIGRATIONS, projection.migrations))
            await ProjectionRunner(projection, connections, max_records=args.max_records).run(stop)

    run_until_signalled(run)


if __name__ == "__main__":
    main()
