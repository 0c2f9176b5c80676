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
        # each Kafka version keeps its data in .local/kafka-<version>/ (deploy/local/infra.sh)
        metas = [p.read_text() for p in (REPO / ".local").glob("kafka-*/data/meta.properties")]
        assert any(f"cluster.id={cluster['cluster_id']}" in meta for meta in metas)


async def test_postgres_is_version_15(infra):
    conn = await asyncpg.connect(infra.database_url)
    try:
        assert (await conn.fetchval("SHOW server_version")).startswith("15.")
    finally:
        await conn.close()
