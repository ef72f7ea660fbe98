/*
 * test_rp.c — the relying party's certificate check (include/onecert/rp.h)
 * against the real CA service.
 *
 * Group setup creates two CA directories with oc_ca_init (development file
 * keys; one ECDSA P-256 hierarchy, one SM2 hierarchy), each with its
 * base_url on a free loopback port, `[serve] revocation_interval = 1`, and
 * issues through the CA engine every certificate the tests need, so that
 * the OCSP responder knows them from its first refresh.  Each test then
 * starts the real `onecert ca serve` for both directories as child
 * processes (waiting for /healthz) and its teardown stops them by PID —
 * cmocka runs the teardown after a failed test too, and an atexit handler
 * is the last resort.
 *
 * Certificates the CA would never issue (expired, not yet valid, TLS
 * server, foreign unique-ID OID, wrong organization-code check digit) are
 * made with oc_cert_issue and the issuing CA's development key file, or
 * built from a stored certificate with OpenSSL and re-signed with that key
 * (same serial, so the real responder still answers for it).
 *
 * A small OCSP responder thread inside the test answers with chosen
 * defects (wrong signer, no id-kp-OCSPSigning, replayed nonce, stale,
 * future, tryLater, garbage, wrong content type, a hang) to show that the
 * response checks are real.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pki_helpers.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/provider.h>

#include "onecert/ca.h"
#include "onecert/config.h"
#include "onecert/ident.h"
#include "onecert/log.h"
#include "onecert/ocsp.h"
#include "onecert/rp.h"

#define NAME_A "上海浦江建筑工程有限公司"
#define NAME_SM2 "上海国密测试有限公司"
#define SHECA_UID "SH2025A1B2C3D4E5"

static const struct oc_actor op = { "test-rp", "unit" };

struct cadir {
	const char *tag;
	enum oc_algo algo;
	char dir[600];
	char url[64];
	int port;
	struct oc_ca *ca;
	pid_t pid;
	X509 *good;        /* stays valid */
	X509 *rev1;        /* revoked by test_revoked */
	X509 *rev2;        /* revoked by test_ocsp_down_crl_fallback */
	X509 *base;        /* re-signed with other extensions */
};

static struct cadir ec = { .tag = "ec", .algo = OC_ALGO_EC };
static struct cadir sm2 = { .tag = "sm2", .algo = OC_ALGO_SM2 };
static char top[512];

/* Per-test objects, freed by the teardown even after a failure. */
static struct oc_rp *rps[16];
static size_t nrps;

/* ---- small helpers ---- */

static void
run(const char *fmt, const char *arg)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), fmt, arg);
	assert_int_equal(system(cmd), 0);
}

static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(s >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(s);
	return port;
}

/* A loopback port that refuses connections until closed: bound, never
 * listening, so no other process (ctest -j2) can take it meanwhile, as
 * it could a port from free_port. */
static int
refusing_port(int *fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	*fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(*fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(*fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(*fd, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
write_pem(const char *path, X509 *x)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(PEM_write_X509(f, x));
	fclose(f);
}

static struct oc_rp *
rp_make(const char *ini)
{
	struct oc_config *cfg;
	struct oc_err err;
	struct oc_rp *rp;

	cfg = oc_config_parse(ini, strlen(ini), &err);
	if (cfg == NULL)
		fail_msg("config: %s", err.msg);
	rp = oc_rp_new(cfg, NULL, NULL, &err);
	oc_config_free(cfg);
	if (rp == NULL)
		fail_msg("oc_rp_new: %s | %s", err.msg, err.detail);
	assert_true(nrps < sizeof(rps) / sizeof(rps[0]));
	rps[nrps++] = rp;
	return rp;
}

/* A [trust] section trusting the CA directory's root, with its issuing
 * CA as a configured intermediate, plus extra lines. */
static struct oc_rp *
rp_for(const struct cadir *d, const char *extra)
{
	char ini[4096];

	snprintf(ini, sizeof(ini), "[trust]\nanchors = %s/root.pem\n"
	    "intermediates = %s/issuing.pem\n%s", d->dir, d->dir,
	    extra != NULL ? extra : "");
	return rp_make(ini);
}

/* oc_rp_check, with its return value checked against the status. */
static enum oc_rp_status
chk(struct oc_rp *rp, X509 *x, time_t now, struct oc_rp_result *r)
{
	struct oc_err err;
	int rc;

	oc_err_clear(&err);
	rc = oc_rp_check(rp, x, NULL, now, r, &err);
	if (r->status == OC_RP_OK)
		assert_int_equal(rc, 0);
	else {
		assert_int_equal(rc, OC_EPERM);
		/* err->msg is r->message cut to its size */
		assert_true(strlen(err.msg) > 0);
		assert_int_equal(strncmp(err.msg, r->message, strlen(err.msg)), 0);
	}
	return r->status;
}

/* The refusal is whole: its English half ends as written in rp.c. */
static void
ends_with(const char *msg, const char *tail)
{
	size_t n = strlen(msg), t = strlen(tail);

	if (n < t || strcmp(msg + n - t, tail) != 0)
		fail_msg("message cut or changed: \"%s\" (want it to end with \"%s\")",
		    msg, tail);
}

static void
expect(struct oc_rp *rp, X509 *x, enum oc_rp_status want,
    struct oc_rp_result *r)
{
	enum oc_rp_status got = chk(rp, x, 0, r);

	if (got != want)
		fail_msg("expected %s, got %s: %s", oc_rp_status_name(want),
		    oc_rp_status_name(got), r->message);
}

static struct oc_rp_stats
stats(struct oc_rp *rp)
{
	struct oc_rp_stats s;

	oc_rp_get_stats(rp, &s);
	return s;
}

/* ---- the CA service as a child process ---- */

static const char *
onecert_bin(void)
{
	static char path[2048];
	const char *e = getenv("ONECERT"), *src;

	if (e != NULL)
		return e;
	if (access("./onecert", X_OK) == 0 && realpath("./onecert", path) != NULL)
		return path;
	src = getenv("ONECERT_SOURCE_DIR");
	snprintf(path, sizeof(path), "%s/build/onecert", src ? src : ".");
	return path;
}

static bool
healthz(int port)
{
	struct sockaddr_in a;
	char buf[64];
	int s, n;
	bool ok = false;

	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    write(s, "GET /healthz HTTP/1.0\r\n\r\n", 25) == 25 &&
	    (n = (int)read(s, buf, sizeof(buf) - 1)) > 12) {
		buf[n] = '\0';
		ok = strncmp(buf, "HTTP/1.", 7) == 0 && strncmp(buf + 9, "200",
		    3) == 0;
	}
	close(s);
	return ok;
}

static void
server_stop(struct cadir *d)
{
	int st;

	if (d->pid <= 0)
		return;
	kill(d->pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->pid = 0;
			return;
		}
		usleep(50 * 1000);
	}
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &st, 0);
	d->pid = 0;
}

