/*
 * signerproc.c — the CA's signer process.
 *
 * oc__sproc_start forks a child that alone opens the CA's private keys
 * (keys.c) and answers a small, typed, length-checked protocol over a
 * socketpair; the parent (the CLI, or the process that faces the network)
 * never holds a CA private key (kore and OpenBSD acme-client are the
 * models).  The child is single-threaded, cannot be ptraced or dumped
 * (PR_SET_DUMPABLE 0), ignores SIGINT/SIGTERM (it exits when the parent
 * closes its end, so in-flight requests finish) and dies with the parent
 * (PR_SET_PDEATHSIG).
 *
 * Frames, host byte order (both ends are the same binary on one machine):
 *   request:  u32 len | u8 op | u8 key | u16 aadlen | len bytes
 *   response: u32 len | i32 status | len bytes
 * Each frame is sent with one sendmsg (full_writev), header and payload
 * together.
 * op SIGN: payload = to-be-signed bytes; reply = signature.
 * op ESCROW_ENC / ESCROW_DEC: payload = aad (aadlen bytes) || data.
 * A reply with status != 0 carries a message, a NUL and the detail (the
 * OpenSSL or PKCS#11 text): the parent keeps the two apart, so that the
 * library detail goes to the log and never into a message a client sees.
 * The very first frame the child sends is the result of opening the keys.
 * Any malformed frame ends the child: the parent then refuses all further
 * work ("signer process stopped") rather than run half-working.  So does a
 * child that does not answer within ca.signer_timeout (a hung HSM): the
 * socket has send and receive timeouts, the request fails, the signer is
 * marked dead (the service then stops) and is killed when it is stopped.
 * oc__sproc_alive never waits for a request in flight, so a liveness
 * check cannot hang behind a hung signer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/ca_int.h"
#include "onecert/log.h"
#include "onecert/pki.h"

#define SP_MAX (1u << 20)
#define SP_TIMEOUT_DEFAULT 30      /* seconds; ca.signer_timeout */

enum { SP_SIGN = 1, SP_ESCROW_ENC = 2, SP_ESCROW_DEC = 3 };

struct req_hdr {
	uint32_t len;
	uint8_t op;
	uint8_t key;
	uint16_t aadlen;
};

struct rsp_hdr {
	uint32_t len;
	int32_t status;
};

struct oc__sproc {
	int fd;
	pid_t pid;                 /* > 0 until reaped (under reap) */
	atomic_bool dead;
	pthread_mutex_t mu;        /* one request at a time */
	pthread_mutex_t reap;      /* waitpid and pid */
};

struct remote {
	struct oc__sproc *p;
	int key;
};

