-- Messages to the outside world (WeChat subscribe messages, office webhooks), written in the
-- same transaction as the change that caused them and delivered by a background task with
-- retries, so that a restart loses none.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    city_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload_json TEXT NOT NULL,
    -- pending → sent, or → dead after a permanent refusal or too many attempts.
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    -- A node that claims a message leases it until then; another node may take it after.
    locked_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
