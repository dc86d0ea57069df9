-- SQLite has no index-entry size limit; nothing to change (the PostgreSQL tree's migration of the same
-- name replaces its (key, value) btrees so that long values can be stored).
SELECT 1;
