from shared.runtime import ServiceSettings


class InsightsSettings(ServiceSettings):
    http_port: int = 8004
