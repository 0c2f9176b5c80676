import ssl

import pytest
from pydantic import ValidationError

from shared.settings import KafkaSettings


def test_plaintext_by_default():
    assert KafkaSettings().client_options() == {"bootstrap_servers": "127.0.0.1:9092", "security_protocol": "PLAINTEXT"}


def test_sasl_scram_over_tls_from_the_environment(monkeypatch):
    for name, value in {
        "SECURITY_PROTOCOL": "SASL_SSL",
        "SASL_MECHANISM": "SCRAM-SHA-512",
        "SASL_USERNAME": "tandem",
        "SASL_PASSWORD": "s3cret",
    }.items():
        monkeypatch.setenv(f"TANDEM_KAFKA_{name}", value)
    options = KafkaSettings().client_options()
    assert options["sasl_mechanism"] == "SCRAM-SHA-512" and options["sasl_plain_password"] == "s3cret"
    assert isinstance(options["ssl_context"], ssl.SSLContext)


def test_sasl_without_credentials_is_refused_naming_what_is_missing():
    with pytest.raises(ValidationError, match="TANDEM_KAFKA_SASL_PASSWORD"):
        KafkaSettings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_mechanism="PLAIN", kafka_sasl_username="u")


def test_the_password_never_shows_in_the_settings_repr():
    settings = KafkaSettings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="PLAIN",
        kafka_sasl_username="u",
        kafka_sasl_password="hunter2",
    )
    assert "hunter2" not in repr(settings)
