-- 004: a number that moves whenever the answer of an operator check
-- (oc_store_auth_version; the RA API's oc_ca_operator_auth) could change:
-- any write to operators, a certificate's status, DER, profile or serial
-- changed, a certificate deleted.  Triggers, in the writing statement (so
-- in its transaction, by any writer, the sqlite3 shell included): a
-- handle may keep a successful check while the number stays the same.
-- None on certificate inserts (a new certificate cannot undo a success),
-- so issuing does not move it.
INSERT INTO counters (name, value) VALUES ('auth_change', 0)
  ON CONFLICT(name) DO NOTHING;

CREATE TRIGGER operators_auth_insert AFTER INSERT ON operators
BEGIN
  UPDATE counters SET value = value + 1 WHERE name = 'auth_change';
END;
CREATE TRIGGER operators_auth_update AFTER UPDATE ON operators
BEGIN
  UPDATE counters SET value = value + 1 WHERE name = 'auth_change';
END;
CREATE TRIGGER operators_auth_delete AFTER DELETE ON operators
BEGIN
  UPDATE counters SET value = value + 1 WHERE name = 'auth_change';
END;
CREATE TRIGGER certificates_auth_update
AFTER UPDATE OF serial, status, der, profile ON certificates
WHEN OLD.serial IS NOT NEW.serial OR OLD.status IS NOT NEW.status
  OR OLD.der IS NOT NEW.der OR OLD.profile IS NOT NEW.profile
BEGIN
  UPDATE counters SET value = value + 1 WHERE name = 'auth_change';
END;
CREATE TRIGGER certificates_auth_delete AFTER DELETE ON certificates
BEGIN
  UPDATE counters SET value = value + 1 WHERE name = 'auth_change';
END;
