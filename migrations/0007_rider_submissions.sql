-- What the per-rider submission limit counts: one row per new report, "me too" or follow, kept
-- for the limit's hour (a background task forgets older rows). The limit reads and adds to these
-- rows in the transaction that files the report, holding the rider (see `store::reports::
-- hold_submitter`), so parallel submissions by one rider are counted one after another.
CREATE TABLE rider_submissions (
    id TEXT PRIMARY KEY,
    rider_id TEXT NOT NULL REFERENCES accounts (id),
    at BIGINT NOT NULL
);
CREATE INDEX rider_submissions_rider_at ON rider_submissions (rider_id, at);
CREATE INDEX rider_submissions_at ON rider_submissions (at);

-- The limit used to count timeline entries: carry over the last hour of them (before the newest
-- entry), so that an upgrade does not hand every rider a fresh hour.
INSERT INTO rider_submissions (id, rider_id, at)
SELECT id, actor_id, at FROM report_events
WHERE kind IN ('submitted', 'me_too') AND actor_id IS NOT NULL
  AND actor_id IN (SELECT id FROM accounts)
  AND at > (SELECT MAX(at) FROM report_events) - 3600000;