static int
full_read(int fd, void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* iov[0..n) in one sendmsg where the socket takes it all (a frame's
 * header and payload together: the other end, blocked reading the
 * header, then wakes once per frame instead of once per part), the rest
 * after a partial send. */
static int
full_writev(int fd, struct iovec *iov, int n)
{
	struct msghdr m;
	ssize_t w;

	while (n > 0 && iov[0].iov_len == 0) {
		iov++;
		n--;
	}
	while (n > 0) {
		memset(&m, 0, sizeof(m));
		m.msg_iov = iov;
		m.msg_iovlen = (size_t)n;
		w = sendmsg(fd, &m, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		while (n > 0 && (size_t)w >= iov[0].iov_len) {
			w -= (ssize_t)iov[0].iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov[0].iov_base = (unsigned char *)iov[0].iov_base + w;
			iov[0].iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* ---- child ---- */

/* One DER element of [*p, end): its tag and contents; *p moves past it.
 * Single-byte tags and definite lengths of at most four octets, as DER
 * has them; -1 for anything else. */
static int
der_elem(const unsigned char **p, const unsigned char *end, int *tag,
    const unsigned char **body, size_t *blen)
{
	const unsigned char *q = *p;
	size_t len = 0, n;

	if (end - q < 2 || (q[0] & 0x1f) == 0x1f)
		return -1;
	*tag = q[0];
	if (q[1] < 0x80) {
		len = q[1];
		q += 2;
	} else {
		n = q[1] & 0x7f;
		if (n == 0 || n > 4 || (size_t)(end - q) < 2 + n)
			return -1;
		for (size_t i = 0; i < n; i++)
			len = len << 8 | q[2 + i];
		q += 2 + n;
	}
	if (len > (size_t)(end - q))
		return -1;
	*body = q;
	*blen = len;
	*p = q + len;
	return 0;
}

enum tbs_kind { TBS_OTHER, TBS_CRL, TBS_CERT, TBS_OCSP };

#define TBS_MAX_ELEMS 10

/*
 * What tbs is, from its structure alone:
 *   TBS_CRL   TBSCertList v2: version INTEGER 1, AlgorithmIdentifier,
 *             issuer Name, thisUpdate Time, …
 *   TBS_CERT  TBSCertificate v3: [0] { INTEGER 2 }, serial INTEGER,
 *             AlgorithmIdentifier, issuer, Validity, subject,
 *             SubjectPublicKeyInfo (SEQUENCEs), the optional unique IDs
 *             [1] [2], and [3] { Extensions }, whose SEQUENCE (tag and
 *             all) *exts and *extslen then point at;
 *   TBS_OCSP  ResponseData: responderID [1] or [2], producedAt
 *             GeneralizedTime, …
 * A v1 certificate (serial INTEGER first, then AlgorithmIdentifier, issuer
 * and a Validity SEQUENCE) is none of them: the fourth element tells it
 * from a CRL.
 */
static enum tbs_kind
tbs_kind(const unsigned char *tbs, size_t len, const unsigned char **exts,
    size_t *extslen)
{
	const unsigned char *p = tbs, *end = tbs + len, *b[TBS_MAX_ELEMS], *body;
	size_t bl[TBS_MAX_ELEMS], blen;
	int t[TBS_MAX_ELEMS], tag, n = 0, i;

	*exts = NULL;
	*extslen = 0;
	if (der_elem(&p, end, &tag, &body, &blen) != 0 || tag != 0x30 || p != end)
		return TBS_OTHER;
	for (p = body, end = body + blen; p < end; n++)
		if (n == TBS_MAX_ELEMS || der_elem(&p, end, &t[n], &b[n], &bl[n]) != 0)
			return TBS_OTHER;
	if (n >= 4 && t[0] == 0x02 && bl[0] == 1 && b[0][0] == 1 && t[1] == 0x30 &&
	    t[2] == 0x30 && (t[3] == 0x17 || t[3] == 0x18))
		return TBS_CRL;
	if (n >= 2 && (t[0] == 0xa1 || t[0] == 0xa2) && t[1] == 0x18)
		return TBS_OCSP;
	if (n < 7 || t[0] != 0xa0 || bl[0] != 3 || memcmp(b[0], "\x02\x01\x02", 3) != 0 ||
	    t[1] != 0x02)
		return TBS_OTHER;
	for (i = 2; i < 7; i++)
		if (t[i] != 0x30)
			return TBS_OTHER;
	if (i < n && t[i] == 0x81)
		i++;
	if (i < n && t[i] == 0x82)
		i++;
	if (i < n) {
		p = b[i];
		if (t[i] != 0xa3 || i + 1 != n ||
		    der_elem(&p, b[i] + bl[i], &tag, &body, &blen) != 0 || tag != 0x30 ||
		    p != b[i] + bl[i])
			return TBS_OTHER;
		*exts = b[i];
		*extslen = bl[i];
	}
	return TBS_CERT;
}

/* What each key may sign (the signer's own policy, so that a compromised
 * network process cannot have the CA sign, say, a sub-CA certificate):
 *   root     only CRLs;
 *   issuing  CRLs, and v3 certificates whose basicConstraints (present,
 *            once) say CA:FALSE and whose keyUsage, if present, has
 *            neither keyCertSign nor cRLSign (no Netscape certificate
 *            type either);
 *   ocsp     only OCSP ResponseData.
 * Only the extensions of a certificate are decoded: parsing all of it
 * would decode its public key, which in OpenSSL 3.0 costs more than an
 * ECDSA signature (bench/README.md). */
static int
policy_check(int key, const unsigned char *tbs, size_t len, struct oc_err *err)
{
	const unsigned char *exts, *p;
	size_t extslen;
	enum tbs_kind k = tbs_kind(tbs, len, &exts, &extslen);
	STACK_OF(X509_EXTENSION) *sk = NULL;
	BASIC_CONSTRAINTS *bc = NULL;
	ASN1_BIT_STRING *ku = NULL;
	int crit = -1, rc = OC_EPERM;

	if (key == OC_KEY_ROOT)
		return k == TBS_CRL ? 0 : oc_err_set(err, OC_EPERM,
		    "signer policy: the root key signs CRLs only");
	if (key == OC_KEY_OCSP)
		return k == TBS_OCSP ? 0 : oc_err_set(err, OC_EPERM,
		    "signer policy: the OCSP key signs OCSP responses only");
	if (k == TBS_CRL)
		return 0;                       /* the issuing CA's CRL */
	if (k != TBS_CERT)
		return oc_err_set(err, OC_EPERM,
		    "signer policy: the issuing key signs v3 certificates and CRLs only");
	p = exts;
	if (exts == NULL ||
	    (sk = d2i_X509_EXTENSIONS(NULL, &p, (long)extslen)) == NULL ||
	    p != exts + extslen) {
		oc_err_set(err, OC_EPERM, "signer policy: a certificate without "
		    "readable extensions");
		goto out;
	}
	/* NULL: absent (crit -1), twice (-2) or undecodable. */
	if ((bc = X509V3_get_d2i(sk, NID_basic_constraints, &crit, NULL)) == NULL ||
	    bc->ca ||
	    ((ku = X509V3_get_d2i(sk, NID_key_usage, &crit, NULL)) == NULL && crit != -1) ||
	    (ku != NULL && (ASN1_BIT_STRING_get_bit(ku, 5) || ASN1_BIT_STRING_get_bit(ku, 6))) ||
	    X509v3_get_ext_by_NID(sk, NID_netscape_cert_type, -1) >= 0) {
		oc_err_set(err, OC_EPERM, "signer policy: the issuing key does not "
		    "sign CA certificates");
		goto out;
	}
	rc = 0;
out:
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(ku);
	sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
	ERR_clear_error();
	return rc;
}

/* close_range(2) over [lo, hi], falling back to close() one by one (at
 * most 64 Ki descriptors) on a kernel without it. */
static void
close_fds(unsigned lo, unsigned hi)
{
	long max;

	if (lo > hi || syscall(SYS_close_range, lo, hi, 0u) == 0)
		return;
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (long fd = lo; fd < max && fd <= (long)hi; fd++)
		close((int)fd);
}

/* Keep stdio and our socket; close what else the fork copied.  Among
 * those copies are the parent's end of every signer process started
 * before this one (one per oc_ca_open): held open here, they would keep
 * those signers from ever seeing their parent close its end, and
 * oc_ca_close of an earlier handle would wait for its signer for ever.
 * (The parent's database descriptors go too; this process needs none.) */
static void
close_inherited(int keep)
{
	if (keep > 3)
		close_fds(3, (unsigned)keep - 1);
	close_fds(keep >= 3 ? (unsigned)keep + 1 : 3, ~0u);
}

static int
reply(int fd, int status, const void *data, size_t len)
{
	struct rsp_hdr h = { (uint32_t)len, status };
	struct iovec iov[2] = {
		{ &h, sizeof(h) },
		{ (void *)data, len },
	};

	return full_writev(fd, iov, 2);
}

/* message NUL detail */
static int
reply_err(int fd, const struct oc_err *err)
{
	char msg[sizeof(err->msg) + sizeof(err->detail)];
	size_t n = strlen(err->msg), d = strlen(err->detail);

	memcpy(msg, err->msg, n);
	msg[n] = '\0';
	memcpy(msg + n + 1, err->detail, d);
	return reply(fd, err->code < 0 ? err->code : OC_EINTERNAL, msg, n + 1 + d);
}

/* Fill err from a status != 0 and its "message NUL detail" payload (len
 * bytes, NUL-terminated by the caller). */
static int
set_remote_err(struct oc_err *err, int32_t status, const char *prefix,
    const char *payload, size_t len)
{
	size_t n = strlen(payload);
	int code = status < 0 ? status : OC_EINTERNAL;

	oc_err_set(err, code, "%s%s", prefix, payload);
	if (n + 1 < len)
		oc_err_detail(err, "%s", payload + n + 1);
	return code;
}

static void __attribute__((noreturn))
child_main(int fd, const char *dir, const struct oc_config *cfg)
{
	struct oc__keys keys;
	struct oc_err err;
	struct req_hdr h;
	unsigned char *buf = NULL, *out = NULL;
	size_t outlen;
	int rc;

	close_inherited(fd);
	prctl(PR_SET_DUMPABLE, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	oc_err_clear(&err);
	if (oc__keys_open(dir, cfg, &keys, &err) != 0) {
		reply_err(fd, &err);
		_exit(1);
	}
	if (reply(fd, 0, NULL, 0) != 0)
		_exit(1);
	if ((buf = malloc(SP_MAX)) == NULL)
		_exit(1);
	for (;;) {
		if (full_read(fd, &h, sizeof(h)) != 0)
			break;                      /* parent closed: done */
		if (h.len > SP_MAX || h.aadlen > h.len || h.key >= OC_KEY_COUNT ||
		    h.op < SP_SIGN || h.op > SP_ESCROW_DEC) {
			oc_log(OC_LOG_ERROR, "signer.protocol", "msg=\"malformed request\"");
			break;
		}
		if (full_read(fd, buf, h.len) != 0)
			break;
		oc_err_clear(&err);
		out = NULL;
		outlen = 0;
		if (h.op == SP_SIGN)
			rc = policy_check(h.key, buf, h.len, &err) != 0 ? OC_EPERM :
			    oc_signer_sign(keys.s[h.key], buf, h.len, &out, &outlen, &err);
		else
			rc = oc__keys_escrow(&keys, h.op == SP_ESCROW_ENC, buf + h.aadlen,
			    h.len - h.aadlen, buf, h.aadlen, &out, &outlen, &err);
		if (rc != 0)
			rc = reply_err(fd, &err);
		else
			rc = reply(fd, 0, out, outlen);
		if (out != NULL) {
			OPENSSL_cleanse(out, outlen);
			if (h.op == SP_SIGN)
				OPENSSL_free(out);
			else
				free(out);
		}
		if (rc != 0)
			break;
	}
	OPENSSL_cleanse(buf, SP_MAX);
	free(buf);
	oc__keys_close(&keys);
	_exit(0);
}

/* ---- parent ---- */

struct oc__sproc *
oc__sproc_start(const char *dir, const struct oc_config *cfg, struct oc_err *err)
{
	struct oc__sproc *p;
	struct rsp_hdr h;
	struct timeval tv;
	long timeout;
	int sv[2];
	char msg[1100];

	if (oc_config_get_duration(cfg, "ca", "signer_timeout", SP_TIMEOUT_DEFAULT,
	    &timeout, err) != 0)
		return NULL;
	if (timeout < 1 || timeout > 3600) {
		oc_err_set(err, OC_ECONFIG, "ca.signer_timeout must be 1s..1h");
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		oc_err_set(err, OC_ENOMEM, "out of memory");
		return NULL;
	}
	p->fd = -1;
	atomic_init(&p->dead, false);
	pthread_mutex_init(&p->mu, NULL);
	pthread_mutex_init(&p->reap, NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		oc_err_set(err, OC_EIO, "socketpair: %s", strerror(errno));
		pthread_mutex_destroy(&p->mu);
		pthread_mutex_destroy(&p->reap);
		free(p);
		return NULL;
	}
	fflush(NULL);
	p->pid = fork();
	if (p->pid < 0) {
		oc_err_set(err, OC_EIO, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		pthread_mutex_destroy(&p->mu);
		pthread_mutex_destroy(&p->reap);
		free(p);
		return NULL;
	}
	if (p->pid == 0) {
		close(sv[0]);
		child_main(sv[1], dir, cfg);
	}
	close(sv[1]);
	p->fd = sv[0];
	tv.tv_sec = timeout;
	tv.tv_usec = 0;
	if (setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(p->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
		oc_err_set(err, OC_EIO, "setsockopt: %s", strerror(errno));
		atomic_store(&p->dead, true);
		goto fail;
	}
	if (full_read(p->fd, &h, sizeof(h)) != 0 || h.len >= sizeof(msg) ||
	    (h.len && full_read(p->fd, msg, h.len) != 0)) {
		oc_err_set(err, OC_EINTERNAL, "the signer process died at start-up");
		atomic_store(&p->dead, true);
		goto fail;
	}
	if (h.status != 0) {
		msg[h.len] = '\0';
		set_remote_err(err, h.status, "the signer process cannot open the CA keys: ",
		    msg, h.len);
		goto fail;
	}
	oc_log(OC_LOG_DEBUG, "signer.started", "pid=%ld", (long)p->pid);
	return p;
fail:
	oc__sproc_stop(p);
	return NULL;
}

/* Takes only the reap lock, never mu: a request stuck in a hung signer
 * must not stall the thread that checks whether the signers live. */
bool
oc__sproc_alive(struct oc__sproc *p)
{
	int status = 0;
	pid_t r;

	pthread_mutex_lock(&p->reap);
	if (!atomic_load(&p->dead) && p->pid > 0) {
		r = waitpid(p->pid, &status, WNOHANG);
		if (r == p->pid || (r < 0 && errno == ECHILD)) {
			atomic_store(&p->dead, true);
			if (r == p->pid) {
				oc_log(OC_LOG_ERROR, "signer.died", "pid=%ld status=%d",
				    (long)p->pid, status);
				p->pid = -1;   /* reaped */
			} else {
				oc_log(OC_LOG_ERROR, "signer.died", "pid=%ld status=unknown",
				    (long)p->pid);
			}
		}
	}
	pthread_mutex_unlock(&p->reap);
	return !atomic_load(&p->dead);
}

/* Closing our end makes a healthy signer exit; one that is hung (or was
 * found dead to us: no answer, a malformed frame) is killed, after a
 * grace period for the healthy kind. */
void
oc__sproc_stop(struct oc__sproc *p)
{
	int status = 0;
	pid_t r = 0;

	if (p == NULL)
		return;
	if (p->fd >= 0)
		close(p->fd);
	pthread_mutex_lock(&p->reap);
	if (p->pid > 0) {
		if (atomic_load(&p->dead))
			kill(p->pid, SIGKILL);
		for (int i = 0; i < 100; i++) {
			r = waitpid(p->pid, &status, WNOHANG);
			if (r != 0 && !(r < 0 && errno == EINTR))
				break;
			usleep(50 * 1000);
		}
		if (r == 0) {
			oc_log(OC_LOG_ERROR, "signer.kill", "pid=%ld msg=\"did not exit\"",
			    (long)p->pid);
			kill(p->pid, SIGKILL);
			while ((r = waitpid(p->pid, &status, 0)) < 0 && errno == EINTR)
				;
		}
		if (r == p->pid && !atomic_load(&p->dead) && WIFSIGNALED(status))
			oc_log(OC_LOG_ERROR, "signer.died", "signal=%d", WTERMSIG(status));
		p->pid = -1;
	}
	pthread_mutex_unlock(&p->reap);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->reap);
	free(p);
}

/* One request, one response; *out is malloc'd. */
static int
call(struct oc__sproc *p, int op, int key, const unsigned char *aad, size_t aadlen,
    const unsigned char *in, size_t inlen, unsigned char **out, size_t *outlen,
    struct oc_err *err)
{
	struct req_hdr h;
	struct rsp_hdr r = { 0, 0 };
	struct iovec iov[3];
	unsigned char *o = NULL;
	int rc = OC_EINTERNAL;

	if (aadlen > UINT16_MAX || inlen > SP_MAX - aadlen)
		return oc_err_set(err, OC_ETOOBIG, "request too large for the signer");
	h.len = (uint32_t)(aadlen + inlen);
	h.op = (uint8_t)op;
	h.key = (uint8_t)key;
	h.aadlen = (uint16_t)aadlen;
	pthread_mutex_lock(&p->mu);
	if (atomic_load(&p->dead)) {
		rc = oc_err_set(err, OC_EINTERNAL, "the signer process has stopped");
		goto out;
	}
	iov[0] = (struct iovec){ &h, sizeof(h) };
	iov[1] = (struct iovec){ (void *)aad, aadlen };
	iov[2] = (struct iovec){ (void *)in, inlen };
	if (full_writev(p->fd, iov, 3) != 0 ||
	    full_read(p->fd, &r, sizeof(r)) != 0 || r.len > SP_MAX) {
		atomic_store(&p->dead, true);
		oc_log(OC_LOG_ERROR, "signer.lost", "msg=\"signer process stopped answering\"");
		rc = oc_err_set(err, OC_EINTERNAL, "the signer process has stopped");
		goto out;
	}
	if ((o = malloc(r.len + 1)) == NULL || (r.len && full_read(p->fd, o, r.len) != 0)) {
		atomic_store(&p->dead, true);
		rc = oc_err_set(err, OC_EINTERNAL, "the signer process has stopped");
		goto out;
	}
	if (r.status != 0) {
		o[r.len] = '\0';
		rc = set_remote_err(err, r.status, "signer: ", (char *)o, r.len);
		goto out;
	}
	*out = o;
	*outlen = r.len;
	o = NULL;
	rc = 0;
out:
	pthread_mutex_unlock(&p->mu);
	if (o != NULL) {
		OPENSSL_cleanse(o, r.len);
		free(o);
	}
	return rc;
}

static int
remote_sign(struct oc_signer *s, const unsigned char *tbs, size_t tbslen,
    unsigned char **sig, size_t *siglen, struct oc_err *err)
{
	struct remote *r = s->impl;
	unsigned char *o = NULL;
	size_t n = 0;
	int rc;

	if ((rc = call(r->p, SP_SIGN, r->key, NULL, 0, tbs, tbslen, &o, &n, err)) != 0)
		return rc;
	/* The signer interface hands out OPENSSL_malloc'd signatures. */
	if ((*sig = OPENSSL_malloc(n ? n : 1)) == NULL) {
		free(o);
		return oc_err_set(err, OC_ENOMEM, "out of memory");
	}
	memcpy(*sig, o, n);
	*siglen = n;
	free(o);
	return 0;
}

static void
remote_destroy(struct oc_signer *s)
{
	free(s->impl);
}

static const struct oc_signer_ops remote_ops = {
	.name = "remote",
	.sign = remote_sign,
	.destroy = remote_destroy,
};

struct oc_signer *
oc__sproc_signer(struct oc__sproc *p, int k, EVP_PKEY *pub, struct oc_err *err)
{
	struct oc_signer *s = calloc(1, sizeof(*s));
	struct remote *r = calloc(1, sizeof(*r));

	if (s == NULL || r == NULL) {
		free(s);
		free(r);
		oc_err_set(err, OC_ENOMEM, "out of memory");
		return NULL;
	}
	r->p = p;
	r->key = k;
	s->ops = &remote_ops;
	s->impl = r;
	s->algo = oc_algo_of_pkey(pub);
	EVP_PKEY_up_ref(pub);
	s->pub = pub;
	return s;
}

int
oc__sproc_escrow(struct oc__sproc *p, bool encrypt, const unsigned char *in,
    size_t inlen, const unsigned char *aad, size_t aadlen, unsigned char **out,
    size_t *outlen, struct oc_err *err)
{
	return call(p, encrypt ? SP_ESCROW_ENC : SP_ESCROW_DEC, 0, aad, aadlen, in,
	    inlen, out, outlen, err);
}
