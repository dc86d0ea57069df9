-- PostgreSQL only (its index-only scans need run_uuid in the index; SQLite's index on (key, value) already
-- leads to the row by rowid). Kept so that both trees hold the same migrations.
SELECT 1;
