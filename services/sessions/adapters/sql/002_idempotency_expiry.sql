-- Idempotency keys expire (TANDEM_IDEMPOTENCY_KEY_TTL_HOURS); each claim clears a few expired ones, found by age.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
