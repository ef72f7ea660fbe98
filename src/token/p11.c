/*
 * p11.c — loading a PKCS#11 module through p11-kit, listing and finding
 * tokens, and the session and attribute helpers the rest of src/token
 * uses.
 *
 * Modules are loaded managed (p11_kit_module_load with flags 0): p11-kit
 * then lets several users in one process initialize and finalize the same
 * module independently, and closes this user's sessions on finalize.
 *
 * Tokens are named by serial first, then by label; a label that several
 * tokens share names none of them (the caller is told to use the serial).
 * NULL names the only initialized token, when there is exactly one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>

#include "onecert/token.h"
#include "token/internal.h"

struct oc_p11 *
oc_p11_load(const char *module, struct oc_err *err)
{
	struct oc_p11 *p11 = NULL;
	const char *msg;
	CK_RV rv;

	if (module == NULL || *module == '\0')
		module = getenv("ONECERT_PKCS11_MODULE");
	if (module == NULL || *module == '\0')
		module = OC_P11_DEFAULT_MODULE;
	if (strlen(module) >= sizeof(p11->module)) {
		oc_err_set(err, OC_EINVAL, "PKCS#11 module path too long");
		return NULL;
	}
	if ((p11 = calloc(1, sizeof(*p11))) == NULL) {
		oc_err_set(err, OC_ENOMEM, "out of memory");
		return NULL;
	}
	snprintf(p11->module, sizeof(p11->module), "%s", module);
	p11->f = p11_kit_module_load(module, 0);
	if (p11->f == NULL) {
		msg = p11_kit_message();
		oc_err_set(err, OC_ECONFIG, "cannot load PKCS#11 module %s", module);
		if (msg != NULL)
			oc_err_detail(err, "%s", msg);
		free(p11);
		return NULL;
	}
	rv = p11_kit_module_initialize(p11->f);
	if (rv != CKR_OK) {
		oc_err_ckr(err, rv, OC_ETOKEN,
		    "cannot initialize PKCS#11 module %s", module);
		p11_kit_module_release(p11->f);
		free(p11);
		return NULL;
	}
	return p11;
}

void
oc_p11_unload(struct oc_p11 *p11)
{
	if (p11 == NULL)
		return;
	p11_kit_module_finalize(p11->f);
	p11_kit_module_release(p11->f);
	free(p11);
}

/* Copy a blank-padded PKCS#11 string field, trimmed, NUL-terminated. */
static void
trim_copy(char *dst, size_t cap, const unsigned char *src, size_t len)
{
	if (len > cap - 1)
		len = cap - 1;
	memcpy(dst, src, len);
	while (len > 0 && (dst[len - 1] == ' ' || dst[len - 1] == '\0'))
		len--;
	dst[len] = '\0';
}

static void
fill_info(struct oc_token_info *ti, CK_SLOT_ID slot, const CK_TOKEN_INFO *ci)
{
	memset(ti, 0, sizeof(*ti));
	ti->slot = slot;
	trim_copy(ti->label, sizeof(ti->label), ci->label, sizeof(ci->label));
	trim_copy(ti->serial, sizeof(ti->serial), ci->serialNumber,
	    sizeof(ci->serialNumber));
	trim_copy(ti->manufacturer, sizeof(ti->manufacturer),
	    ci->manufacturerID, sizeof(ci->manufacturerID));
	trim_copy(ti->model, sizeof(ti->model), ci->model, sizeof(ci->model));
	ti->initialized = (ci->flags & CKF_TOKEN_INITIALIZED) != 0;
	ti->user_pin_initialized = (ci->flags & CKF_USER_PIN_INITIALIZED) != 0;
	ti->user_pin_locked = (ci->flags & CKF_USER_PIN_LOCKED) != 0;
	ti->user_pin_low = (ci->flags &
	    (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY)) != 0;
	ti->so_pin_locked = (ci->flags & CKF_SO_PIN_LOCKED) != 0;
}

int
oc_token_list(struct oc_p11 *p11, struct oc_token_info **out, size_t *n,
    struct oc_err *err)
{
	CK_SLOT_ID *slots = NULL;
	CK_ULONG ns = 0;
	CK_TOKEN_INFO ci;
	struct oc_token_info *list = NULL;
	size_t k = 0;
	CK_RV rv;
	int rc = OC_ETOKEN;

