-- The demand map: what riders' nearby searches asked for and whether they found anything open,
-- per map cell (geohash level 6, about 1.2 km x 0.6 km) and period. Nothing here names a rider
-- or a point: a row is a cell, a period, what was asked and two counts. Hourly rows roll up to
-- days after 30 days and days to months after a year (configurable).
CREATE TABLE demand_counts (
    grain TEXT NOT NULL,
    period_start BIGINT NOT NULL,
    cell TEXT NOT NULL,
    -- `all` (every search) or the place kind asked for.
    asked TEXT NOT NULL,
    -- The amenity asked for, or '' for the searches as a whole.
    amenity TEXT NOT NULL,
    searches BIGINT NOT NULL,
    unmet BIGINT NOT NULL,
    PRIMARY KEY (grain, period_start, cell, asked, amenity)
);
CREATE INDEX demand_counts_by_period ON demand_counts (asked, amenity, period_start);

-- How often each place was among a search's results, per day (months after a year): the places
-- nobody is shown or uses are candidates to move.
CREATE TABLE place_shown (
    grain TEXT NOT NULL,
    period_start BIGINT NOT NULL,
    place_id TEXT NOT NULL,
    shown BIGINT NOT NULL,
    PRIMARY KEY (grain, period_start, place_id)
);
CREATE INDEX place_shown_by_place ON place_shown (place_id, period_start);
