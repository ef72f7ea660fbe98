/*
 * clientcert.c — the client certificate of a request.
 *
 * Directly: the certificate (and chain) the client sent in the TLS
 * handshake of this connection.  TLS only asked for it and accepted
 * whatever came (server.c); verification is the application's.
 *
 * Behind a reverse proxy: RFC 9440.  The proxy terminates TLS and puts the
 * certificate in "Client-Cert: :<base64 DER>:" (an RFC 8941 byte
 * sequence) and the rest of the chain in "Client-Cert-Chain: :…:, :…:".
 * Those headers are honoured only when the TCP peer is one of
 * config.proxies (an address or a CIDR block); from anyone else they are
 * ignored and logged, since any client can send them.  For a trusted proxy
 * only the headers count, never the proxy's own TLS client certificate.
 * A malformed header from a trusted proxy is a 400: the proxy is
 * misconfigured and guessing would be worse.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "onecert/log.h"
#include "http_int.h"

/* ---- proxies ------------------------------------------------------------- */

static int
addr_parse(const char *s, int *family, unsigned char *addr)
{
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

int
oc__proxies_parse(struct oc_http_server *srv, const char *const *list,
    size_t n, struct oc_err *err)
{
	if (n == 0 || list == NULL)
		return 0;
	if ((srv->proxies = calloc(n, sizeof(*srv->proxies))) == NULL)
		return oc_err_set(err, OC_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct oc__proxy *p = &srv->proxies[i];
		char a[64];
		const char *slash = list[i] != NULL ? strchr(list[i], '/') : NULL;
		size_t al = slash != NULL ? (size_t)(slash - list[i]) :
		    (list[i] != NULL ? strlen(list[i]) : 0);
		int max;

		if (list[i] == NULL || al == 0 || al >= sizeof(a))
			goto bad;
		memcpy(a, list[i], al);
		a[al] = '\0';
		if (addr_parse(a, &p->family, p->addr) != 0)
			goto bad;
		max = p->family == AF_INET ? 32 : 128;
		p->prefix = max;
		if (slash != NULL) {
			char *end;
			long v = strtol(slash + 1, &end, 10);

			if (slash[1] == '\0' || *end != '\0' || v < 0 || v > max)
				goto bad;
			p->prefix = (int)v;
		}
		srv->n_proxies = i + 1;
		continue;
bad:
		return oc_err_set(err, OC_ECONFIG, "bad proxy address \"%s\" (want "
		    "an IP address or a CIDR block)", list[i] ? list[i] : "");
	}
	return 0;
}

bool
oc__peer_is_proxy(const struct oc_http_server *srv, const char *peer)
{
	unsigned char a[16];
	int family;

	if (srv->n_proxies == 0 || addr_parse(peer, &family, a) != 0)
		return false;
	for (size_t i = 0; i < srv->n_proxies; i++) {
		const struct oc__proxy *p = &srv->proxies[i];
		int full = p->prefix / 8, rest = p->prefix % 8;

		if (p->family != family)
			continue;
		if (memcmp(a, p->addr, (size_t)full) != 0)
			continue;
		if (rest != 0) {
			unsigned char mask = (unsigned char)(0xff << (8 - rest));

			if ((a[full] & mask) != (p->addr[full] & mask))
				continue;
		}
		return true;
	}
	return false;
}

/* ---- RFC 8941 byte sequences -------------------------------------------- */

/* ":base64:" (surrounding spaces allowed) -> X509, or NULL. *rest points
 * after the closing colon. */
static X509 *
sf_binary_cert(const char *s, const char **rest)
{
	const char *b, *e;
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_ENCODE_CTX *ctx = NULL;
	X509 *x = NULL;
	int n1 = 0, n2 = 0;
	size_t bl;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != ':')
		return NULL;
	b = s + 1;
	if ((e = strchr(b, ':')) == NULL)
		return NULL;
	*rest = e + 1;
	bl = (size_t)(e - b);
	if (bl == 0 || bl > OC__CLIENT_DER_MAX * 4 / 3 + 4 ||
	    strspn(b, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/=") < bl)
		return NULL;
	if ((der = malloc(bl)) == NULL || (ctx = EVP_ENCODE_CTX_new()) == NULL)
		goto out;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, der, &n1, (const unsigned char *)b, (int)bl) < 0 ||
	    EVP_DecodeFinal(ctx, der + n1, &n2) != 1)
		goto out;
	p = der;
	x = d2i_X509(NULL, &p, n1 + n2);
	if (x != NULL && p != der + n1 + n2) {   /* trailing bytes */
		X509_free(x);
		x = NULL;
	}
out:
	EVP_ENCODE_CTX_free(ctx);
	free(der);
	return x;
}

