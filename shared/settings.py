"""Configuration from the environment (12-factor). Defaults work with `make infra-up`.

Tandem's own settings use the `TANDEM_` prefix; the two connection strings also answer to their conventional
names (`KAFKA_BOOTSTRAP_SERVERS`, `DATABASE_URL`) so tests and platform tooling can point every service at
the same servers.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TANDEM_", extra="ignore")

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        validation_alias=AliasChoices("TANDEM_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
    )
    topic_prefix: str = Field("tandem", description="Prefix of every topic name; lets test runs stay apart.")
    topic_partitions: int = Field(6, ge=1)
    topic_replication_factor: int = Field(1, ge=1, description="3 in production, 1 on a single local broker.")
    topic_min_insync_replicas: int = Field(1, ge=1, description="2 in production.")


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TANDEM_", extra="ignore")

    database_url: str = Field(
        "postgresql://tandem@127.0.0.1:5432/tandem",
        validation_alias=AliasChoices("TANDEM_DATABASE_URL", "DATABASE_URL"),
    )
