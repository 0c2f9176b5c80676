from shared.service import ServiceSettings


class MatchingSettings(ServiceSettings):
    http_port: int = 8002
