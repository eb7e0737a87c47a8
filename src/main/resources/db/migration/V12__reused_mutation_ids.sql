-- A mutation id sent again with different content is refused as mutation_id_reused. The digest of
-- the last such refused content is kept, so a device that sends that refused push again hears the
-- refusal again without it being counted again.
ALTER TABLE sync_mutations ADD COLUMN reused_digest text;
