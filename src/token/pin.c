/*
 * pin.c — PINs: initializing a token, logging in, changing and unblocking
 * the user PIN, and turning PIN failures into messages a person can act
 * on ("PIN 错误 / wrong PIN").
 *
 * Why there is a login record.  PKCS#11 login state belongs to the token
 * within the process, not to a session: while an oc_signer holds a
 * logged-in session, every C_Login on that token answers
 * CKR_USER_ALREADY_LOGGED_IN, whatever PIN it is given (SoftHSM2 does
 * exactly that).  Taking that answer as success would let a wrong PIN
 * through.  So each successful login leaves an HMAC-SHA256 of the PIN,
 * under a random key made once per process, keyed by module, slot and
 * token serial; "already logged in" is accepted only when the PIN given
 * now has the same HMAC.  The PIN itself is never kept.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "onecert/token.h"
#include "token/internal.h"

#define NREC 32

struct login_rec {
	bool used;
	CK_SLOT_ID slot;
	char module[512];
	char serial[17];
	unsigned char mac[32];
};

static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char rec_key[32];
static bool rec_keyed;
static struct login_rec recs[NREC];
static size_t rec_next;

bool
oc__pin_len_ok(const char *pin)
{
	size_t n;

	if (pin == NULL)
		return false;
	n = strlen(pin);
	return n >= OC__PIN_MIN && n <= OC__PIN_MAX;
}

int
oc__pin_err(struct oc_err *err, CK_RV rv, const char *who, int code,
    const char *msg)
{
	switch (rv) {
	case CKR_PIN_INCORRECT:
		return oc_err_ckr(err, rv, OC_EPIN, "%s 错误 / wrong %s", who,
		    who);
	case CKR_PIN_LOCKED:
		return oc_err_ckr(err, rv, OC_EPIN, "%s 已锁定 / %s locked", who,
		    who);
	case CKR_PIN_LEN_RANGE:
		return oc_err_ckr(err, rv, OC_EPIN,
		    "%s 长度不符 / %s length out of range", who, who);
	case CKR_PIN_INVALID:
		return oc_err_ckr(err, rv, OC_EPIN,
		    "%s 含有令牌不接受的字符 / %s has characters the token refuses",
		    who, who);
	case CKR_PIN_EXPIRED:
		return oc_err_ckr(err, rv, OC_EPIN, "%s 已过期 / %s expired", who,
		    who);
	default:
		return oc_err_ckr(err, rv, code, "%s", msg);
	}
}

/* HMAC of the PIN for (module, slot, serial); 0 or -1. */
static int
pin_mac(const struct oc_p11 *p11, const struct oc_token_info *ti,
    const char *pin, unsigned char mac[32])
{
	unsigned char msg[512 + 17 + sizeof(CK_SLOT_ID) + OC__PIN_MAX + 4];
	size_t n = 0, l, outlen = 0;
	CK_SLOT_ID slot = ti->slot;
	int rc = -1;

	l = strlen(p11->module) + 1;
	memcpy(msg + n, p11->module, l);
	n += l;
	l = strlen(ti->serial) + 1;
	memcpy(msg + n, ti->serial, l);
	n += l;
	memcpy(msg + n, &slot, sizeof(slot));
	n += sizeof(slot);
	l = strlen(pin);
	if (l > OC__PIN_MAX)
		goto out;
	memcpy(msg + n, pin, l);
	n += l;
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, rec_key,
	    sizeof(rec_key), msg, n, mac, 32, &outlen) == NULL || outlen != 32)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(msg, sizeof(msg));
	return rc;
}

static struct login_rec *
rec_find(const struct oc_p11 *p11, const struct oc_token_info *ti)
{
	for (size_t i = 0; i < NREC; i++)
		if (recs[i].used && recs[i].slot == ti->slot &&
		    strcmp(recs[i].serial, ti->serial) == 0 &&
		    strcmp(recs[i].module, p11->module) == 0)
			return &recs[i];
	return NULL;
}

