-- A key's 24 hours are counted on the database's clock, the one that expiry and the purge compare
-- with (now()). created_at is the instance's clock: it stays as the answer's timestamp, replayed as
-- it was. An instance whose clock was a day behind made every key it wrote expire at once.
-- Keys written before this count from now (kept up to a day longer, never forgotten early); the
-- default also covers instances still on the previous version during a rolling update.
ALTER TABLE idempotency_keys ADD COLUMN claimed_at timestamptz NOT NULL DEFAULT now();
-- Expiry and the purge select on claimed_at; nothing selects on created_at any more.
DROP INDEX idempotency_keys_created_at;
CREATE INDEX idempotency_keys_claimed_at ON idempotency_keys (claimed_at);
