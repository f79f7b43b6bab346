-- What the TLS handshake of the `tls` probe showed, as JSON: protocol version, ALPN, cipher
-- suite and the server certificate's summary (subject, issuer, SANs, validity, serial,
-- SHA-256 fingerprint, key type, self-signed). NULL when the port was not probed over TLS.
ALTER TABLE ports ADD COLUMN tls_cert TEXT;
