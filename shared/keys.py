"""Per-person keys for crypto-shredding (issue #19 item 1, docs/adr/0012).

Each subject (a participant in a program) has a random 256-bit data key; the fields of events that describe the
person are sealed under it (shared/sealing.py) before they are hashed into the log, so the log, Kafka, backups and
replays hold only ciphertext. Erasure destroys the key, and those fields become unreadable everywhere at once while
every hash still verifies.

Data keys are kept wrapped, in PostgreSQL (`keys.subject_keys`, one table every service of the database reads,
created by the event store's migrations: shared/sql/eventstore/004),
by a *master key* that is never stored there: `MasterKeys` reads them from configuration (`TANDEM_MASTER_KEYS`),
and is the interface a KMS adapter would implement (wrap and unwrap one data key). Rotation: a new master key is
put first in the list, `tandem keys rotate` rewraps every live data key under it, then the old one can be removed.
"""

from __future__ import annotations

import base64
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeAlias

import asyncpg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Public, for developers' machines and tests only: refused at start-up unless TANDEM_DEVELOPMENT is set.
DEV_MASTER_KEYS = "dev-1:" + base64.urlsafe_b64encode(b"tandem-dev-master-key-not-secret").decode()
NONCE_BYTES = 12
Db: TypeAlias = asyncpg.Connection | asyncpg.Pool | None  # None: the in-memory store needs none


class KeySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TANDEM_", extra="ignore")

    master_keys: str = Field(
        DEV_MASTER_KEYS,
        description="Comma-separated id:base64url(32 random bytes). The first wraps new data keys; the others only "
        "unwrap (keep an old key listed until `tandem keys rotate` has rewrapped every data key).",
    )


def master_keys(settings: KeySettings | None = None) -> dict[str, tuple[str, str]]:
    """The start-up check's entries (shared.auth.refuse_unsafe_secrets): each listed master key, which must not be
    the public development one outside development."""
    entries = _entries((settings or KeySettings()).master_keys)
    return {f"TANDEM_MASTER_KEYS[{i}]": (entry, DEV_MASTER_KEYS) for i, entry in enumerate(entries)}


def _entries(spec: str) -> list[str]:
    return [part.strip() for part in spec.split(",") if part.strip()]


def subject_of(program_id: str, participant_id: str) -> str:
    """The key's subject: one person in one program (an erasure is per program)."""
    return f"{program_id}/{participant_id}"


def pair_subject(program_id: str, pair_id: str) -> str:
    """The key's subject for the words about a pair rather than one person (a dissolution's reason, the topics its
    sessions covered): either member's erasure destroys it (`pair:` keeps it apart from any participant id)."""
    return f"{program_id}/pair:{pair_id}"


class UnknownMasterKey(LookupError):
    """A data key was wrapped by a master key no longer configured: put it back in TANDEM_MASTER_KEYS."""


class MasterKeys:
    """The master keys from configuration; the first is current. A KMS adapter would offer the same two calls."""

    def __init__(self, spec: str):
        self.keys: dict[str, AESGCM] = {}
        for item in _entries(spec):
            key_id, _, encoded = item.partition(":")
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            if not key_id or len(raw) != 32:
                raise ValueError("TANDEM_MASTER_KEYS: each entry is id:base64url(32 bytes)")
            self.keys[key_id] = AESGCM(raw)
        if not self.keys:
            raise ValueError("TANDEM_MASTER_KEYS names no key")
        self.current_id = next(iter(self.keys))

    @classmethod
    def from_settings(cls, settings: KeySettings | None = None) -> MasterKeys:
        return cls((settings or KeySettings()).master_keys)

    def wrap(self, data_key: bytes, subject: str) -> tuple[str, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        return self.current_id, nonce + self.keys[self.current_id].encrypt(nonce, data_key, subject.encode())

    def unwrap(self, master_key_id: str, wrapped: bytes, subject: str) -> bytes:
        try:
            master = self.keys[master_key_id]
        except KeyError:
            raise UnknownMasterKey(f"master key {master_key_id!r} is not configured") from None
        return master.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], subject.encode())


@dataclass
class KeyRing:
    """The data keys of some subjects as one batch found them: bytes, or None when destroyed (erased)."""

    keys: dict[str, bytes | None] = field(default_factory=dict)

    def get(self, subject: str) -> bytes | None:
        return self.keys.get(subject)


class KeyStore(ABC):
    @abstractmethod
    async def keys(self, db: Db, subjects: Iterable[str], *, create: bool) -> KeyRing:
        """The subjects' data keys; with `create`, a subject without one gets one (a destroyed one stays None)."""

    @abstractmethod
    async def destroy(self, db: Db, subjects: Iterable[str]) -> int:
        """Destroy the subjects' keys (a subject never keyed is recorded destroyed too); return how many were live."""


