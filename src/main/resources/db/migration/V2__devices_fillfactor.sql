-- Every batch rewrites its devices' counter rows. Room left in each page lets PostgreSQL update
-- them in place (HOT) when no indexed column changes, instead of adding index entries each time.
ALTER TABLE devices SET (fillfactor = 70);
