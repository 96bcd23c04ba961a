-- Governance points (积分) and the points supermarket (积分超市).
--
-- The ledger (`point_entries`) is append-only: nothing in it is updated or deleted; a correction
-- is a new opposite entry. Everything beside it (balances, a rider's day, the ranking totals and
-- their score histogram) changes in the same transaction as the entry it follows from.

-- A city's point rules as JSON (`domain::points::PointRules`); no row: the defaults.
CREATE TABLE point_rules (
    city_id TEXT PRIMARY KEY REFERENCES cities (id),
    rules_json TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A rider's balance. Its row is also what holds the rider while points are posted, so that
-- parallel postings for one rider are decided one after another.
CREATE TABLE point_accounts (
    rider_id TEXT PRIMARY KEY REFERENCES accounts (id),
    city_id TEXT NOT NULL,
    balance BIGINT NOT NULL CHECK (balance >= 0),
    updated_at BIGINT NOT NULL
);

CREATE TABLE point_entries (
    id TEXT PRIMARY KEY,
    city_id TEXT NOT NULL,
    rider_id TEXT NOT NULL REFERENCES accounts (id),
    amount BIGINT NOT NULL,
    -- What the rule would have paid; `amount` is less when a daily limit cut it.
    rule_amount BIGINT NOT NULL,
    rule TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    -- The unit whose area the points were earned in (rankings per unit); none for spending.
    office_id TEXT,
    actor_id TEXT,
    actor_role TEXT NOT NULL,
    -- Why, for people: a code (`domain::points::Reason`) that the API words in Chinese or English.
    reason TEXT NOT NULL,
    -- A person's own words: a manual award's reason, a reversal's cause.
    note TEXT,
    -- The entry a reversal takes back; '' for every other entry.
    reverses TEXT NOT NULL,
    -- The city's local day (YYYY-MM-DD) the entry belongs to; reversals keep their original's.
    local_day TEXT NOT NULL,
    at BIGINT NOT NULL
);
-- Each rule pays at most once per rider and object: a retry, a race or a second node cannot pay
-- twice. A reversal is written at most once per entry it takes back, a refund once per redemption.
CREATE UNIQUE INDEX point_entries_once ON point_entries (rider_id, rule, object_kind, object_id, reverses);
CREATE INDEX point_entries_rider ON point_entries (rider_id, id);
CREATE INDEX point_entries_city_at ON point_entries (city_id, at);
CREATE INDEX point_entries_object ON point_entries (object_kind, object_id);

-- What a rider earned in one local day, for the daily caps.
CREATE TABLE point_days (
    rider_id TEXT NOT NULL REFERENCES accounts (id),
    local_day TEXT NOT NULL,
    earned BIGINT NOT NULL,
    checkins BIGINT NOT NULL,
    awarded BIGINT NOT NULL,
    PRIMARY KEY (rider_id, local_day)
);

-- Points kept per period (`m2026-11`, `y2026`) and scope (`city` or a unit's id): the rankings.
CREATE TABLE point_totals (
    city_id TEXT NOT NULL,
    period TEXT NOT NULL,
    scope TEXT NOT NULL,
    rider_id TEXT NOT NULL REFERENCES accounts (id),
    points BIGINT NOT NULL,
    PRIMARY KEY (period, scope, rider_id)
);
CREATE INDEX point_totals_rank ON point_totals (period, scope, points, rider_id);

-- How many riders hold each score in a period and scope: a rider's rank is one more than the
-- riders above them, summed over at most as many rows as there are distinct scores.
CREATE TABLE point_score_counts (
    city_id TEXT NOT NULL,
    period TEXT NOT NULL,
    scope TEXT NOT NULL,
    points BIGINT NOT NULL,
    riders BIGINT NOT NULL,
    PRIMARY KEY (period, scope, points)
);

-- Riders who chose to appear in rankings by a masked name (王**).
ALTER TABLE accounts ADD COLUMN ranking_name_shown INTEGER NOT NULL DEFAULT 0;

-- A reward on a station's shelf or the city's, picked up at one place.
CREATE TABLE rewards (
    id TEXT PRIMARY KEY,
    city_id TEXT NOT NULL REFERENCES cities (id),
    -- 'station' (offered by the pickup place's manager) or 'city'.
    offered_by TEXT NOT NULL,
    place_id TEXT NOT NULL REFERENCES places (id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    photo_media_id TEXT REFERENCES media (id),
    cost BIGINT NOT NULL CHECK (cost > 0),
    stock BIGINT NOT NULL CHECK (stock >= 0),
    valid_from BIGINT NOT NULL,
    valid_until BIGINT NOT NULL,
    -- How long a redemption waits for pickup before it expires and is refunded.
    pickup_secs BIGINT NOT NULL,
    withdrawn INTEGER NOT NULL,
    created_by TEXT NOT NULL REFERENCES accounts (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX rewards_city ON rewards (city_id, valid_until);
CREATE INDEX rewards_place ON rewards (place_id);

CREATE TABLE redemptions (
    id TEXT PRIMARY KEY,
    city_id TEXT NOT NULL,
    reward_id TEXT NOT NULL REFERENCES rewards (id),
    rider_id TEXT NOT NULL REFERENCES accounts (id),
    place_id TEXT NOT NULL REFERENCES places (id),
    cost BIGINT NOT NULL,
    -- The one-time pickup code, read aloud or scanned.
    code TEXT NOT NULL,
    -- 'pending', 'picked_up', 'cancelled' or 'expired'.
    status TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    picked_up_at BIGINT,
    confirmed_by TEXT REFERENCES accounts (id),
    ended_at BIGINT
);
CREATE UNIQUE INDEX redemptions_code ON redemptions (code);
CREATE INDEX redemptions_rider ON redemptions (rider_id, id);
CREATE INDEX redemptions_pending ON redemptions (status, expires_at);
CREATE INDEX redemptions_place ON redemptions (place_id, status, id);
