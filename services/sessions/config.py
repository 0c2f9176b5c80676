from shared.runtime import ServiceSettings


class SessionsSettings(ServiceSettings):
    http_port: int = 8003
