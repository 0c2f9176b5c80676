from pathlib import Path

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

REPO = Path(__file__).resolve().parents[2]


async def test_the_broker_is_the_real_apache_kafka_we_started(infra):
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap_servers)
    await admin.start()
    try:
        cluster = await admin.describe_cluster()
    finally:
        await admin.close()
    assert cluster["cluster_id"]
    if infra.origin == "deploy/local":
        meta = (REPO / ".local/kafka/data/meta.properties").read_text()
        assert f"cluster.id={cluster['cluster_id']}" in meta


async def test_postgres_is_version_15(infra):
    conn = await asyncpg.connect(infra.database_url)
    try:
        assert (await conn.fetchval("SHOW server_version")).startswith("15.")
    finally:
        await conn.close()
