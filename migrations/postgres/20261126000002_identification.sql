-- What the signature matcher says beyond service, product and version.
ALTER TABLE ports ADD COLUMN vendor TEXT;
ALTER TABLE ports ADD COLUMN info TEXT;
-- CPE 2.3 formatted string.
ALTER TABLE ports ADD COLUMN cpe TEXT;
-- Id of the signature that matched; NULL for a guess from the port number.
ALTER TABLE ports ADD COLUMN signature TEXT;
