-- Tap to report (随手拍): jurisdictions of units, categories, reports and their timeline,
-- followers, and idempotency keys (shared with check-ins and redemptions).
-- Units are rows of `offices`: kind 'street_office', 'department' or 'fallback' (the city's
-- fallback queue, which receives what no jurisdiction covers).

-- A unit's jurisdiction: a GCJ-02 MultiPolygon as GeoJSON text, with its bounding box.
CREATE TABLE jurisdictions (
    office_id TEXT PRIMARY KEY REFERENCES offices (id),
    city_id TEXT NOT NULL REFERENCES cities (id),
    geojson TEXT NOT NULL,
    min_lat DOUBLE PRECISION NOT NULL,
    min_lng DOUBLE PRECISION NOT NULL,
    max_lat DOUBLE PRECISION NOT NULL,
    max_lng DOUBLE PRECISION NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jurisdictions_city ON jurisdictions (city_id);

-- A city's settings for each report category; deadlines in seconds.
CREATE TABLE report_categories (
    city_id TEXT NOT NULL REFERENCES cities (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    hint TEXT NOT NULL,
    urgency TEXT NOT NULL,
    response_secs BIGINT NOT NULL,
    resolution_secs BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (city_id, code)
);

-- A category handled by a department wherever that department's jurisdiction reaches.
CREATE TABLE category_departments (
    city_id TEXT NOT NULL REFERENCES cities (id),
    category TEXT NOT NULL,
    office_id TEXT NOT NULL REFERENCES offices (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (city_id, category, office_id)
);

CREATE TABLE reports (
    id TEXT PRIMARY KEY,
    city_id TEXT NOT NULL REFERENCES cities (id),
    reporter_id TEXT NOT NULL REFERENCES accounts (id),
    category TEXT NOT NULL,
    description TEXT NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    lng DOUBLE PRECISION NOT NULL,
    anonymous INTEGER NOT NULL,
    status TEXT NOT NULL,
    office_id TEXT NOT NULL REFERENCES offices (id),
    route_reason TEXT NOT NULL,
    assignee_id TEXT REFERENCES accounts (id),
    duplicate_of TEXT REFERENCES reports (id),
    priority INTEGER NOT NULL,
    routed_at BIGINT NOT NULL,
    respond_by BIGINT NOT NULL,
    resolve_by BIGINT NOT NULL,
    -- The deadline that falls first among those still open; 9223372036854775807 when none.
    next_deadline BIGINT NOT NULL,
    responded_at BIGINT,
    resolved_at BIGINT,
    closed_at BIGINT,
    rating INTEGER,
    rating_comment TEXT,
    rated_at BIGINT,
    version INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX reports_queue ON reports (office_id, next_deadline, id);
CREATE INDEX reports_near ON reports (city_id, category, created_at);
CREATE INDEX reports_open_lat ON reports (city_id, status, lat);
CREATE INDEX reports_reporter ON reports (reporter_id, created_at);
CREATE INDEX reports_resolved ON reports (status, resolved_at);

CREATE TABLE report_media (
    report_id TEXT NOT NULL REFERENCES reports (id),
    media_id TEXT NOT NULL REFERENCES media (id),
    added_by TEXT NOT NULL REFERENCES accounts (id),
    added_at BIGINT NOT NULL,
    PRIMARY KEY (report_id, media_id)
);

-- Riders who follow a report: its reporter and every "me too".
CREATE TABLE report_followers (
    report_id TEXT NOT NULL REFERENCES reports (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (report_id, account_id)
);
CREATE INDEX report_followers_account ON report_followers (account_id, report_id);

-- The append-only timeline. `public` = 1 when riders may see the entry (its public note only).
CREATE TABLE report_events (
    id TEXT PRIMARY KEY,
    report_id TEXT NOT NULL REFERENCES reports (id),
    city_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor_id TEXT,
    actor_role TEXT NOT NULL,
    status TEXT NOT NULL,
    office_id TEXT,
    public_note TEXT,
    internal_note TEXT,
    public INTEGER NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX report_events_report ON report_events (report_id, at);
CREATE INDEX report_events_actor ON report_events (actor_id, kind, at);

-- A caller's retried POST finds the first result here: (scope, caller, key) → resource.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    caller_id TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, caller_id, idem_key)
);
