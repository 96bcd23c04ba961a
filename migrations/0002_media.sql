-- Photos uploaded by riders and staff, re-encoded without metadata before they are stored.
CREATE TABLE media (
    id TEXT PRIMARY KEY,
    city_id TEXT NOT NULL REFERENCES cities (id),
    owner_id TEXT NOT NULL REFERENCES accounts (id),
    content_type TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    bytes BIGINT NOT NULL,
    storage_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX media_owner ON media (owner_id, created_at);