static void
stop_all_servers(void)
{
	server_stop(&ec);
	server_stop(&sm2);
}

static void
server_start(struct cadir *d)
{
	char listen[64], log[1200];
	pid_t pid;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", d->port);
	snprintf(log, sizeof(log), "%s/serve.log", d->dir);
	fflush(NULL);
	if ((pid = fork()) == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		for (int i = 3; i < 1024; i++)
			close(i);
		execl(onecert_bin(), "onecert", "ca", "serve", "--dir", d->dir,
		    "--listen", listen, (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	d->pid = pid;
	for (int i = 0; i < 300; i++) {
		int st;

		if (healthz(d->port))
			return;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			d->pid = 0;
			fail_msg("%s: ca serve exited (see %s)", onecert_bin(), log);
		}
		usleep(50 * 1000);
	}
	server_stop(d);
	fail_msg("ca serve did not come up on port %d (see %s)", d->port, log);
}

/* ---- the CA directories and their certificates ---- */

static X509_REQ *
new_csr(enum oc_algo a)
{
	EVP_PKEY *k = oc_pkey_generate(a, 0, NULL);
	struct oc_signer *s;
	X509_REQ *r;

	assert_non_null(k);
	s = oc_signer_from_pkey(k, NULL);
	assert_non_null(s);
	r = oc_csr_build(&(struct oc_cert_subject){ .cn = "ignored" }, s, NULL);
	assert_non_null(r);
	oc_signer_free(s);
	EVP_PKEY_free(k);
	return r;
}

static X509 *
ca_issue(struct cadir *d, const char *name)
{
	struct oc_enroll_req r = { .profile = OC_PROFILE_ENTERPRISE,
	    .name = name, .uscc = T_USCC, .materials = "[\"营业执照\"]" };
	struct oc_err err;
	long long id = 0;
	X509_REQ *csr = new_csr(d->algo);
	X509 *x;

	if (oc_ca_enroll(d->ca, &op, &r, &id, &err) != 0 ||
	    oc_ca_decide(d->ca, &op, id, true, NULL, &err) != 0)
		fail_msg("enroll: %s", err.msg);
	x = oc_ca_issue(d->ca, &op, id, csr, NULL, &err);
	if (x == NULL)
		fail_msg("issue: %s | %s", err.msg, err.detail);
	X509_REQ_free(csr);
	return x;
}

static void
ca_make(struct cadir *d)
{
	struct oc_ca_init_opts o = { .algo = d->algo, .dev_file_keys = true,
	    .actor = "test-rp" };
	struct oc_err err;
	char path[1200];
	FILE *f;

	d->port = free_port();
	snprintf(d->dir, sizeof(d->dir), "%s/%s", top, d->tag);
	snprintf(d->url, sizeof(d->url), "http://127.0.0.1:%d", d->port);
	o.dir = d->dir;
	o.base_url = d->url;
	if (oc_ca_init(&o, &err) != 0)
		fail_msg("ca init %s: %s (%s)", d->tag, err.msg, err.detail);
	snprintf(path, sizeof(path), "%s/ca.ini", d->dir);
	f = fopen(path, "a");
	assert_non_null(f);
	fprintf(f, "\n[serve]\nrevocation_interval = 1\nthreads = 1\n"
	    "workers = 1\n");
	fclose(f);
	if ((d->ca = oc_ca_open(d->dir, &err)) == NULL)
		fail_msg("ca open %s: %s", d->tag, err.msg);
	d->good = ca_issue(d, d->algo == OC_ALGO_SM2 ? NAME_SM2 : NAME_A);
	d->rev1 = ca_issue(d, NAME_A);
	d->rev2 = ca_issue(d, NAME_A);
	d->base = ca_issue(d, NAME_A);
}

static void
ca_free(struct cadir *d)
{
	oc_ca_close(d->ca);
	d->ca = NULL;
	X509_free(d->good);
	X509_free(d->rev1);
	X509_free(d->rev2);
	X509_free(d->base);
}

static void
at_exit_kill(void)
{
	stop_all_servers();
}

static int
group_setup(void **state)
{
	const char *base = getenv("ONECERT_TEST_TMP");

	(void)state;
	oc_log_set_level(OC_LOG_ERROR);
	if (base == NULL)
		base = "/tmp";
	mkdir(base, 0755);
	snprintf(top, sizeof(top), "%s/test_rp.%ld", base, (long)getpid());
	run("rm -rf '%s'", top);
	assert_int_equal(mkdir(top, 0700), 0);
	atexit(at_exit_kill);
	ca_make(&ec);
	ca_make(&sm2);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	stop_all_servers();
	ca_free(&ec);
	ca_free(&sm2);
	run("rm -rf '%s'", top);
	return 0;
}

/* ---- the fake responder ---- */

enum fake_mode {
	F_GOOD, F_REVOKED, F_UNKNOWN, F_STALE, F_FUTURE, F_BAD_NONCE,
	F_NO_NONCE, F_TRY_LATER, F_HANG, F_GARBAGE, F_WRONG_CTYPE,
};

static struct fake {
	int lfd, port;
	pthread_t th;
	bool running;
	atomic_int stop;
	atomic_int requests;
	enum fake_mode mode;
	X509 *cert;                 /* responder certificate */
	struct oc_signer *signer;   /* its key */
} fk;

static void
fake_answer(int c)
{
	unsigned char buf[70000], *resp = NULL;
	const unsigned char *body, *der;
	struct oc_ocsp_request *req = NULL;
	struct oc_ocsp_single one;
	struct oc_ocsp_responder r = { fk.cert, fk.signer };
	static const unsigned char bad_nonce[] = { 0x04, 0x10, 'A', 'A', 'A',
	    'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A' };
	static const unsigned char garbage[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
	size_t n = 0, clen = 0, rlen = 0;
	char hdr[256], *eoh;
	time_t now = time(NULL);
	struct timeval tv = { 3, 0 };
	ssize_t k;

	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (n < sizeof(buf) - 1) {
		if ((k = read(c, buf + n, sizeof(buf) - 1 - n)) <= 0)
			return;
		n += (size_t)k;
		buf[n] = '\0';
		if ((eoh = strstr((char *)buf, "\r\n\r\n")) != NULL) {
			char *cl = strstr((char *)buf, "Content-Length:");

			clen = cl != NULL ? strtoul(cl + 15, NULL, 10) : 0;
			if (n >= (size_t)(eoh + 4 - (char *)buf) + clen)
				break;
		}
	}
	atomic_fetch_add(&fk.requests, 1);
	if (fk.mode == F_HANG) {
		while (!atomic_load(&fk.stop))
			usleep(20 * 1000);
		return;
	}
	eoh = strstr((char *)buf, "\r\n\r\n");
	if (eoh == NULL)
		return;
	body = (unsigned char *)eoh + 4;
	if ((req = oc_ocsp_request_parse(body, clen, NULL)) == NULL)
		return;
	memset(&one, 0, sizeof(one));
	one.id = &req->ids[0];
	one.status = OC_OCSP_GOOD;
	one.this_update = now - 60;
	one.next_update = now + 3600;
	if (fk.mode == F_REVOKED) {
		one.status = OC_OCSP_REVOKED;
		one.revoked_at = now - 3600;
		one.reason = 1;
	} else if (fk.mode == F_UNKNOWN) {
		one.status = OC_OCSP_UNKNOWN;
	} else if (fk.mode == F_STALE) {
		one.this_update = now - 7200;
		one.next_update = now - 3600;
	} else if (fk.mode == F_FUTURE) {
		one.this_update = now + 3600;
		one.next_update = now + 7200;
	}
	if (fk.mode == F_TRY_LATER) {
		der = oc_ocsp_error_der(OC_OCSP_TRY_LATER, &rlen);
	} else if (fk.mode == F_GARBAGE) {
		der = garbage;
		rlen = sizeof(garbage);
	} else {
		const unsigned char *nonce = req->has_nonce ? req->nonce_ext : NULL;
		size_t nlen = req->has_nonce ? req->nonce_ext_len : 0;

		if (fk.mode == F_BAD_NONCE) {
			nonce = bad_nonce;
			nlen = sizeof(bad_nonce);
		} else if (fk.mode == F_NO_NONCE) {
			nonce = NULL;
			nlen = 0;
		}
		if (oc_ocsp_response_build(&r, &one, 1, nonce, nlen, now, &resp,
		    &rlen, NULL) != 0) {
			oc_ocsp_request_free(req);
			return;
		}
		der = resp;
	}
	snprintf(hdr, sizeof(hdr), "HTTP/1.0 200 OK\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n\r\n", fk.mode == F_WRONG_CTYPE ?
	    "text/plain" : "application/ocsp-response", rlen);
	/* MSG_NOSIGNAL: a client that gave up (its timeout) has closed, and a
	 * SIGPIPE here would kill the whole test process */
	if (send(c, hdr, strlen(hdr), MSG_NOSIGNAL) > 0 &&
	    send(c, der, rlen, MSG_NOSIGNAL) > 0)
		(void)0;
	OPENSSL_free(resp);
	oc_ocsp_request_free(req);
}

static void *
fake_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&fk.stop)) {
		struct pollfd p = { fk.lfd, POLLIN, 0 };
		int c;

		if (poll(&p, 1, 50) != 1)
			continue;
		if ((c = accept(fk.lfd, NULL, NULL)) < 0)
			continue;
		fake_answer(c);
		close(c);
	}
	return NULL;
}

