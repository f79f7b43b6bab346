-- Failed attempts of a shared scan's chunks: a chunk whose appliance cannot start it (its
-- engine fails at once) goes back to the pool at once, up to `[cluster] chunk_attempts`
-- times, then is marked `failed` with the last error and the scan ends failed naming it.
-- (The SQLite twin rebuilds the table to change the CHECK; the result is the same schema.)

ALTER TABLE scan_chunks DROP CONSTRAINT scan_chunks_status_check;
ALTER TABLE scan_chunks ADD CONSTRAINT scan_chunks_status_check
    CHECK (status IN ('pending', 'leased', 'done', 'cancelled', 'failed'));
-- Attempts that failed (the engine could not start or stopped with an error).
ALTER TABLE scan_chunks ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
-- The last attempt's error.
ALTER TABLE scan_chunks ADD COLUMN error TEXT;
