-- Failed staff logins, for throttling password guessing. Kept in the database so that every
-- API node sees the same count.
CREATE TABLE login_failures (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_username_at ON login_failures (username, at);