static void
fake_start(X509 *cert, struct oc_signer *signer, enum fake_mode mode)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	memset(&fk, 0, sizeof(fk));
	fk.cert = cert;
	fk.signer = signer;
	fk.mode = mode;
	fk.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fk.lfd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fk.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fk.lfd, 16), 0);
	assert_int_equal(getsockname(fk.lfd, (struct sockaddr *)&a, &len), 0);
	fk.port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&fk.th, NULL, fake_main, NULL), 0);
	fk.running = true;
}

static void
fake_stop(void)
{
	if (!fk.running)
		return;
	atomic_store(&fk.stop, 1);
	pthread_join(fk.th, NULL);
	close(fk.lfd);
	fk.running = false;
}

/* ---- fixtures ---- */

static int
setup_servers(void **state)
{
	(void)state;
	nrps = 0;
	server_start(&ec);
	server_start(&sm2);
	return 0;
}

static int
setup_none(void **state)
{
	(void)state;
	nrps = 0;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	stop_all_servers();
	fake_stop();
	for (size_t i = 0; i < nrps; i++)
		oc_rp_free(rps[i]);
	nrps = 0;
	return 0;
}

/* ---- certificates made outside the CA engine ---- */

static struct oc_signer *
dev_signer(const struct cadir *d)
{
	char path[1200];
	struct oc_err err;
	struct oc_signer *s;

	snprintf(path, sizeof(path), "%s/private/issuing.key", d->dir);
	if ((s = oc_signer_file_open(path, NULL, &err)) == NULL)
		fail_msg("%s: %s", path, err.msg);
	return s;
}

/* oc_cert_issue by the directory's issuing CA (its dev key file). */
static X509 *
direct_issue(const struct cadir *d, enum oc_profile p, time_t nb, time_t na)
{
	static const char *const san[] = { "hall.onecert.test" };
	struct oc_cert_template t;
	struct oc_cert_issuer iss;
	struct oc_signer *s = dev_signer(d);
	char uid[OC_UID_LEN + 1], crl[256], ocsp[256], cai[256];
	struct oc_err err;
	EVP_PKEY *k = oc_pkey_generate(d->algo, 0, NULL);
	X509 *x;

	assert_non_null(k);
	memset(&t, 0, sizeof(t));
	t.profile = p;
	t.pubkey = k;
	t.not_before = nb;
	t.not_after = na;
	t.subject.c = "CN";
	if (p == OC_PROFILE_TLS_SERVER) {
		t.subject.cn = "hall.onecert.test";
		t.san = san;
		t.n_san = 1;
	} else {
		t.subject.st = "上海市";
		t.subject.l = "上海市";
		t.subject.o = NAME_A;
		t.subject.cn = NAME_A;
		t.ident.org_code = T_USCC;
		assert_int_equal(oc_unique_id_new(uid), 0);
		t.unique_id = uid;
	}
	snprintf(crl, sizeof(crl), "%s/crl/%s-issuing.crl", d->url,
	    oc_algo_name(d->algo));
	snprintf(ocsp, sizeof(ocsp), "%s/ocsp", d->url);
	snprintf(cai, sizeof(cai), "%s/ca/%s-issuing.cer", d->url,
	    oc_algo_name(d->algo));
	memset(&iss, 0, sizeof(iss));
	iss.cert = oc_ca_get0_issuing(d->ca);
	iss.signer = s;
	iss.crl_url = crl;
	iss.ocsp_url = ocsp;
	iss.ca_issuers_url = cai;
	if ((x = oc_cert_issue(&t, &iss, &err)) == NULL)
		fail_msg("oc_cert_issue: %s | %s", err.msg, err.detail);
	oc_signer_free(s);
	EVP_PKEY_free(k);
	return x;
}

/* A copy of base without extension drop_oid (may be NULL) and with a
 * PrintableString extension add_oid = value (may be NULL), re-signed with
 * the issuing CA's key: same serial, so the CA's OCSP responder still
 * answers for it. */
