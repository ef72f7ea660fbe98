-- 002: RA operators (who may call the RA API, by certificate serial) and
-- the relying applications (应用) each certificate is opened for.
CREATE TABLE operators (
  serial TEXT PRIMARY KEY,
  name TEXT NOT NULL DEFAULT '',
  granted_by TEXT NOT NULL,
  granted_at INTEGER NOT NULL,
  revoked_by TEXT NOT NULL DEFAULT '',
  revoked_at INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE applications (
  serial TEXT NOT NULL,
  app TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
  opened_by TEXT NOT NULL,
  opened_at INTEGER NOT NULL,
  closed_by TEXT NOT NULL DEFAULT '',
  closed_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (serial, app)
);