class PostgresKeyStore(KeyStore):
    """`keys.subject_keys`, on the caller's connection (so a key is created, or destroyed, in the transaction of
    the append or the erasure that needs it) or on a pool."""

    def __init__(self, master: MasterKeys):
        self.master = master

    async def keys(self, db: Db, subjects: Iterable[str], *, create: bool) -> KeyRing:
        wanted = sorted(set(subjects))
        if not wanted:
            return KeyRing()
        assert db is not None, "PostgreSQL keys need a connection or a pool"
        if create:
            wrapped = [self.master.wrap(os.urandom(32), s) for s in wanted]
            # DO UPDATE (of nothing) rather than DO NOTHING: RETURNING then gives the row that won, ours or a
            # concurrent transaction's, in this one statement.
            rows = await db.fetch(
                """INSERT INTO keys.subject_keys (subject, wrapped, master_key_id)
                   SELECT * FROM unnest($1::text[], $2::bytea[], $3::text[])
                   ON CONFLICT (subject) DO UPDATE SET subject = EXCLUDED.subject
                   RETURNING subject, wrapped, master_key_id""",
                wanted,
                [w for _, w in wrapped],
                [i for i, _ in wrapped],
            )
        else:
            rows = await db.fetch(
                "SELECT subject, wrapped, master_key_id FROM keys.subject_keys WHERE subject = ANY($1::text[])", wanted
            )
        ring = KeyRing()
        for row in rows:
            live = row["wrapped"] is not None
            ring.keys[row["subject"]] = (
                self.master.unwrap(row["master_key_id"], row["wrapped"], row["subject"]) if live else None
            )
        return ring

    async def destroy(self, db: Db, subjects: Iterable[str]) -> int:
        assert db is not None, "PostgreSQL keys need a connection or a pool"
        return await db.fetchval(
            """WITH gone AS (
                   INSERT INTO keys.subject_keys (subject, wrapped, master_key_id, destroyed_at)
                   SELECT s, NULL, NULL, now() FROM unnest($1::text[]) AS s
                   ON CONFLICT (subject) DO UPDATE SET wrapped = NULL, master_key_id = NULL,
                       destroyed_at = coalesce(keys.subject_keys.destroyed_at, now())
                   RETURNING (xmax <> 0 AND destroyed_at = now()) AS was_live)
               SELECT count(*) FILTER (WHERE was_live) FROM gone""",
            sorted(set(subjects)),
        )

    async def rotate(self, pool: asyncpg.Pool, batch_size: int = 500) -> int:
        """Rewrap every live data key not under the current master key; return how many. Short transactions of
        `batch_size` keys each (a long one would hold back the relays, docs/adr/0010)."""
        rotated = 0
        while True:
            async with pool.acquire() as conn, conn.transaction():
                rows = await conn.fetch(
                    """SELECT subject, wrapped, master_key_id FROM keys.subject_keys
                       WHERE wrapped IS NOT NULL AND master_key_id <> $1 ORDER BY subject LIMIT $2
                       FOR UPDATE SKIP LOCKED""",
                    self.master.current_id,
                    batch_size,
                )
                if not rows:
                    return rotated
                rewrapped = [
                    self.master.wrap(self.master.unwrap(r["master_key_id"], r["wrapped"], r["subject"]), r["subject"])
                    for r in rows
                ]
                await conn.execute(
                    """UPDATE keys.subject_keys k SET wrapped = v.wrapped, master_key_id = v.master_key_id
                       FROM unnest($1::text[], $2::bytea[], $3::text[]) AS v(subject, wrapped, master_key_id)
                       WHERE k.subject = v.subject""",
                    [r["subject"] for r in rows],
                    [w for _, w in rewrapped],
                    [i for i, _ in rewrapped],
                )
                rotated += len(rows)

    async def counts(self, pool: asyncpg.Pool) -> dict[str, int]:
        """Live keys by master key id, and destroyed ones (`tandem keys status`)."""
        rows = await pool.fetch(
            "SELECT coalesce(master_key_id, 'destroyed') AS k, count(*) AS n FROM keys.subject_keys GROUP BY 1"
        )
        return {r["k"]: r["n"] for r in rows}


class InMemoryKeyStore(KeyStore):
    """For server-free tests: the same rules, keys in a dict."""

    def __init__(self) -> None:
        self.stored: dict[str, bytes | None] = {}

    async def keys(self, db: Db, subjects: Iterable[str], *, create: bool) -> KeyRing:
        ring = KeyRing()
        for subject in set(subjects):
            if create and subject not in self.stored:
                self.stored[subject] = os.urandom(32)
            if subject in self.stored:
                ring.keys[subject] = self.stored[subject]
        return ring

    async def destroy(self, db: Db, subjects: Iterable[str]) -> int:
        live = 0
        for subject in set(subjects):
            live += self.stored.get(subject) is not None
            self.stored[subject] = None
        return live
