"""Configuration from the environment (12-factor). Defaults work with `make infra-up`.

Tandem's own settings use the `TANDEM_` prefix; the two connection strings also answer to their conventional
names (`KAFKA_BOOTSTRAP_SERVERS`, `DATABASE_URL`) so tests and platform tooling can point every service at
the same servers.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
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
    kafka_max_request_size: int = Field(
        1024 * 1024,
        ge=64 * 1024,
        description="The producer's max_request_size; the event stores refuse an event whose record would not fit "
        "(keep it at or below the brokers' and topics' message.max.bytes).",
    )
    # Security for an enterprise's existing Kafka (issue #6): TLS and/or SASL, all from the environment.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = Field(None, description="CA bundle that signed the brokers' certificates.")
    kafka_ssl_certfile: str | None = Field(None, description="Client certificate, for mutual TLS.")
    kafka_ssl_keyfile: str | None = None

    @model_validator(mode="after")
    def sasl_needs_credentials(self) -> KafkaSettings:
        if self.kafka_security_protocol.startswith("SASL_"):
            missing = [
                f"TANDEM_KAFKA_{name.upper()}"
                for name in ("sasl_mechanism", "sasl_username", "sasl_password")
                if getattr(self, f"kafka_{name}") is None
            ]
            if missing:
                raise ValueError(f"{self.kafka_security_protocol} needs {', '.join(missing)}")
        return self

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for every aiokafka client (producer, consumer, admin) the platform creates."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.kafka_bootstrap_servers,
            "security_protocol": self.kafka_security_protocol,
        }
        if self.kafka_security_protocol in ("SSL", "SASL_SSL"):
            from aiokafka.helpers import create_ssl_context

            options["ssl_context"] = create_ssl_context(
                cafile=self.kafka_ssl_cafile, certfile=self.kafka_ssl_certfile, keyfile=self.kafka_ssl_keyfile
            )
        if self.kafka_security_protocol.startswith("SASL_"):
            assert self.kafka_sasl_password is not None  # checked by sasl_needs_credentials
            options |= {
                "sasl_mechanism": self.kafka_sasl_mechanism,
                "sasl_plain_username": self.kafka_sasl_username,
                "sasl_plain_password": self.kafka_sasl_password.get_secret_value(),
            }
        return options


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TANDEM_", extra="ignore")

    database_url: str = Field(
        "postgresql://tandem@127.0.0.1:5432/tandem",
        validation_alias=AliasChoices("TANDEM_DATABASE_URL", "DATABASE_URL"),
    )