	*out = NULL;
	*n = 0;
	/* The slot count may grow between the two calls: retry. */
	for (int tries = 0; tries < 4; tries++) {
		rv = p11->f->C_GetSlotList(CK_TRUE, NULL, &ns);
		if (rv != CKR_OK) {
			rc = oc_err_ckr(err, rv, OC_ETOKEN, "cannot list slots");
			goto out;
		}
		free(slots);
		if ((slots = calloc(ns ? ns : 1, sizeof(*slots))) == NULL) {
			rc = oc_err_set(err, OC_ENOMEM, "out of memory");
			goto out;
		}
		rv = p11->f->C_GetSlotList(CK_TRUE, slots, &ns);
		if (rv == CKR_OK)
			break;
		if (rv != CKR_BUFFER_TOO_SMALL) {
			rc = oc_err_ckr(err, rv, OC_ETOKEN, "cannot list slots");
			goto out;
		}
	}
	if (rv != CKR_OK) {
		rc = oc_err_ckr(err, rv, OC_ETOKEN, "cannot list slots");
		goto out;
	}
	if ((list = calloc(ns ? ns : 1, sizeof(*list))) == NULL) {
		rc = oc_err_set(err, OC_ENOMEM, "out of memory");
		goto out;
	}
	for (CK_ULONG i = 0; i < ns; i++) {
		rv = p11->f->C_GetTokenInfo(slots[i], &ci);
		if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_TOKEN_NOT_RECOGNIZED)
			continue;   /* pulled out between the two calls */
		if (rv != CKR_OK) {
			rc = oc_err_ckr(err, rv, OC_ETOKEN,
			    "cannot read token information of slot %lu",
			    (unsigned long)slots[i]);
			goto out;
		}
		fill_info(&list[k++], slots[i], &ci);
	}
	*out = list;
	*n = k;
	list = NULL;
	rc = 0;
out:
	free(list);
	free(slots);
	return rc;
}

int
oc_token_find(struct oc_p11 *p11, const char *serial_or_label,
    struct oc_token_info *out, struct oc_err *err)
{
	struct oc_token_info *list = NULL;
	size_t n = 0, hits = 0, inited = 0;
	const struct oc_token_info *hit = NULL;
	int rc;

	if ((rc = oc_token_list(p11, &list, &n, err)) != 0)
		return rc;
	rc = OC_ENOTFOUND;
	if (serial_or_label == NULL || *serial_or_label == '\0') {
		for (size_t i = 0; i < n; i++)
			if (list[i].initialized) {
				hit = &list[i];
				inited++;
			}
		if (inited == 0) {
			rc = oc_err_set(err, OC_ENOTFOUND,
			    "no initialized token is present");
			goto out;
		}
		if (inited > 1) {
			rc = oc_err_set(err, OC_EINVAL,
			    "%zu tokens are present; name one by serial or label",
			    inited);
			goto out;
		}
		*out = *hit;
		rc = 0;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (list[i].initialized &&
		    strcmp(list[i].serial, serial_or_label) == 0) {
			*out = list[i];
			rc = 0;
			goto out;
		}
	for (size_t i = 0; i < n; i++)
		if (list[i].initialized &&
		    strcmp(list[i].label, serial_or_label) == 0) {
			hit = &list[i];
			hits++;
		}
	if (hits == 1) {
		*out = *hit;
		rc = 0;
	} else if (hits > 1) {
		rc = oc_err_set(err, OC_EINVAL,
		    "%zu tokens are labelled \"%s\"; name one by serial", hits,
		    serial_or_label);
	} else {
		rc = oc_err_set(err, OC_ENOTFOUND,
		    "no token with serial or label \"%s\"", serial_or_label);
	}
out:
	free(list);
	return rc;
}

int
oc__p11_open(struct oc_p11 *p11, const char *token, bool rw, const char *pin,
    struct oc__sess *s, struct oc_err *err)
{
	CK_FLAGS fl = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);
	CK_RV rv;
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = oc_token_find(p11, token, &s->info, err)) != 0)
		return rc;
	rv = p11->f->C_OpenSession(s->info.slot, fl, NULL, NULL, &s->h);
	if (rv != CKR_OK)
		return oc_err_ckr(err, rv, OC_ETOKEN,
		    "cannot open a session on token %s", s->info.serial);
	s->open = true;
	if (pin != NULL &&
	    (rc = oc__p11_login(p11, &s->info, s->h, pin, err)) != 0) {
		oc__p11_close(p11, s);
		return rc;
	}
	return 0;
}

