-- The reconciler (reconciler/) compares the outbox's acknowledged events with the ids applied here,
-- and waits for each partition's applied offset before judging an event missing. It only reads.
GRANT SELECT ON processed_events, partition_totals TO reconciler;
