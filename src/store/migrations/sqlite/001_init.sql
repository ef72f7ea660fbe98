-- 001: the CA's first schema: companies, media (USB keys), enrollments,
-- certificates with their revocation state, counters, and the audit log.
CREATE TABLE companies (
  id INTEGER PRIMARY KEY,
  uscc TEXT UNIQUE,
  orgcode TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  st TEXT NOT NULL DEFAULT '',
  l TEXT NOT NULL DEFAULT '',
  legal_rep TEXT NOT NULL DEFAULT '',
  contact TEXT NOT NULL DEFAULT '',
  phone TEXT NOT NULL DEFAULT '',
  ic_reg_no TEXT NOT NULL DEFAULT '',
  tax_no TEXT NOT NULL DEFAULT '',
  insurance_no TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE media (
  serial TEXT PRIMARY KEY,
  label TEXT NOT NULL DEFAULT '',
  company_id INTEGER NOT NULL DEFAULT 0,
  escrow BLOB,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'lost', 'retired')),
  created_at INTEGER NOT NULL
);

CREATE TABLE enrollments (
  id INTEGER PRIMARY KEY,
  company_id INTEGER NOT NULL DEFAULT 0,
  kind TEXT NOT NULL CHECK (kind IN ('apply', 'renew', 'change', 'reissue')),
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'issued')),
  profile TEXT NOT NULL,
  person_name TEXT NOT NULL DEFAULT '',
  identity_code TEXT NOT NULL DEFAULT '',
  materials TEXT NOT NULL DEFAULT '{}',
  old_serial TEXT NOT NULL DEFAULT '',
  medium TEXT NOT NULL DEFAULT '',
  operator TEXT NOT NULL,
  decided_by TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '',
  serial TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  decided_at INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE certificates (
  serial TEXT PRIMARY KEY,
  uid TEXT,
  ca TEXT NOT NULL,
  profile TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('valid', 'revoked')),
  company_id INTEGER NOT NULL DEFAULT 0,
  enrollment_id INTEGER NOT NULL DEFAULT 0,
  medium TEXT NOT NULL DEFAULT '',
  subject_cn TEXT NOT NULL,
  org_code TEXT NOT NULL DEFAULT '',
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  issued_at INTEGER NOT NULL,
  revoked_at INTEGER NOT NULL DEFAULT 0,
  reason INTEGER NOT NULL DEFAULT -1,
  revoked_by TEXT NOT NULL DEFAULT '',
  replaces TEXT NOT NULL DEFAULT '',
  replaced_by TEXT NOT NULL DEFAULT '',
  der BLOB NOT NULL
);
CREATE UNIQUE INDEX certificates_uid ON certificates(uid) WHERE uid IS NOT NULL AND uid <> '';
CREATE INDEX certificates_company ON certificates(company_id);
CREATE INDEX certificates_org_code ON certificates(org_code);
CREATE INDEX certificates_medium ON certificates(medium);
CREATE INDEX certificates_revoked ON certificates(ca, status);

CREATE TABLE counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);

CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  actor TEXT NOT NULL,
  source TEXT NOT NULL,
  action TEXT NOT NULL,
  object TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT '{}',
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
