-- Office webhooks: the endpoints a unit registers, and what the outbox needs to deliver each
-- event to each of them exactly once and show how that went.

CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    city_id TEXT NOT NULL REFERENCES cities (id),
    office_id TEXT NOT NULL REFERENCES offices (id),
    url TEXT NOT NULL,
    -- The HMAC key deliveries are signed with; shown once, when made or rotated.
    secret TEXT NOT NULL,
    -- The event types it wants, comma-separated (`report.routed,report.rated`).
    events TEXT NOT NULL,
    active INTEGER NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_office ON webhook_endpoints (office_id, id);
CREATE INDEX webhook_endpoints_city ON webhook_endpoints (city_id, id);

-- One row per (event, endpoint): `webhook:<event id>:<endpoint id>`. Unique, so an event raised
-- twice (two nodes detecting one overdue report) is queued once. NULL for other messages.
ALTER TABLE outbox ADD COLUMN dedupe_key TEXT;
CREATE UNIQUE INDEX outbox_dedupe ON outbox (dedupe_key);
-- The endpoint a webhook delivery goes to, for listing an endpoint's deliveries newest first.
ALTER TABLE outbox ADD COLUMN endpoint_id TEXT;
CREATE INDEX outbox_endpoint ON outbox (endpoint_id, id);
-- The last attempt's time and the receiver's HTTP status (none when no answer came).
ALTER TABLE outbox ADD COLUMN last_attempt_at BIGINT;
ALTER TABLE outbox ADD COLUMN last_http_status INTEGER;

-- The overdue detector reads the reports whose next deadline passed since its last scan, and
-- the reports changed since then whose deadline had already passed (a reopening, a late
-- response), a page at a time.
CREATE INDEX reports_next_deadline ON reports (next_deadline, id);
CREATE INDEX reports_updated ON reports (updated_at, id);

-- How far the overdue detectors (one on every node) have scanned: every node starts from here,
-- so a restart or a node that was down misses nothing, and overlaps are dropped by the outbox's
-- unique key.
CREATE TABLE webhook_scans (
    name TEXT PRIMARY KEY,
    scanned_to BIGINT NOT NULL
);