/* Remember (pin != NULL) or forget (pin == NULL) who logged in. */
static void
rec_set(const struct oc_p11 *p11, const struct oc_token_info *ti,
    const char *pin)
{
	struct login_rec *r;
	unsigned char mac[32];

	pthread_mutex_lock(&rec_lock);
	if (!rec_keyed) {
		if (RAND_bytes(rec_key, sizeof(rec_key)) != 1)
			goto out;
		rec_keyed = true;
	}
	r = rec_find(p11, ti);
	if (pin == NULL) {
		if (r != NULL)
			OPENSSL_cleanse(r, sizeof(*r));
		goto out;
	}
	if (pin_mac(p11, ti, pin, mac) != 0) {
		if (r != NULL)
			OPENSSL_cleanse(r, sizeof(*r));
		goto out;
	}
	if (r == NULL) {
		r = &recs[rec_next];
		rec_next = (rec_next + 1) % NREC;
	}
	r->used = true;
	r->slot = ti->slot;
	snprintf(r->module, sizeof(r->module), "%s", p11->module);
	snprintf(r->serial, sizeof(r->serial), "%s", ti->serial);
	memcpy(r->mac, mac, sizeof(mac));
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	pthread_mutex_unlock(&rec_lock);
}

/* Did pin log in to this token before?  */
static bool
rec_match(const struct oc_p11 *p11, const struct oc_token_info *ti,
    const char *pin)
{
	struct login_rec *r;
	unsigned char mac[32];
	bool ok = false;

	pthread_mutex_lock(&rec_lock);
	if (!rec_keyed || (r = rec_find(p11, ti)) == NULL)
		goto out;
	if (pin_mac(p11, ti, pin, mac) != 0)
		goto out;
	ok = CRYPTO_memcmp(mac, r->mac, sizeof(mac)) == 0;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	pthread_mutex_unlock(&rec_lock);
	return ok;
}

int
oc__p11_login(struct oc_p11 *p11, const struct oc_token_info *ti,
    CK_SESSION_HANDLE h, const char *pin, struct oc_err *err)
{
	CK_TOKEN_INFO ci;
	CK_RV rv;
	int rc;

	if (!oc__pin_len_ok(pin))
		return oc_err_set(err, OC_EPIN,
		    "PIN 长度不符 / PIN length out of range (%d..%d)",
		    OC__PIN_MIN, OC__PIN_MAX);
	rv = p11->f->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)pin,
	    (CK_ULONG)strlen(pin));
	if (rv == CKR_OK) {
		rec_set(p11, ti, pin);
		return 0;
	}
	if (rv == CKR_USER_ALREADY_LOGGED_IN) {
		if (rec_match(p11, ti, pin))
			return 0;
		rc = oc_err_ckr(err, CKR_PIN_INCORRECT, OC_EPIN,
		    "PIN 错误 / wrong PIN");
		oc_err_detail(err, "; token already logged in with another PIN");
		return rc;
	}
	if (rv == CKR_USER_ANOTHER_ALREADY_LOGGED_IN)
		return oc_err_ckr(err, rv, OC_ECONFLICT,
		    "the token is in use by its security officer; try again");
	if (rv == CKR_USER_PIN_NOT_INITIALIZED)
		return oc_err_ckr(err, rv, OC_EPIN,
		    "PIN 未设置 / the user PIN is not initialized");
	rc = oc__pin_err(err, rv, "PIN", OC_ETOKEN, "cannot log in to the token");
	if (rv == CKR_PIN_INCORRECT &&
	    p11->f->C_GetTokenInfo(ti->slot, &ci) == CKR_OK) {
		if (ci.flags & CKF_USER_PIN_LOCKED)
			rc = oc_err_ckr(err, CKR_PIN_LOCKED, OC_EPIN,
			    "PIN 已锁定 / PIN locked");
		else if (ci.flags & CKF_USER_PIN_FINAL_TRY)
			rc = oc_err_ckr(err, rv, OC_EPIN,
			    "PIN 错误，仅剩最后一次机会 / wrong PIN, one try left");
	}
	return rc;
}

