-- A mutation id sent again with different content is refused as mutation_id_reused. The digest of
-- that refused content is kept, so a device that sends the refused push again hears the refusal
-- again without it being counted again: a retried request never counts twice.
ALTER TABLE sync_mutations ADD COLUMN reused_digest text;
