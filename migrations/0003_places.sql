-- Places: stations, parking zones and friendly sites; their managers; riders' check-ins.
-- Locations are GCJ-02 with their geohash (precision 9) for bounding-box queries.
-- Every write bumps `place_version.v` inside its transaction and stamps the row's `version`
-- with it, so every node's in-memory index can pick changes up with `version > $known`.

CREATE TABLE places (
    id TEXT PRIMARY KEY,
    city_id TEXT NOT NULL REFERENCES cities (id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    lng DOUBLE PRECISION NOT NULL,
    geohash TEXT NOT NULL,
    host_org TEXT,
    contact_phone TEXT,
    photos_json TEXT NOT NULL,
    -- Bit i set = amenity i of the fixed vocabulary (domain::places::Amenity, append-only order).
    amenity_bits BIGINT NOT NULL,
    -- Opening hours in the grammar of domain::hours (`mon-fri 08:00-20:00; 2026-10-01 closed`).
    hours TEXT NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT,
    status_until BIGINT,
    capacity INTEGER,
    max_stay_minutes INTEGER,
    entry_instructions TEXT,
    last_confirmed_at BIGINT,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX places_version ON places (version);
CREATE INDEX places_city_lat_lng ON places (city_id, lat, lng);
CREATE INDEX places_city_geohash ON places (city_id, geohash);

-- The change counter: one row, bumped by every write to places.
CREATE TABLE place_version (
    id INTEGER PRIMARY KEY,
    v BIGINT NOT NULL
);
INSERT INTO place_version (id, v) VALUES (1, 0);

CREATE TABLE place_managers (
    place_id TEXT NOT NULL REFERENCES places (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    city_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (place_id, account_id)
);
CREATE INDEX place_managers_account ON place_managers (account_id);

CREATE TABLE place_checkins (
    id TEXT PRIMARY KEY,
    city_id TEXT NOT NULL,
    place_id TEXT NOT NULL REFERENCES places (id),
    rider_id TEXT NOT NULL REFERENCES accounts (id),
    outcome TEXT NOT NULL,
    success INTEGER NOT NULL,
    amenity TEXT,
    note TEXT,
    -- created_at / 3600000: the backstop for "once per rider, place and hour" under races.
    hour_bucket BIGINT NOT NULL,
    idempotency_key TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX place_checkins_once_an_hour ON place_checkins (place_id, rider_id, hour_bucket);
CREATE UNIQUE INDEX place_checkins_idempotency ON place_checkins (rider_id, idempotency_key);
CREATE INDEX place_checkins_place ON place_checkins (place_id, created_at);