void
oc__p11_close(struct oc_p11 *p11, struct oc__sess *s)
{
	if (s == NULL || !s->open)
		return;
	p11->f->C_CloseSession(s->h);
	s->open = false;
}

CK_RV
oc__p11_attr(struct oc_p11 *p11, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_TYPE type, unsigned char **val, size_t *len)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	CK_RV rv;

	*val = NULL;
	*len = 0;
	rv = p11->f->C_GetAttributeValue(h, o, &a, 1);
	if (rv != CKR_OK)
		return rv;
	if (a.ulValueLen == (CK_ULONG)-1)
		return CKR_ATTRIBUTE_TYPE_INVALID;
	if (a.ulValueLen == 0)
		return CKR_OK;
	if (a.ulValueLen > 1024 * 1024)
		return CKR_DEVICE_MEMORY;   /* no attribute of ours is this big */
	if ((a.pValue = malloc(a.ulValueLen)) == NULL)
		return CKR_HOST_MEMORY;
	rv = p11->f->C_GetAttributeValue(h, o, &a, 1);
	if (rv != CKR_OK) {
		free(a.pValue);
		return rv;
	}
	*val = a.pValue;
	*len = a.ulValueLen;
	return CKR_OK;
}

bool
oc__p11_attr_bool(struct oc_p11 *p11, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_TYPE type, bool def)
{
	CK_BBOOL v = CK_FALSE;
	CK_ATTRIBUTE a = { type, &v, sizeof(v) };

	if (p11->f->C_GetAttributeValue(h, o, &a, 1) != CKR_OK ||
	    a.ulValueLen != sizeof(v))
		return def;
	return v != CK_FALSE;
}

CK_ULONG
oc__p11_attr_ulong(struct oc_p11 *p11, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_TYPE type, CK_ULONG def)
{
	CK_ULONG v = 0;
	CK_ATTRIBUTE a = { type, &v, sizeof(v) };

	if (p11->f->C_GetAttributeValue(h, o, &a, 1) != CKR_OK ||
	    a.ulValueLen != sizeof(v))
		return def;
	return v;
}

int
oc__p11_find(struct oc_p11 *p11, CK_SESSION_HANDLE h, CK_ATTRIBUTE *tmpl,
    CK_ULONG ntmpl, CK_OBJECT_HANDLE **out, size_t *n, struct oc_err *err)
{
	CK_OBJECT_HANDLE *v = NULL, *nv;
	CK_ULONG got;
	size_t k = 0, cap = 0;
	bool active = false;
	CK_RV rv;
	int rc = OC_ETOKEN;

	*out = NULL;
	*n = 0;
	rv = p11->f->C_FindObjectsInit(h, tmpl, ntmpl);
	if (rv != CKR_OK) {
		rc = oc_err_ckr(err, rv, OC_ETOKEN, "cannot search the token");
		goto out;
	}
	active = true;
	for (;;) {
		if (k == cap) {
			if (cap >= OC__P11_MAX_OBJECTS) {
				rc = oc_err_set(err, OC_ETOOBIG,
				    "more than %d objects on the token",
				    OC__P11_MAX_OBJECTS);
				goto out;
			}
			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				rc = oc_err_set(err, OC_ENOMEM, "out of memory");
				goto out;
			}
			v = nv;
		}
		got = 0;
		rv = p11->f->C_FindObjects(h, v + k, cap - k, &got);
		if (rv != CKR_OK) {
			rc = oc_err_ckr(err, rv, OC_ETOKEN,
			    "cannot search the token");
			goto out;
		}
		if (got == 0)
			break;
		k += got;
	}
	*out = v;
	*n = k;
	v = NULL;
	rc = 0;
out:
	if (active)
		p11->f->C_FindObjectsFinal(h);
	free(v);
	return rc;
}

void
oc__hex(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int
nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
oc__unhex(const char *hex, unsigned char *out, size_t *len)
{
	size_t n = strlen(hex);
	int hi, lo;

	if (n == 0 || n % 2 != 0 || n / 2 > *len)
		return OC_EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		hi = nibble(hex[2 * i]);
		lo = nibble(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return OC_EINVAL;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}