int
oc_token_init(struct oc_p11 *p11, const char *label, const char *so_pin,
    const char *user_pin, struct oc_token_info *out, struct oc_err *err)
{
	struct oc_token_info *list = NULL;
	size_t n = 0, i;
	CK_UTF8CHAR lab[32];
	CK_SLOT_ID slot = 0;
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
	bool found = false, so = false;
	CK_RV rv;
	int rc = OC_ETOKEN;

	if (label == NULL || *label == '\0' || strlen(label) > sizeof(lab))
		return oc_err_set(err, OC_EINVAL,
		    "a token label is 1 to 32 bytes long");
	if (!oc__pin_len_ok(so_pin))
		return oc_err_set(err, OC_EINVAL,
		    "SO PIN 长度不符 / SO PIN must be %d to %d characters",
		    OC__PIN_MIN, OC__PIN_MAX);
	if (!oc__pin_len_ok(user_pin))
		return oc_err_set(err, OC_EINVAL,
		    "PIN 长度不符 / PIN must be %d to %d characters",
		    OC__PIN_MIN, OC__PIN_MAX);
	if ((rc = oc_token_list(p11, &list, &n, err)) != 0)
		goto out;
	for (i = 0; i < n && !found; i++)
		if (!list[i].initialized) {
			slot = list[i].slot;
			found = true;
		}
	if (!found) {
		rc = oc_err_set(err, OC_ENOTFOUND,
		    "no uninitialized token is present");
		goto out;
	}
	memset(lab, ' ', sizeof(lab));
	memcpy(lab, label, strlen(label));
	rv = p11->f->C_InitToken(slot, (CK_UTF8CHAR_PTR)so_pin,
	    (CK_ULONG)strlen(so_pin), lab);
	if (rv != CKR_OK) {
		rc = oc__pin_err(err, rv, "SO PIN", OC_ETOKEN,
		    "cannot initialize the token");
		goto out;
	}
	rv = p11->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &h);
	if (rv != CKR_OK) {
		rc = oc_err_ckr(err, rv, OC_ETOKEN,
		    "cannot open a session on the new token");
		goto out;
	}
	rv = p11->f->C_Login(h, CKU_SO, (CK_UTF8CHAR_PTR)so_pin,
	    (CK_ULONG)strlen(so_pin));
	if (rv != CKR_OK) {
		rc = oc__pin_err(err, rv, "SO PIN", OC_ETOKEN,
		    "cannot log in to the new token as SO");
		goto out;
	}
	so = true;
	rv = p11->f->C_InitPIN(h, (CK_UTF8CHAR_PTR)user_pin,
	    (CK_ULONG)strlen(user_pin));
	if (rv != CKR_OK) {
		rc = oc__pin_err(err, rv, "PIN", OC_ETOKEN,
		    "cannot set the user PIN");
		goto out;
	}
	free(list);
	list = NULL;
	if ((rc = oc_token_list(p11, &list, &n, err)) != 0)
		goto out;
	rc = oc_err_set(err, OC_ETOKEN, "the new token disappeared");
	for (i = 0; i < n; i++)
		if (list[i].slot == slot && list[i].initialized) {
			if (out != NULL)
				*out = list[i];
			rc = 0;
			break;
		}
out:
	if (so)
		p11->f->C_Logout(h);
	if (h != CK_INVALID_HANDLE)
		p11->f->C_CloseSession(h);
	free(list);
	return rc;
}

