"""Unsubscribe links that work without signing in (RFC 8058 one-click): a JWT (HS256, pyjwt) naming the
participant, signed with TANDEM_UNSUBSCRIBE_KEY. It does not expire: a link in last year's e-mail must still stop
the mail. Its audience is fixed, so no other Tandem token (signed with other keys anyway) is ever accepted here."""

from __future__ import annotations

from urllib.parse import urlencode

import jwt

AUDIENCE = "tandem-unsubscribe"


class UnsubscribeLinks:
    def __init__(self, key: str, public_url: str):
        self.key = key
        self.public_url = public_url.rstrip("/")

    def token(self, participant_id: str) -> str:
        return jwt.encode({"sub": participant_id, "aud": AUDIENCE}, self.key, algorithm="HS256")

    def url(self, participant_id: str) -> str:
        return f"{self.public_url}/unsubscribe?{urlencode({'token': self.token(participant_id)})}"

    def participant(self, token: str) -> str | None:
        """The participant a genuine token names; None for anything else (forged, altered, another key)."""
        try:
            claims = jwt.decode(token, self.key, algorithms=["HS256"], audience=AUDIENCE, options={"require": ["sub"]})
        except jwt.PyJWTError:
            return None
        subject = claims.get("sub")
        return subject if isinstance(subject, str) and subject else None