static X509 *
reshape(const struct cadir *d, X509 *base, const char *drop_oid,
    const char *add_oid, const char *value)
{
	X509 *x = X509_dup(base), *out;
	struct oc_signer *s = dev_signer(d);

	assert_non_null(x);
	if (drop_oid != NULL) {
		ASN1_OBJECT *o = OBJ_txt2obj(drop_oid, 1);
		int idx = X509_get_ext_by_OBJ(x, o, -1);

		assert_true(idx >= 0);
		X509_EXTENSION_free(X509_delete_ext(x, idx));
		ASN1_OBJECT_free(o);
	}
	if (add_oid != NULL) {
		ASN1_OBJECT *o = OBJ_txt2obj(add_oid, 1);
		ASN1_PRINTABLESTRING *ps = ASN1_PRINTABLESTRING_new();
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
		unsigned char *der = NULL;
		int n;

		assert_true(ASN1_STRING_set(ps, value, (int)strlen(value)));
		n = i2d_ASN1_PRINTABLESTRING(ps, &der);
		assert_true(n > 0);
		assert_true(ASN1_OCTET_STRING_set(os, der, n));
		X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, os);
		assert_non_null(e);
		assert_true(X509_add_ext(x, e, -1));
		X509_EXTENSION_free(e);
		OPENSSL_free(der);
		ASN1_OCTET_STRING_free(os);
		ASN1_STRING_free(ps);
		ASN1_OBJECT_free(o);
	}
	out = resign(x, s);
	X509_free(x);
	oc_signer_free(s);
	return out;
}

/* ---- tests against the real CA service ---- */

static void
test_good_ec_and_cache(void **state)
{
	struct oc_rp *rp = rp_for(&ec, "ocsp_max_age = 5m\n");
	struct oc_rp_result r;
	struct oc_rp_stats s;
	struct oc_buf m;
	char serial[43], org[10];
	time_t now = time(NULL);
	(void)state;

	expect(rp, ec.good, OC_RP_OK, &r);
	assert_int_equal(r.rev_source, OC_RP_REV_OCSP);
	assert_int_equal(oc_serial_hex(X509_get0_serialNumber(ec.good), serial), 0);
	assert_string_equal(r.serial, serial);
	assert_string_equal(r.subject_cn, NAME_A);
	assert_string_equal(r.subject_o, NAME_A);
	assert_string_equal(r.org_code_value, T_USCC);
	assert_string_equal(r.org_code_oid, OC_OID_GMT_ORG_CODE);
	assert_string_equal(r.uscc, T_USCC);
	assert_int_equal(oc_uscc_orgcode(T_USCC, org), 0);
	assert_string_equal(r.org_code, org);
	assert_int_equal(strncmp(r.unique_id, "OC", 2), 0);
	assert_int_equal(strlen(r.unique_id), OC_UID_LEN);
	assert_string_equal(r.unique_id_oid, OC_OID_UNIQUE_ID);
	assert_string_equal(r.issuer_cn, "onecert ECC CA");
	assert_non_null(strstr(r.issuer, "CN=onecert ECC CA"));
	assert_true(r.not_after > now + 300 * 86400L);
	assert_true(r.rev_next_update > now);
	assert_false(r.revocation_unchecked);

	/* the second check is answered from the cache: no OCSP request */
	expect(rp, ec.good, OC_RP_OK, &r);
	assert_int_equal(r.rev_source, OC_RP_REV_OCSP_CACHE);
	s = stats(rp);
	assert_int_equal(s.ocsp_queries, 1);
	assert_int_equal(s.ocsp_cache_hits, 1);
	assert_int_equal(s.ocsp_cache_entries, 1);
	assert_int_equal(s.crl_fallbacks, 0);

	/* ocsp_max_age bounds the cache: 5 minutes later it asks again */
	assert_int_equal(chk(rp, ec.good, now + 301, &r), OC_RP_OK);
	assert_int_equal(r.rev_source, OC_RP_REV_OCSP);
	assert_int_equal(stats(rp).ocsp_queries, 2);

	/* a forced re-check always asks */
	assert_int_equal(oc_rp_recheck(rp, ec.good, NULL, 0, &r, NULL), 0);
	assert_int_equal(r.rev_source, OC_RP_REV_OCSP);
	s = stats(rp);
	assert_int_equal(s.ocsp_queries, 3);
	assert_int_equal(s.checks, 4);
	assert_int_equal(s.accepted, 4);

	oc_buf_init(&m, 1 << 16);
	assert_int_equal(oc_rp_metrics(rp, &m), 0);
	assert_non_null(strstr((char *)m.p, "onecert_rp_ocsp_queries_total 3\n"));
	assert_non_null(strstr((char *)m.p, "onecert_rp_ocsp_cache_hits_total 1\n"));
	assert_non_null(strstr((char *)m.p, "# TYPE onecert_rp_checks_total counter"));
	oc_buf_cleanup(&m);
}

static void
test_good_sm2(void **state)
{
	char ini[4096];
	struct oc_rp *rp, *rp_crl;
	struct oc_rp_result r;
	(void)state;

	/* the issuing CA alone as the anchor, and the delegated SM2 OCSP
	 * responder's signature checked with the distinguishing ID */
	snprintf(ini, sizeof(ini), "[trust]\nanchors = %s/issuing.pem\n", sm2.dir);
	rp = rp_make(ini);
	expect(rp, sm2.good, OC_RP_OK, &r);
	assert_int_equal(r.rev_source, OC_RP_REV_OCSP);
	assert_string_equal(r.subject_cn, NAME_SM2);
	assert_string_equal(r.uscc, T_USCC);

	/* and the SM2 CRL, when OCSP is off */
	rp_crl = rp_for(&sm2, "ocsp = off\n");
	expect(rp_crl, sm2.good, OC_RP_OK, &r);
	assert_int_equal(r.rev_source, OC_RP_REV_CRL);
	assert_int_equal(stats(rp_crl).crl_downloads, 1);
	assert_int_equal(stats(rp_crl).ocsp_queries, 0);
	expect(rp_crl, sm2.good, OC_RP_OK, &r);
	assert_int_equal(r.rev_source, OC_RP_REV_CRL_CACHE);
	assert_int_equal(stats(rp_crl).crl_downloads, 1);

	/* an SM2 certificate against a relying party that trusts only the
	 * EC hierarchy */
	expect(rp_for(&ec, NULL), sm2.good, OC_RP_UNTRUSTED, &r);
}

