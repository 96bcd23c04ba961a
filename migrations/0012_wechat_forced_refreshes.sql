-- WeChat allows each app 20 forced access-token refreshes a day, at least 30 s apart, and a
-- forced refresh invalidates the token every node holds: the allowance is the app's, so every
-- node takes from this one row (a conditional upsert).
CREATE TABLE wechat_forced_refreshes (
    app_id TEXT PRIMARY KEY,
    -- The city's calendar day the count is for (YYYY-MM-DD).
    day TEXT NOT NULL,
    used BIGINT NOT NULL,
    last_at BIGINT NOT NULL
);
