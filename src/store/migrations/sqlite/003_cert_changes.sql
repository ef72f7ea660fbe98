-- 003: a change number per certificate, so that the OCSP cache can read
-- only the certificates issued or revoked since its last refresh
-- (oc_store_cert_changes) instead of every certificate of the CA.
--
-- The number is the next value of the counter 'cert_change', taken in the
-- statement that inserts the certificate or changes its status, i.e. in
-- the same transaction: a change commits with its number or not at all.
-- Writers hold the database's write lock from BEGIN IMMEDIATE to COMMIT,
-- so numbers are handed out in commit order and a reader that sees change
-- N also sees every change below N.  (Issue times would not do: a
-- transaction stamped earlier can commit later, and clocks step.)
--
-- An insert (sqlite.c) sets chg to the counter + 1 and moves the counter
-- on, in its transaction (not a trigger: that would cost ~14 µs more per
-- insert, as SQLite sets up the trigger's program for every row).  A
-- status change is numbered by a trigger, so that any writer, the sqlite3
-- shell included, numbers it; revocations are rare.  A row inserted by
-- hand without chg keeps 0 and is read at the next full listing (start).
ALTER TABLE certificates ADD COLUMN chg INTEGER NOT NULL DEFAULT 0;
UPDATE certificates SET chg = rowid;
INSERT INTO counters (name, value)
  SELECT 'cert_change', COALESCE(MAX(chg), 0) FROM certificates WHERE true
  ON CONFLICT(name) DO UPDATE SET value = MAX(value, excluded.value);
CREATE INDEX certificates_chg ON certificates(ca, chg);

CREATE TRIGGER certificates_chg_status
AFTER UPDATE OF status, revoked_at, reason ON certificates
WHEN OLD.status IS NOT NEW.status OR OLD.revoked_at IS NOT NEW.revoked_at
  OR OLD.reason IS NOT NEW.reason
BEGIN
  UPDATE counters SET value = value + 1 WHERE name = 'cert_change';
  UPDATE certificates SET chg = (SELECT value FROM counters
    WHERE name = 'cert_change') WHERE rowid = NEW.rowid;
END;