static void
test_revoked(void **state)
{
	struct oc_rp *rp = rp_for(&ec, NULL), *rp_crl;
	struct oc_rp_result r;
	struct oc_err err;
	char serial[43];
	time_t t0 = time(NULL);
	(void)state;

	expect(rp, ec.rev1, OC_RP_OK, &r);
	assert_int_equal(oc_serial_hex(X509_get0_serialNumber(ec.rev1), serial), 0);
	if (oc_ca_revoke(ec.ca, &op, serial, 1 /* keyCompromise */, &err) != 0)
		fail_msg("revoke: %s", err.msg);

	/* still good in the cache (bounded by ocsp_max_age)… */
	expect(rp, ec.rev1, OC_RP_OK, &r);
	assert_int_equal(r.rev_source, OC_RP_REV_OCSP_CACHE);
	/* …and a forced re-check sees the revocation once the responder
	 * does (revocation_interval = 1) */
	for (double end = mono() + 60; ; usleep(100 * 1000)) {
		oc_rp_recheck(rp, ec.rev1, NULL, 0, &r, NULL);
		if (r.status != OC_RP_OK || mono() > end)
			break;
	}
	assert_int_equal(r.status, OC_RP_REVOKED);
	assert_int_equal(r.rev_source, OC_RP_REV_OCSP);
	assert_int_equal(r.revoked_reason, 1);
	assert_true(r.revoked_at >= t0 - 120 && r.revoked_at <= time(NULL) + 5);
	assert_non_null(strstr(r.message, "证书已被撤销"));
	assert_non_null(strstr(r.message, "密钥泄露"));
	assert_non_null(strstr(r.message, "keyCompromise"));
	ends_with(r.message, "UTC) and cannot log in");
	/* the revoked answer is cached too */
	expect(rp, ec.rev1, OC_RP_REVOKED, &r);
	assert_int_equal(r.rev_source, OC_RP_REV_OCSP_CACHE);

	/* the CRL says the same */
	rp_crl = rp_for(&ec, "ocsp = off\n");
	expect(rp_crl, ec.rev1, OC_RP_REVOKED, &r);
	assert_int_equal(r.rev_source, OC_RP_REV_CRL);
	assert_int_equal(r.revoked_reason, 1);
}

static void
test_validity(void **state)
{
	struct oc_rp *rp = rp_for(&ec, NULL);
	struct oc_rp_result r;
	time_t now = time(NULL), ca_nb;
	X509 *old, *early;
	(void)state;

	{
		struct tm tm;

		assert_true(ASN1_TIME_to_tm(X509_get0_notBefore(
		    oc_ca_get0_issuing(ec.ca)), &tm));
		ca_nb = timegm(&tm);
	}
	old = direct_issue(&ec, OC_PROFILE_ENTERPRISE, ca_nb, now - 5);
	early = direct_issue(&ec, OC_PROFILE_ENTERPRISE, now + 86400,
	    now + 2 * 86400);

	expect(rp, old, OC_RP_EXPIRED, &r);
	assert_non_null(strstr(r.message, "证书已过期"));
	assert_non_null(strstr(r.message, "has expired"));
	ends_with(r.message, "UTC); please renew it");
	expect(rp, early, OC_RP_NOT_YET_VALID, &r);
	assert_non_null(strstr(r.message, "证书尚未生效"));
	assert_non_null(strstr(r.message, "not valid yet"));
	ends_with(r.message, "UTC) and cannot log in");
	/* the details are read even for a refused certificate */
	assert_string_equal(r.uscc, T_USCC);
	assert_int_equal(r.rev_source, OC_RP_REV_NONE);
	/* refused before any revocation traffic */
	assert_int_equal(stats(rp).ocsp_queries, 0);
	assert_int_equal(stats(rp).refused, 2);

	/* a good certificate checked at a time after its notAfter */
	assert_int_equal(chk(rp, ec.good, time(NULL) + 3 * 366 * 86400L, &r),
	    OC_RP_EXPIRED);
	X509_free(old);
	X509_free(early);
}

static void
test_untrusted(void **state)
{
	struct oc_rp *rp = rp_for(&ec, NULL);
	struct oc_rp_result r;
	struct hier h;
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *leaf;
	(void)state;

	hier_make(&h, OC_ALGO_EC);
	leaf = issue_leaf(&h, OC_PROFILE_ENTERPRISE, NULL);
	expect(rp, leaf, OC_RP_UNTRUSTED, &r);
	assert_non_null(strstr(r.message, "受信任"));
	assert_non_null(strstr(r.message, "trusted CA"));
	/* longer than an oc_err's msg: the hall shows r.message */
	assert_non_null(strstr(r.message, "does not verify"));
	ends_with(r.message, ")");
	/* the client sending the foreign CA's chain does not help */
	sk_X509_push(chain, h.ca);
	sk_X509_push(chain, h.root);
	assert_int_equal(oc_rp_check(rp, leaf, chain, 0, &r, NULL), OC_EPERM);
	assert_int_equal(r.status, OC_RP_UNTRUSTED);
	assert_int_equal(stats(rp).ocsp_queries, 0);
	sk_X509_free(chain);
	X509_free(leaf);
	hier_free(&h);
}

static void
test_wrong_usage(void **state)
{
	struct oc_rp *rp = rp_for(&ec, NULL);
	struct oc_rp_result r;
	time_t now = time(NULL);
	X509 *tls;
	(void)state;

	tls = direct_issue(&ec, OC_PROFILE_TLS_SERVER, now - 60, now + 86400);
	expect(rp, tls, OC_RP_WRONG_USAGE, &r);
	assert_non_null(strstr(r.message, "clientAuth"));
	assert_non_null(strstr(r.message, "证书用途不符"));
	/* the OCSP responder's own certificate, and a CA certificate */
	expect(rp, oc_ca_get0_ocsp(ec.ca), OC_RP_WRONG_USAGE, &r);
	expect(rp, oc_ca_get0_issuing(ec.ca), OC_RP_WRONG_USAGE, &r);
	assert_non_null(strstr(r.message, "CA 证书"));
	/* with the EKU requirement off, the TLS certificate (keyUsage
	 * digitalSignature) passes usage; the CA never stored it, so its
	 * responder answers `unknown`, which is refused */
	expect(rp_for(&ec, "require_eku = none\n"), tls, OC_RP_REVOCATION_UNKNOWN,
	    &r);
	assert_non_null(strstr(r.message, "不认识"));
	X509_free(tls);
}

static void
test_bad_org_code(void **state)
{
	struct oc_rp *rp = rp_for(&ec, NULL);
	struct oc_rp_result r;
	char bad17[19];
	X509 *bad, *bad_inner, *orgcode9;
	(void)state;

	/* check character 18 wrong */
	bad = reshape(&ec, ec.base, OC_OID_GMT_ORG_CODE, OC_OID_GMT_ORG_CODE,
	    "91310115MA1FL8XY7A");
	expect(rp, bad, OC_RP_BAD_IDENTITY, &r);
	assert_non_null(strstr(r.message, "91310115MA1FL8XY7A"));
	assert_non_null(strstr(r.message, "校验位"));
	assert_non_null(strstr(r.message, "check character"));
	assert_string_equal(r.org_code_value, "91310115MA1FL8XY7A");
	assert_string_equal(r.org_code, "");

	/* the embedded organization code's check character wrong, the
	 * USCC's own check character made to fit */
	memcpy(bad17, T_USCC, 19);
	bad17[16] = bad17[16] == '0' ? '1' : '0';
	bad17[17] = oc_uscc_check_char(bad17);
	assert_true(bad17[17] != 0);
	bad_inner = reshape(&ec, ec.base, OC_OID_GMT_ORG_CODE, OC_OID_GMT_ORG_CODE,
	    bad17);
	expect(rp, bad_inner, OC_RP_BAD_IDENTITY, &r);
	assert_non_null(strstr(r.message, "组织机构代码"));

	/* an old-style 9-character organization code that is right passes */
	orgcode9 = reshape(&ec, ec.base, OC_OID_GMT_ORG_CODE, OC_OID_GMT_ORG_CODE,
	    "MA1FL8XY-7");
	expect(rp, orgcode9, OC_RP_OK, &r);
	assert_string_equal(r.org_code, "MA1FL8XY7");
	assert_string_equal(r.uscc, "");
	X509_free(bad);
	X509_free(bad_inner);
	X509_free(orgcode9);
}

