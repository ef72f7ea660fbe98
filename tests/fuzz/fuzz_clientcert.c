/*
 * fuzz_clientcert.c — the RFC 9440 headers a trusted reverse proxy puts
 * the client's certificate in (oc__client_cert_parse, src/http/
 * clientcert.c): "Client-Cert: :<base64 DER>:" and "Client-Cert-Chain:
 * :…:, :…:" (RFC 8941 byte sequences).
 *
 * The input up to its first newline is the Client-Cert value, the rest the
 * Client-Cert-Chain value (none when there is no newline); each is cut at
 * its first NUL, as header values are.  Besides "no crash, no leak":
 *   - the answer is 0 or 400; on 400 nothing is handed back; without a
 *     Client-Cert nothing is, whatever the chain says;
 *   - what is accepted has the syntax the function promises, checked by a
 *     separate strict reader here: OWS ":" base64 ":" OWS, a chain of
 *     1..OC__CLIENT_CHAIN_MAX such items separated by OWS "," OWS, each
 *     at most OC__CLIENT_DER_MAX * 4 / 3 + 4 characters, padded base64
 *     whose bytes are exactly one certificate — the same one the function
 *     returned (X509_cmp);
 *   - every accepted certificate, re-encoded as a proxy would send it
 *     (plain, with OWS, as a chain of OC__CLIENT_CHAIN_MAX copies),
 *     parses back to itself; a chain one longer is refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "http/http_int.h"
#include "fuzz.h"

#define B64_MAX (OC__CLIENT_DER_MAX * 4 / 3 + 4)

static int
is_b64(int ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
}

static int
b64_val(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	return ch == '+' ? 62 : 63;
}

/*
 * The strict reader: one item ":base64:" at *s (OWS before it skipped),
 * *s moved past it.  Padded base64 (RFC 4648: a multiple of 4 characters,
 * '=' only at the end, at most two); the bytes go to a fresh buffer.
 * 0, or -1 when it is no such item.
 */
static int
ref_item(const char **s, unsigned char **der, size_t *len)
{
	const char *p = *s, *b;
	size_t n, pad = 0, o = 0;
	unsigned char *out;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p++ != ':')
		return -1;
	for (b = p; is_b64((unsigned char)*p); p++)
		;
	while (*p == '=' && pad < 2)
		p++, pad++;
	n = (size_t)(p - b);
	if (*p != ':' || n == 0 || n % 4 != 0 || n > B64_MAX)
		return -1;
	if ((out = malloc(n / 4 * 3)) == NULL)
		abort();
	for (size_t i = 0; i < n; i += 4) {
		unsigned int v = 0;

		for (size_t k = 0; k < 4; k++)
			v = v << 6 | (b[i + k] == '=' ? 0 : (unsigned int)b64_val(
			    (unsigned char)b[i + k]));
		out[o++] = (unsigned char)(v >> 16);
		if (i + 4 < n || pad < 2)
			out[o++] = (unsigned char)(v >> 8);
		if (i + 4 < n || pad < 1)
			out[o++] = (unsigned char)v;
	}
	*der = out;
	*len = o;
	*s = p + 1;
	return 0;
}

/* The item at *s is exactly certificate x. */
static int
ref_item_is(const char **s, X509 *x)
{
	unsigned char *der;
	const unsigned char *q;
	size_t len;
	X509 *y;
	int ok;

	if (ref_item(s, &der, &len) != 0)
		return 0;
	q = der;
	y = d2i_X509(NULL, &q, (long)len);
	ok = y != NULL && q == der + len && X509_cmp(x, y) == 0;
	X509_free(y);
	free(der);
	return ok;
}