int
oc_token_change_pin(struct oc_p11 *p11, const char *token, const char *old_pin,
    const char *new_pin, struct oc_err *err)
{
	struct oc__sess s;
	CK_RV rv;
	int rc;

	if (!oc__pin_len_ok(old_pin))
		return oc_err_set(err, OC_EPIN,
		    "PIN 长度不符 / PIN length out of range (%d..%d)",
		    OC__PIN_MIN, OC__PIN_MAX);
	if (!oc__pin_len_ok(new_pin))
		return oc_err_set(err, OC_EINVAL,
		    "新 PIN 长度不符 / the new PIN must be %d to %d characters",
		    OC__PIN_MIN, OC__PIN_MAX);
	if ((rc = oc__p11_open(p11, token, true, NULL, &s, err)) != 0)
		return rc;
	rv = p11->f->C_SetPIN(s.h, (CK_UTF8CHAR_PTR)old_pin,
	    (CK_ULONG)strlen(old_pin), (CK_UTF8CHAR_PTR)new_pin,
	    (CK_ULONG)strlen(new_pin));
	if (rv == CKR_USER_NOT_LOGGED_IN) {
		/* Tokens that want a logged-in session for C_SetPIN. */
		if ((rc = oc__p11_login(p11, &s.info, s.h, old_pin, err)) != 0)
			goto out;
		rv = p11->f->C_SetPIN(s.h, (CK_UTF8CHAR_PTR)old_pin,
		    (CK_ULONG)strlen(old_pin), (CK_UTF8CHAR_PTR)new_pin,
		    (CK_ULONG)strlen(new_pin));
	}
	if (rv != CKR_OK) {
		rc = oc__pin_err(err, rv, "PIN", OC_ETOKEN,
		    "cannot change the PIN");
		goto out;
	}
	/* A signer still logged in now answers to the new PIN. */
	rec_set(p11, &s.info, new_pin);
	rc = 0;
out:
	oc__p11_close(p11, &s);
	return rc;
}

int
oc_token_unblock(struct oc_p11 *p11, const char *token, const char *so_pin,
    const char *new_user_pin, struct oc_err *err)
{
	struct oc__sess s;
	bool so = false;
	CK_RV rv;
	int rc;

	if (!oc__pin_len_ok(so_pin))
		return oc_err_set(err, OC_EPIN,
		    "SO PIN 长度不符 / SO PIN length out of range (%d..%d)",
		    OC__PIN_MIN, OC__PIN_MAX);
	if (!oc__pin_len_ok(new_user_pin))
		return oc_err_set(err, OC_EINVAL,
		    "新 PIN 长度不符 / the new PIN must be %d to %d characters",
		    OC__PIN_MIN, OC__PIN_MAX);
	if ((rc = oc__p11_open(p11, token, true, NULL, &s, err)) != 0)
		return rc;
	rv = p11->f->C_Login(s.h, CKU_SO, (CK_UTF8CHAR_PTR)so_pin,
	    (CK_ULONG)strlen(so_pin));
	if (rv == CKR_USER_ANOTHER_ALREADY_LOGGED_IN ||
	    rv == CKR_SESSION_READ_ONLY_EXISTS) {
		/* A signer (or a listing) holds a session on the token. */
		rc = oc_err_ckr(err, rv, OC_ECONFLICT,
		    "the token is in use (a user session is open); close it "
		    "first");
		goto out;
	}
	if (rv != CKR_OK) {
		rc = oc__pin_err(err, rv, "SO PIN", OC_ETOKEN,
		    "cannot log in as the security officer");
		goto out;
	}
	so = true;
	rv = p11->f->C_InitPIN(s.h, (CK_UTF8CHAR_PTR)new_user_pin,
	    (CK_ULONG)strlen(new_user_pin));
	if (rv != CKR_OK) {
		rc = oc__pin_err(err, rv, "PIN", OC_ETOKEN,
		    "cannot set the new user PIN");
		goto out;
	}
	rec_set(p11, &s.info, NULL);
	rc = 0;
out:
	if (so)
		p11->f->C_Logout(s.h);
	oc__p11_close(p11, &s);
	return rc;
}