static void
test_ocsp_down_crl_fallback(void **state)
{
	char extra[256], serial[43];
	struct oc_rp *rp;
	struct oc_rp_result r;
	struct oc_rp_stats s;
	struct oc_err err;
	double t0;
	int nobody;
	(void)state;

	assert_int_equal(oc_serial_hex(X509_get0_serialNumber(ec.rev2), serial), 0);
	if (oc_ca_revoke(ec.ca, &op, serial, 5 /* cessationOfOperation */,
	    &err) != 0)
		fail_msg("revoke: %s", err.msg);
	/* a responder nobody listens on; the CRL from the CDP still works.
	 * A refused connection fails at once, not after ocsp_timeout (as
	 * OpenSSL's connect-with-retry would): the timeout is long so that
	 * the bound holds on a loaded machine, CRL download included. */
	snprintf(extra, sizeof(extra), "ocsp = http://127.0.0.1:%d/ocsp\n"
	    "ocsp_timeout = 30\n", refusing_port(&nobody));
	rp = rp_for(&ec, extra);
	t0 = mono();
	expect(rp, ec.good, OC_RP_OK, &r);
	assert_true(mono() - t0 < 15.0);
	assert_int_equal(r.rev_source, OC_RP_REV_CRL);
	s = stats(rp);
	assert_int_equal(s.ocsp_queries, 1);
	assert_int_equal(s.ocsp_failures, 1);
	assert_int_equal(s.crl_fallbacks, 1);
	assert_int_equal(s.crl_downloads, 1);
	/* the responder is in back-off: straight to the cached CRL */
	expect(rp, ec.rev2, OC_RP_REVOKED, &r);
	assert_int_equal(r.rev_source, OC_RP_REV_CRL_CACHE);
	assert_int_equal(r.revoked_reason, 5);
	assert_non_null(strstr(r.message, "停止使用"));
	s = stats(rp);
	assert_int_equal(s.ocsp_queries, 1);
	assert_int_equal(s.ocsp_skipped, 1);
	assert_int_equal(s.crl_downloads, 1);
	assert_int_equal(s.crl_cache_hits, 1);
	/* crl_max_age bounds the CRL cache */
	assert_int_equal(chk(rp, ec.good, time(NULL) + 3601, &r), OC_RP_OK);
	assert_int_equal(r.rev_source, OC_RP_REV_CRL);
	assert_int_equal(stats(rp).crl_downloads, 2);
	close(nobody);
}

static void
test_both_down(void **state)
{
	struct oc_rp *rp = rp_for(&ec, NULL);
	struct oc_rp *open = rp_for(&ec, "fail_open = true\n");
	struct oc_rp *off = rp_for(&ec, "ocsp = off\ncrl = off\n");
	struct oc_rp_result r;
	struct oc_rp_stats s;
	(void)state;

	server_stop(&ec);
	expect(rp, ec.good, OC_RP_REVOCATION_UNKNOWN, &r);
	assert_non_null(strstr(r.message, "稍后再试"));
	assert_int_equal(r.rev_source, OC_RP_REV_UNAVAILABLE);
	s = stats(rp);
	assert_int_equal(s.ocsp_failures, 1);
	assert_int_equal(s.crl_failures, 1);
	assert_int_equal(s.revocation_unknown, 1);
	assert_int_equal(s.fail_open, 0);

	expect(open, ec.good, OC_RP_OK, &r);
	assert_true(r.revocation_unchecked);
	assert_int_equal(r.rev_source, OC_RP_REV_UNAVAILABLE);
	assert_int_equal(stats(open).fail_open, 1);

	/* revocation checking configured off altogether */
	expect(off, ec.good, OC_RP_OK, &r);
	assert_false(r.revocation_unchecked);
	assert_int_equal(r.rev_source, OC_RP_REV_NONE);
}

static void
test_sheca_unique_id(void **state)
{
	struct oc_rp *def = rp_for(&ec, NULL);
	struct oc_rp *ours = rp_for(&ec, "unique_id_oids = " OC_OID_UNIQUE_ID "\n");
	struct oc_rp *sheca_first = rp_for(&ec, "unique_id_oids = "
	    OC_OID_SHECA_UNIQUE_ID ", " OC_OID_UNIQUE_ID "\n");
	struct oc_rp_result r;
	X509 *sheca, *both;
	char ours_uid[OC_RP_ID_MAX];
	(void)state;

	/* a SHECA-style certificate: the unique ID only under
	 * 1.2.156.1.8888.148 */
	sheca = reshape(&ec, ec.base, OC_OID_UNIQUE_ID, OC_OID_SHECA_UNIQUE_ID,
	    SHECA_UID);
	expect(def, sheca, OC_RP_OK, &r);
	assert_string_equal(r.unique_id, SHECA_UID);
	assert_string_equal(r.unique_id_oid, OC_OID_SHECA_UNIQUE_ID);
	assert_int_equal(r.rev_source, OC_RP_REV_OCSP);
	expect(ours, sheca, OC_RP_OK, &r);
	assert_string_equal(r.unique_id, "");
	assert_string_equal(r.unique_id_oid, "");

	/* both: the configured order decides */
	both = reshape(&ec, ec.base, NULL, OC_OID_SHECA_UNIQUE_ID, SHECA_UID);
	expect(def, both, OC_RP_OK, &r);
	assert_string_equal(r.unique_id_oid, OC_OID_UNIQUE_ID);
	snprintf(ours_uid, sizeof(ours_uid), "%s", r.unique_id);
	assert_int_equal(strncmp(ours_uid, "OC", 2), 0);
	expect(sheca_first, both, OC_RP_OK, &r);
	assert_string_equal(r.unique_id, SHECA_UID);
	X509_free(sheca);
	X509_free(both);
}

/* ---- the response checks, with the fake responder ---- */

/* The fake answers one request at a time; on a busy machine (ctest -j2,
 * ASan) eight queued requests can take longer than a second, so only the
 * test of the timeout itself uses a short one. */
#define FAKE_TIMEOUT 15

static struct oc_rp *
rp_fake(struct hier *h, int timeout, const char *extra)
{
	char path[1200], ini[4096];

	snprintf(path, sizeof(path), "%s/fake-root-%d.pem", top, (int)h->a);
	write_pem(path, h->root);
	snprintf(ini, sizeof(ini), "[trust]\nanchors = %s\nocsp = "
	    "http://127.0.0.1:%d/ocsp\ncrl = off\nocsp_backoff = 0\n"
	    "ocsp_timeout = %d\n%s", path, fk.port, timeout, extra ? extra : "");
	return rp_make(ini);
}