static const char *
ows(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* ":base64(DER of x):" with the given OWS around it, n times, separated
 * by ", "; NULL if x does not re-encode or is over the limit. */
static char *
header_of(X509 *x, const char *sp, int n)
{
	unsigned char *der = NULL, *b64;
	char *h, *p;
	int dl = i2d_X509(x, &der), bl;

	if (dl <= 0 || dl > OC__CLIENT_DER_MAX) {
		OPENSSL_free(der);
		return NULL;
	}
	if ((b64 = malloc((size_t)dl / 3 * 4 + 5)) == NULL)
		abort();
	bl = EVP_EncodeBlock(b64, der, dl);
	OPENSSL_free(der);
	if ((h = malloc((size_t)n * ((size_t)bl + 2 * strlen(sp) + 4) + 1)) == NULL)
		abort();
	p = h;
	for (int i = 0; i < n; i++)
		p += sprintf(p, "%s%s:%s:%s", i > 0 ? "," : "", sp,
		    (const char *)b64, sp);
	free(b64);
	return h;
}

/* An accepted certificate as a proxy would send it comes back as itself;
 * a chain of one more than the limit is refused. */
static void
round_trip(X509 *x)
{
	static const char *const spaces[] = { "", " ", "\t ", NULL };
	STACK_OF(X509) *chain;
	X509 *y;
	char *h, *ch;

	for (int i = 0; spaces[i] != NULL; i++) {
		if ((h = header_of(x, spaces[i], 1)) == NULL)
			return;
		FUZZ_CHECK(oc__client_cert_parse(h, NULL, &y, &chain) == 0);
		FUZZ_CHECK(y != NULL && chain == NULL && X509_cmp(x, y) == 0);
		X509_free(y);
		free(h);
	}
	h = header_of(x, "", 1);
	ch = header_of(x, " ", OC__CLIENT_CHAIN_MAX);
	FUZZ_CHECK(h != NULL && ch != NULL);
	FUZZ_CHECK(oc__client_cert_parse(h, ch, &y, &chain) == 0);
	FUZZ_CHECK(y != NULL && chain != NULL &&
	    sk_X509_num(chain) == OC__CLIENT_CHAIN_MAX);
	for (int i = 0; i < sk_X509_num(chain); i++)
		FUZZ_CHECK(X509_cmp(x, sk_X509_value(chain, i)) == 0);
	X509_free(y);
	sk_X509_pop_free(chain, X509_free);
	free(ch);
	ch = header_of(x, "", OC__CLIENT_CHAIN_MAX + 1);
	FUZZ_CHECK(ch != NULL);
	FUZZ_CHECK(oc__client_cert_parse(h, ch, &y, &chain) == 400);
	FUZZ_CHECK(y == NULL && chain == NULL);
	free(ch);
	free(h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	char *cert_h, *chain_h = NULL;
	STACK_OF(X509) *chain = (STACK_OF(X509) *)1;
	X509 *cert = (X509 *)1;
	const char *s;
	int rc;

	cert_h = fuzz_cstr(data, nl != NULL ? (size_t)(nl - data) : size);
	if (nl != NULL)
		chain_h = fuzz_cstr(nl + 1, size - (size_t)(nl + 1 - data));

	/* no Client-Cert: nothing, whatever the chain says */
	FUZZ_CHECK(oc__client_cert_parse(NULL, chain_h, &cert, &chain) == 0);
	FUZZ_CHECK(cert == NULL && chain == NULL);

	rc = oc__client_cert_parse(cert_h, chain_h, &cert, &chain);
	FUZZ_CHECK(rc == 0 || rc == 400);
	if (rc != 0) {
		FUZZ_CHECK(cert == NULL && chain == NULL);
		goto out;
	}
	FUZZ_CHECK(cert != NULL);
	s = cert_h;
	FUZZ_CHECK(ref_item_is(&s, cert));
	FUZZ_CHECK(*ows(s) == '\0');
	if (chain_h == NULL || chain_h[0] == '\0') {
		FUZZ_CHECK(chain == NULL);
	} else {
		int n = sk_X509_num(chain);

		FUZZ_CHECK(chain != NULL && n >= 1 && n <= OC__CLIENT_CHAIN_MAX);
		s = chain_h;
		for (int i = 0; i < n; i++) {
			if (i > 0) {
				s = ows(s);
				FUZZ_CHECK(*s++ == ',');
			}
			FUZZ_CHECK(ref_item_is(&s, sk_X509_value(chain, i)));
		}
		FUZZ_CHECK(*ows(s) == '\0');
	}
	round_trip(cert);
	for (int i = 0; i < sk_X509_num(chain); i++)
		round_trip(sk_X509_value(chain, i));
out:
	X509_free(cert);
	sk_X509_pop_free(chain, X509_free);
	free(cert_h);
	free(chain_h);
	ERR_clear_error();
	return 0;
}