int
oc__client_cert_parse(const char *cert_h, const char *chain_h, X509 **cert,
    STACK_OF(X509) **chain)
{
	const char *rest = NULL;
	X509 *x;
	int st = 400;

	*cert = NULL;
	*chain = NULL;
	if (cert_h == NULL)
		return 0;                    /* a chain without a certificate */
	if ((x = sf_binary_cert(cert_h, &rest)) == NULL)
		return 400;
	while (rest != NULL && (*rest == ' ' || *rest == '\t'))
		rest++;
	if (rest == NULL || *rest != '\0') {
		X509_free(x);
		return 400;
	}
	*cert = x;
	if (chain_h == NULL || chain_h[0] == '\0')
		return 0;
	if ((*chain = sk_X509_new_null()) == NULL) {
		st = 500;
		goto fail;
	}
	for (const char *s = chain_h; ; ) {
		if (sk_X509_num(*chain) >= OC__CLIENT_CHAIN_MAX ||
		    (x = sf_binary_cert(s, &rest)) == NULL)
			goto fail;
		if (sk_X509_push(*chain, x) == 0) {
			X509_free(x);
			st = 500;
			goto fail;
		}
		while (*rest == ' ' || *rest == '\t')
			rest++;
		if (*rest == '\0')
			break;
		if (*rest != ',')
			goto fail;
		s = rest + 1;
	}
	return 0;
fail:
	X509_free(*cert);
	sk_X509_pop_free(*chain, X509_free);
	*cert = NULL;
	*chain = NULL;
	return st;
}

static void
subject_of(X509 *x, char *out, size_t cap)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	out[0] = '\0';
	if (b == NULL)
		return;
	/* RFC 2253 order, UTF-8 kept as is (Chinese names stay readable) */
	if (X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		n = BIO_get_mem_data(b, &p);
		if (n > 0) {
			size_t k = (size_t)n < cap - 1 ? (size_t)n : cap - 1;

			memcpy(out, p, k);
			out[k] = '\0';
		}
	}
	BIO_free(b);
}

int
oc__req_load_client_cert(struct oc_http_req *req)
{
	struct oc_http_server *srv = req->loop->srv;
	const char *cert_h = oc_http_req_header(req, "Client-Cert");
	const char *chain_h = oc_http_req_header(req, "Client-Cert-Chain");
	char qp[64];
	int st;

	if (oc__peer_is_proxy(srv, req->peer)) {
		if ((st = oc__client_cert_parse(cert_h, chain_h, &req->cert,
		    &req->chain)) != 0) {
			oc_log(OC_LOG_WARN, "http.client_cert_bad", "service=%s "
			    "peer=%s msg=\"malformed Client-Cert from a trusted proxy\"",
			    srv->name, oc_log_q(qp, sizeof(qp), req->peer));
			return st;
		}
	} else {
		if (cert_h != NULL || chain_h != NULL)
			oc_log(OC_LOG_WARN, "http.client_cert_ignored", "service=%s "
			    "peer=%s msg=\"Client-Cert header from an address that is "
			    "not a configured proxy\"", srv->name,
			    oc_log_q(qp, sizeof(qp), req->peer));
		if (req->tls && req->conn != NULL && req->conn->ssl != NULL) {
			SSL *ssl = req->conn->ssl;
			X509 *x = SSL_get0_peer_certificate(ssl);
			STACK_OF(X509) *ch = SSL_get_peer_cert_chain(ssl);

			if (x != NULL && X509_up_ref(x) == 1)
				req->cert = x;
			/* server side: the chain does not include the leaf */
			if (req->cert != NULL && ch != NULL)
				req->chain = X509_chain_up_ref(ch);
		}
	}
	if (req->cert != NULL)
		subject_of(req->cert, req->subject, sizeof(req->subject));
	return 0;
}
