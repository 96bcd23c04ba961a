-- Content security (WeChat's content check): what riders write and photograph is public only once
-- WeChat passed it. One row per piece of content checked: a report's description and its rating
-- comment (keyed by the report's id), each photo attached to a report (keyed by the media id).
-- No row: never checked (checks were off when it was filed), so never public.
CREATE TABLE content_checks (
    kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    city_id TEXT NOT NULL,
    -- The report the content belongs to (a photo: the report it was first attached to).
    report_id TEXT NOT NULL REFERENCES reports (id),
    -- pending → pass, risky or review (`domain::content::Verdict`).
    verdict TEXT NOT NULL,
    -- WeChat's label (100 normal, 20001 politics…), kept for the unit.
    label TEXT,
    -- WeChat's id of the check: msgSecCheck's answer, or mediaCheckAsync's, which the push names.
    trace_id TEXT,
    created_at BIGINT NOT NULL,
    -- When the request went to WeChat (a photo's: when it was accepted for checking).
    requested_at BIGINT,
    decided_at BIGINT,
    PRIMARY KEY (kind, object_id)
);
CREATE INDEX content_checks_trace ON content_checks (trace_id);
CREATE INDEX content_checks_report ON content_checks (report_id);

-- Every photo verdict WeChat pushed, by trace id, as it came: a push may arrive before the
-- service has recorded which photo its trace id belongs to; the verdict waits here until then.
CREATE TABLE content_push_verdicts (
    trace_id TEXT PRIMARY KEY,
    verdict TEXT NOT NULL,
    label TEXT,
    received_at BIGINT NOT NULL
);
CREATE INDEX content_push_verdicts_received ON content_push_verdicts (received_at);