/* x as the TLS listener hands a client's chain certificate over: parsed
 * with its key left undecoded (src/http/server.c). */
static X509 *
keyless_copy(X509 *x)
{
	static OSSL_LIB_CTX *nokeys;
	unsigned char *der = NULL;
	const unsigned char *p;
	X509 *k;
	int n;

	if (nokeys == NULL) {
		nokeys = OSSL_LIB_CTX_new();
		assert_non_null(nokeys);
		assert_non_null(OSSL_PROVIDER_load(nokeys, "null"));
	}
	n = i2d_X509(x, &der);
	assert_true(n > 0);
	p = der;
	k = X509_new_ex(nokeys, NULL);
	assert_non_null(k);
	assert_non_null(d2i_X509(&k, &p, n));
	OPENSSL_free(der);
	assert_null(X509_get0_pubkey(k));
	ERR_clear_error();
	return k;
}

static void
fake_issuer_signed(enum oc_algo a)
{
	struct hier h;
	struct oc_rp *rp;
	struct oc_rp_result r;
	STACK_OF(X509) *chain = sk_X509_new_null(), *keyless = sk_X509_new_null();
	X509 *leaf;

	hier_make(&h, a);
	leaf = issue_leaf(&h, OC_PROFILE_ENTERPRISE, NULL);
	/* the issuing CA signs its OCSP responses itself */
	fake_start(h.ca, h.ca_s, F_GOOD);
	rp = rp_fake(&h, FAKE_TIMEOUT, NULL);
	sk_X509_push(chain, h.ca);    /* the intermediate from the client */
	if (oc_rp_check(rp, leaf, chain, 0, &r, NULL) != 0)
		fail_msg("%s: %s", oc_algo_name(a), r.message);
	assert_int_equal(r.rev_source, OC_RP_REV_OCSP);
	assert_int_equal(atomic_load(&fk.requests), 1);
	/* the intermediate as it comes from a TLS handshake, without its
	 * key: the relying party decodes it (and the answer is cached) */
	sk_X509_push(keyless, keyless_copy(h.ca));
	if (oc_rp_check(rp, leaf, keyless, 0, &r, NULL) != 0)
		fail_msg("%s, keyless intermediate: %s", oc_algo_name(a), r.message);
	assert_int_equal(atomic_load(&fk.requests), 1);
	fk.mode = F_REVOKED;
	assert_int_equal(oc_rp_recheck(rp, leaf, chain, 0, &r, NULL), OC_EPERM);
	assert_int_equal(r.status, OC_RP_REVOKED);
	assert_int_equal(r.revoked_reason, 1);
	/* without the intermediate the chain does not reach the root */
	assert_int_equal(oc_rp_check(rp, leaf, NULL, 0, &r, NULL), OC_EPERM);
	assert_int_equal(r.status, OC_RP_UNTRUSTED);
	fake_stop();
	sk_X509_free(chain);
	sk_X509_pop_free(keyless, X509_free);
	X509_free(leaf);
	hier_free(&h);
}

static void
test_fake_issuer_signed(void **state)
{
	(void)state;
	fake_issuer_signed(OC_ALGO_EC);
	fake_issuer_signed(OC_ALGO_SM2);
	fake_issuer_signed(OC_ALGO_RSA);
}

static void
test_fake_bad_responses(void **state)
{
	struct hier h, other;
	EVP_PKEY *ocsp_key, *other_key, *ee_key;
	X509 *leaf, *deleg, *foreign, *ee;
	struct oc_signer *deleg_s, *foreign_s, *ee_s;
	STACK_OF(X509) *chain = sk_X509_new_null();
	struct oc_rp *rp, *rp_open, *rp_hang;
	struct oc_rp_result r;
	const struct {
		enum fake_mode mode;
		int who;          /* 0 issuer, 1 delegated, 2 foreign, 3 no EKU */
		const char *what;
	} bad[] = {
		{ F_GOOD, 2, "a responder certificate from another CA" },
		{ F_GOOD, 3, "a certificate of the CA without id-kp-OCSPSigning" },
		{ F_BAD_NONCE, 1, "a nonce that is not ours (replay)" },
		{ F_STALE, 1, "nextUpdate in the past" },
		{ F_FUTURE, 1, "thisUpdate in the future" },
		{ F_TRY_LATER, 1, "tryLater" },
		{ F_GARBAGE, 1, "not an OCSP response" },
		{ F_WRONG_CTYPE, 1, "a wrong Content-Type" },
	};
	double t0;
	(void)state;

	hier_make(&h, OC_ALGO_EC);
	hier_make(&other, OC_ALGO_EC);
	leaf = issue_leaf(&h, OC_PROFILE_ENTERPRISE, NULL);
	deleg = issue_leaf(&h, OC_PROFILE_OCSP, &ocsp_key);
	foreign = issue_leaf(&other, OC_PROFILE_OCSP, &other_key);
	ee = issue_leaf(&h, OC_PROFILE_ENTERPRISE, &ee_key);
	deleg_s = oc_signer_from_pkey(ocsp_key, NULL);
	foreign_s = oc_signer_from_pkey(other_key, NULL);
	ee_s = oc_signer_from_pkey(ee_key, NULL);
	sk_X509_push(chain, h.ca);

	fake_start(deleg, deleg_s, F_GOOD);
	rp = rp_fake(&h, FAKE_TIMEOUT, NULL);
	rp_open = rp_fake(&h, FAKE_TIMEOUT, "fail_open = true\n");
	rp_hang = rp_fake(&h, 1, "fail_open = true\n");
	assert_int_equal(oc_rp_check(rp, leaf, chain, 0, &r, NULL), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fk.mode = bad[i].mode;
		fk.cert = bad[i].who == 2 ? foreign : bad[i].who == 3 ? ee : deleg;
		fk.signer = bad[i].who == 2 ? foreign_s : bad[i].who == 3 ? ee_s :
		    deleg_s;
		oc_rp_recheck(rp, leaf, chain, 0, &r, NULL);
		if (r.status != OC_RP_REVOCATION_UNKNOWN)
			fail_msg("%s: accepted (%s)", bad[i].what, r.message);
		assert_int_equal(stats(rp).ocsp_failures, i + 1);
	}
	/* a responder that does not echo the nonce (pre-produced answers) is
	 * accepted: the times bound its age */
	fk.mode = F_NO_NONCE;
	fk.cert = deleg;
	fk.signer = deleg_s;
	assert_int_equal(oc_rp_recheck(rp, leaf, chain, 0, &r, NULL), 0);
	/* `unknown` is an answer: refused, even with fail_open */
	fk.mode = F_UNKNOWN;
	assert_int_equal(oc_rp_recheck(rp_open, leaf, chain, 0, &r, NULL),
	    OC_EPERM);
	assert_int_equal(r.status, OC_RP_REVOCATION_UNKNOWN);
	assert_false(r.revocation_unchecked);
	/* a responder that accepts and never answers: ocsp_timeout = 1 (the
	 * fake hangs until fake_stop, so without the timeout this never
	 * returns; the upper bound is loose for a loaded machine) */
	fk.mode = F_HANG;
	t0 = mono();
	assert_int_equal(oc_rp_recheck(rp_hang, leaf, chain, 0, &r, NULL), 0);
	assert_true(r.revocation_unchecked);
	assert_true(mono() - t0 >= 0.9 && mono() - t0 < 10.0);
	fake_stop();

	sk_X509_free(chain);
	oc_signer_free(deleg_s);
	oc_signer_free(foreign_s);
	oc_signer_free(ee_s);
	EVP_PKEY_free(ocsp_key);
	EVP_PKEY_free(other_key);
	EVP_PKEY_free(ee_key);
	X509_free(leaf);
	X509_free(deleg);
	X509_free(foreign);
	X509_free(ee);
	hier_free(&h);
	hier_free(&other);
}

