/*
 * parse.c — certificates from PEM or DER, from memory or files.
 *
 * Same strictness as CSRs (der.c: oc__pem_or_der): one object, nothing
 * after it.  oc_cert_load_file wants exactly one certificate in the file,
 * so a bundle is never silently cut to its first member; bundles go
 * through oc_certs_load_file, which takes every CERTIFICATE block and
 * refuses any other kind of block (a private key pasted into a CA file is
 * a mistake worth hearing about).  Text between PEM blocks, as `openssl
 * x509 -text` leaves it, is allowed.
 */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "onecert/buf.h"
#include "onecert/pki.h"
#include "internal.h"

#define CERTFILE_MAX (4 * 1024 * 1024)

X509 *
oc_cert_parse(const unsigned char *data, size_t len, struct oc_err *err)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t derlen = 0;
	X509 *x = NULL;

	if (len > OC__CERT_MAX) {
		oc_err_set(err, OC_ETOOBIG, "证书太大 / certificate too big");
		return NULL;
	}
	if (oc__pem_or_der(data, len, "CERTIFICATE", NULL, "证书", &der,
	    &derlen, err) != 0)
		return NULL;
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)derlen)) == NULL ||
	    p != der + derlen) {
		X509_free(x);
		x = NULL;
		oc_err_openssl(err, OC_EINVAL, "证书格式无效 / malformed "
		    "certificate");
	}
	OPENSSL_free(der);
	return x;
}

/* Does the buffer hold a PEM BEGIN line anywhere? */
static bool
has_pem(const unsigned char *p, size_t n)
{
	static const char begin[] = "-----BEGIN ";
	size_t k = sizeof(begin) - 1;

	for (size_t i = 0; n >= k && i <= n - k; i++)
		if (p[i] == '-' && memcmp(p + i, begin, k) == 0)
			return true;
	return false;
}

static int
read_file(struct oc_buf *b, const char *path, struct oc_err *err)
{
	int r;

	if (path == NULL)
		return oc_err_set(err, OC_EINVAL, "缺少文件路径 / file path "
		    "missing");
	if ((r = oc_buf_read_file(b, path)) != 0)
		return oc_err_set(err, r == OC_ETOOBIG ? OC_ETOOBIG : OC_EIO,
		    "无法读取文件 %s / cannot read file %s", path, path);
	return 0;
}

STACK_OF(X509) *
oc_certs_load_file(const char *path, struct oc_err *err)
{
	struct oc_buf b;
	STACK_OF(X509) *sk = NULL, *res = NULL;
	BIO *bio = NULL;
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long len = 0;
	X509 *x;

	oc_buf_init(&b, CERTFILE_MAX);
	if (read_file(&b, path, err) != 0)
		goto out;
	if ((sk = sk_X509_new_null()) == NULL) {
		oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
		goto out;
	}
	if (!has_pem(b.p, b.len)) {
		/* One DER certificate. */
		if ((x = oc_cert_parse(b.p, b.len, err)) == NULL)
			goto out;
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
			goto out;
		}
	} else {
		if ((bio = BIO_new_mem_buf(b.p, (int)b.len)) == NULL) {
			oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
			goto out;
		}
		while (PEM_read_bio(bio, &name, &header, &data, &len) == 1) {
			if (strcmp(name, "CERTIFICATE") != 0) {
				oc_err_set(err, OC_EINVAL, "文件 %s 中有非证书的 PEM 块 "
				    "(%.32s) / file %s holds a PEM block that is not a "
				    "certificate (%.32s)", path, name, path, name);
				goto out;
			}
			x = oc_cert_parse(data, (size_t)len, err);
			OPENSSL_free(name);
			OPENSSL_free(header);
			OPENSSL_free(data);
			name = header = NULL;
			data = NULL;
			if (x == NULL)
				goto out;
			if (!sk_X509_push(sk, x)) {
				X509_free(x);
				oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
				goto out;
			}
		}
		/* PEM_read_bio fails with "no start line" at the end;
		 * anything else is a broken block. */
		{
			unsigned long e = ERR_peek_last_error();

			if (ERR_GET_LIB(e) != ERR_LIB_PEM ||
			    ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
				oc_err_openssl(err, OC_EINVAL, "文件 %s 中有损坏的 "
				    "PEM 块 / file %s holds a malformed PEM "
				    "block", path, path);
				goto out;
			}
			ERR_clear_error();
		}
		if (sk_X509_num(sk) == 0) {
			oc_err_set(err, OC_EINVAL, "文件 %s 中没有证书 / no certificate "
			    "in file %s", path, path);
			goto out;
		}
	}
	res = sk;
	sk = NULL;
out:
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(bio);
	sk_X509_pop_free(sk, X509_free);
	oc_buf_cleanup(&b);
	return res;
}

X509 *
oc_cert_load_file(const char *path, struct oc_err *err)
{
	STACK_OF(X509) *sk;
	X509 *x = NULL;

	if ((sk = oc_certs_load_file(path, err)) == NULL)
		return NULL;
	if (sk_X509_num(sk) != 1)
		oc_err_set(err, OC_EINVAL, "文件 %s 中有 %d 个证书，应只有一个 / file "
		    "%s holds %d certificates, expected one", path,
		    sk_X509_num(sk), path, sk_X509_num(sk));
	else
		x = sk_X509_shift(sk);
	sk_X509_pop_free(sk, X509_free);
	return x;
}