struct thr_arg {
	struct oc_rp *rp;
	X509 *leaf;
	STACK_OF(X509) *chain;
	int ok;
};

static void *
thr_main(void *p)
{
	struct thr_arg *a = p;
	struct oc_rp_result r;

	for (int i = 0; i < 50; i++)
		if (oc_rp_check(a->rp, a->leaf, a->chain, 0, &r, NULL) == 0)
			a->ok++;
	return NULL;
}

static void
test_threads(void **state)
{
	struct hier h;
	struct oc_rp *rp;
	STACK_OF(X509) *chain = sk_X509_new_null();
	struct thr_arg a[8];
	pthread_t th[8];
	X509 *leaf;
	struct oc_rp_stats s;
	(void)state;

	hier_make(&h, OC_ALGO_EC);
	leaf = issue_leaf(&h, OC_PROFILE_ENTERPRISE, NULL);
	sk_X509_push(chain, h.ca);
	fake_start(h.ca, h.ca_s, F_GOOD);
	rp = rp_fake(&h, FAKE_TIMEOUT, NULL);
	for (int i = 0; i < 8; i++) {
		a[i] = (struct thr_arg){ rp, leaf, chain, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, thr_main, &a[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].ok, 50);
	}
	s = stats(rp);
	assert_int_equal(s.checks, 400);
	assert_int_equal(s.ocsp_queries + s.ocsp_cache_hits, 400);
	assert_true(s.ocsp_queries >= 1 && s.ocsp_queries <= 8);
	assert_int_equal((uint64_t)atomic_load(&fk.requests), s.ocsp_queries);
	fake_stop();
	sk_X509_free(chain);
	X509_free(leaf);
	hier_free(&h);
}

static void
test_config(void **state)
{
	struct oc_config *cfg;
	struct oc_err err;
	char ini[4096];
	const struct {
		const char *extra, *want;
	} bad[] = {
		{ "ocsp = sometimes\n", "trust.ocsp" },
		{ "ocsp = https://ocsp.example/\n", "trust.ocsp" },
		{ "crl = maybe\n", "trust.crl" },
		{ "ocsp_timeout = 0\n", "trust.ocsp_timeout" },
		{ "ocsp_max_age = soon\n", "trust.ocsp_max_age" },
		{ "unique_id_oids = not.an.oid\n", "trust.unique_id_oids" },
		{ "require_eku = flyingAuth\n", "trust.require_eku" },
		{ "require_key_usage = everything\n", "trust.require_key_usage" },
		{ "fail_open = perhaps\n", "trust.fail_open" },
	};
	(void)state;

	/* no anchors */
	cfg = oc_config_parse("[trust]\nocsp = auto\n", 20, &err);
	assert_non_null(cfg);
	assert_null(oc_rp_new(cfg, NULL, NULL, &err));
	assert_int_equal(err.code, OC_ECONFIG);
	assert_non_null(strstr(err.msg, "trust.anchors"));
	oc_config_free(cfg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(ini, sizeof(ini), "[trust]\nanchors = %s/root.pem\n%s",
		    ec.dir, bad[i].extra);
		cfg = oc_config_parse(ini, strlen(ini), &err);
		assert_non_null(cfg);
		oc_err_clear(&err);
		if (oc_rp_new(cfg, NULL, NULL, &err) != NULL)
			fail_msg("accepted: %s", bad[i].extra);
		if (strstr(err.msg, bad[i].want) == NULL)
			fail_msg("%s: message %s", bad[i].extra, err.msg);
		oc_config_free(cfg);
	}
	/* a missing file, and a leaf certificate given as an anchor */
	snprintf(ini, sizeof(ini), "[trust]\nanchors = %s/nothing.pem\n", ec.dir);
	cfg = oc_config_parse(ini, strlen(ini), &err);
	assert_null(oc_rp_new(cfg, NULL, NULL, &err));
	assert_non_null(strstr(err.msg, "nothing.pem"));
	oc_config_free(cfg);
	snprintf(ini, sizeof(ini), "[trust]\nanchors = %s/ocsp.pem\n", ec.dir);
	cfg = oc_config_parse(ini, strlen(ini), &err);
	assert_null(oc_rp_new(cfg, NULL, NULL, &err));
	assert_non_null(strstr(err.msg, "not a CA certificate"));
	assert_non_null(strstr(err.msg, "ocsp.pem"));
	oc_config_free(cfg);
	/* relative names from base_dir, a folder, several hierarchies, in
	 * another section */
	snprintf(ini, sizeof(ini), "[hall.trust]\nanchors = ec/root.pem, sm2\n");
	cfg = oc_config_parse(ini, strlen(ini), &err);
	{
		struct oc_rp *rp = oc_rp_new(cfg, "hall.trust", top, &err);

		if (rp == NULL)
			fail_msg("%s", err.msg);
		rps[nrps++] = rp;
	}
	oc_config_free(cfg);
	/* bad arguments */
	assert_int_equal(oc_rp_check(NULL, ec.good, NULL, 0, &(struct oc_rp_result){ 0 },
	    NULL), OC_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good_ec_and_cache,
		    setup_servers, teardown),
		cmocka_unit_test_setup_teardown(test_good_sm2, setup_servers,
		    teardown),
		cmocka_unit_test_setup_teardown(test_revoked, setup_servers,
		    teardown),
		cmocka_unit_test_setup_teardown(test_validity, setup_servers,
		    teardown),
		cmocka_unit_test_setup_teardown(test_untrusted, setup_servers,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wrong_usage, setup_servers,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_org_code, setup_servers,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ocsp_down_crl_fallback,
		    setup_servers, teardown),
		cmocka_unit_test_setup_teardown(test_both_down, setup_servers,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sheca_unique_id,
		    setup_servers, teardown),
		cmocka_unit_test_setup_teardown(test_fake_issuer_signed,
		    setup_none, teardown),
		cmocka_unit_test_setup_teardown(test_fake_bad_responses,
		    setup_none, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup_none,
		    teardown),
		cmocka_unit_test_setup_teardown(test_config, setup_none,
		    teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
