/*
 * bench_issue.c — certificates issued per second by the CA engine
 * (issue 2, "Measure"; bench/README.md says how to read the result).
 *
 * One run, one CA directory, one algorithm:
 *
 *  1. open the CA directory (creating it first with oc_ca_init, CA keys on
 *     a SoftHSM2 token, if it holds no CA yet) — one oc_ca handle per
 *     worker thread, each with its own signer process and its own SQLite
 *     connection, all opened before any thread starts (oc_ca_open forks);
 *  2. untimed: generate the subjects' key pairs and N CSRs in memory (PEM
 *     bytes, as a client would send them) and N approved enterprise
 *     enrollments (one company each), committed in chunks;
 *  3. timed: the workers take the enrollments in batches of B; for each
 *     they parse the CSR from its PEM bytes with oc_csr_parse (which
 *     verifies its self-signature) and issue the batch with
 *     oc_ca_issue_batch (B = 0: oc_ca_issue, one transaction per
 *     certificate).  A certificate counts once the call has returned it,
 *     i.e. once it is durably stored;
 *  4. untimed: check that the store holds N enterprise certificates, that
 *     one of them chains to the CA, and that the audit hash chain still
 *     verifies;
 *  5. timed, --sign-seconds S (default 3; 0 skips it): the CA signature
 *     alone, the part of a certificate that the token sets the price of.
 *     The TBS of one issued certificate is signed again and again by
 *     every thread for S seconds, first through each handle's signer
 *     process (what the engine pays: round trip, the signer's policy check,
 *     the token), then by the issuing key opened in this process the way
 *     the signer process opens it (oc__keys_open: the token's session copy
 *     of the key; for SM2 the unwrapped key in memory), one per thread.
 *     Every signature is checked once against the CA's public key before
 *     the timing starts.
 *
 * Prints one line that bench/run reads:
 *   result algo=ec ee_key=ecdsa-p256 ca_key=ecdsa-p256 n=… threads=… batch=…
 *          seconds=… certs_per_s=… cpu_seconds=… certs_per_cpu_s=…
 *          cpu_busy=… stored=… audit_rows=…
 *          remote_signs_per_s=… token_signs_per_s=… token_cpu_us=…
 * cpu_seconds is the CPU time the timed part took in this process (all
 * threads) and in its signer processes, certs_per_cpu_s = n / cpu_seconds;
 * cpu_busy is the share of all cores' time the machine spent busy during
 * the timed part (from /proc/stat).  Their difference is what something
 * else on the machine took meanwhile (bench/run's "other").
 *
 * Timing assertions do not belong in tests; this program is run by
 * `make bench` only.
 */
#include <dirent.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "onecert/ca.h"
#include "onecert/ident.h"
#include "onecert/log.h"
#include "onecert/pki.h"
#include "onecert/signer.h"
#include "onecert/store.h"
#include "ca/ca_int.h"

#define MAX_THREADS 16
#define ENROLL_CHUNK 1000

struct csr_pem {
	char *p;
	size_t len;
};

static struct {
	const char *dir;
	enum oc_algo algo;
	int n;
	int threads;
	int batch;
	int keys;
	int sign_seconds;
	bool quiet;
} opt = { .n = 0, .threads = 2, .batch = 256, .keys = 0, .sign_seconds = 3 };

static struct csr_pem *csrs;
static long long *enrollments;
static atomic_int next_item;
static atomic_int issued;
static atomic_int failures;
static pthread_barrier_t start_line;

static const struct oc_actor bench_actor = { "bench", "bench" };

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench_issue: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void __attribute__((noreturn))
die_err(const char *what, const struct oc_err *err)
{
	die("%s: %s%s%s", what, err->msg, err->detail[0] ? " | " : "", err->detail);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Busy and total jiffies of all cores, from the first line of /proc/stat. */
static void
cpu_sample(unsigned long long *busy, unsigned long long *total)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	*busy = *total = 0;
	if (f == NULL)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
	    &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
		for (int i = 0; i < 8; i++)
			*total += v[i];
		*busy = *total - v[3] - v[4];   /* minus idle and iowait */
	}
	fclose(f);
}

/* CPU seconds (user + system) of this process — every thread — and of its
 * children, the signer processes, which are still running: so read from
 * /proc rather than from RUSAGE_CHILDREN, which counts only the reaped. */
static double
cpu_seconds(void)
{
	struct rusage ru;
	double t = 0;
	long tck = sysconf(_SC_CLK_TCK);
	DIR *d;
	struct dirent *de;

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		t = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	if ((d = opendir("/proc/self/task")) == NULL)
		return t;
	while ((de = readdir(d)) != NULL) {
		char path[300];
		FILE *f;
		int pid;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/children", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fscanf(f, "%d", &pid) == 1) {
			char stat[1024], sp[64], *q;
			unsigned long ut = 0, st = 0;
			FILE *g;
			size_t n;

			snprintf(sp, sizeof(sp), "/proc/%d/stat", pid);
			if ((g = fopen(sp, "r")) == NULL)
				continue;
			n = fread(stat, 1, sizeof(stat) - 1, g);
			fclose(g);
			stat[n] = '\0';
			/* fields after "(comm)": state is 3rd, utime 14th, stime 15th */
			if ((q = strrchr(stat, ')')) != NULL &&
			    sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			    &ut, &st) == 2 && tck > 0)
				t += (double)(ut + st) / (double)tck;
		}
		fclose(f);
	}
	closedir(d);
	return t;
}

static const char *
key_name(enum oc_algo a, bool ca)
{
	switch (a) {
	case OC_ALGO_EC: return "ecdsa-p256";
	case OC_ALGO_SM2: return "sm2";
	case OC_ALGO_RSA: return ca ? "rsa3072" : "rsa2048";
	default: return "?";
	}
}

/* ---- untimed set-up ---- */

struct gen_arg {
	int first, step;
	EVP_PKEY **keys;
};

static void *
gen_keys(void *p)
{
	struct gen_arg *g = p;
	struct oc_err err;

	oc_err_clear(&err);
	for (int i = g->first; i < opt.keys; i += g->step)
		if ((g->keys[i] = oc_pkey_generate(opt.algo, 2048, &err)) == NULL)
			die_err("key generation", &err);
	return NULL;
}

static void *
gen_csrs(void *p)
{
	struct gen_arg *g = p;
	struct oc_err err;
	char cn[64];

	oc_err_clear(&err);
	for (int i = g->first; i < opt.n; i += g->step) {
		struct oc_signer *s;
		struct oc_cert_subject subj = { .c = "CN", .cn = cn };
		X509_REQ *req;
		BIO *mem;
		char *data;
		long len;

		snprintf(cn, sizeof(cn), "bench subject %d", i);
		if ((s = oc_signer_from_pkey(g->keys[i % opt.keys], &err)) == NULL ||
		    (req = oc_csr_build(&subj, s, &err)) == NULL)
			die_err("CSR", &err);
		if ((mem = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509_REQ(mem, req))
			die("cannot encode a CSR");
		len = BIO_get_mem_data(mem, &data);
		if ((csrs[i].p = malloc((size_t)len)) == NULL)
			die("out of memory");
		memcpy(csrs[i].p, data, (size_t)len);
		csrs[i].len = (size_t)len;
		BIO_free(mem);
		X509_REQ_free(req);
		oc_signer_free(s);
	}
	return NULL;
}

static void
make_csrs(void)
{
	pthread_t t[MAX_THREADS];
	struct gen_arg g[MAX_THREADS];
	EVP_PKEY **keys;
	int nt = (int)sysconf(_SC_NPROCESSORS_ONLN);

	if (nt < 1)
		nt = 1;
	if (nt > MAX_THREADS)
		nt = MAX_THREADS;
	if ((keys = calloc((size_t)opt.keys, sizeof(*keys))) == NULL ||
	    (csrs = calloc((size_t)opt.n, sizeof(*csrs))) == NULL)
		die("out of memory");
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < nt; i++) {
			g[i] = (struct gen_arg){ i, nt, keys };
			pthread_create(&t[i], NULL, pass == 0 ? gen_keys : gen_csrs, &g[i]);
		}
		for (int i = 0; i < nt; i++)
			pthread_join(t[i], NULL);
	}
	for (int i = 0; i < opt.keys; i++)
		EVP_PKEY_free(keys[i]);
	free(keys);
}

/* A valid, distinct USCC for company i: 91 (enterprise) 310115 (Pudong),
 * an organization code made of i, both check characters computed. */
static void
uscc_for(int i, char out[19])
{
	char org[16];

	snprintf(org, sizeof(org), "%08d", 20000000 + i % 10000000);
	org[8] = oc_orgcode_check_char(org);
	org[9] = '\0';
	memcpy(out, "91310115", 8);
	memcpy(out + 8, org, 9);
	out[17] = '\0';
	out[17] = oc_uscc_check_char(out);
	out[18] = '\0';
}

static void
make_enrollments(struct oc_ca *ca)
{
	struct oc_store *st = oc_ca_store(ca);
	struct oc_err err;
	char name[128], uscc[19];

	oc_err_clear(&err);
	if ((enrollments = calloc((size_t)opt.n, sizeof(*enrollments))) == NULL)
		die("out of memory");
	for (int i = 0; i < opt.n; i++) {
		struct oc_enroll_req r = {
			.profile = OC_PROFILE_ENTERPRISE, .name = name, .uscc = uscc,
			.legal_rep = "张三", .contact = "李四", .phone = "13800138000",
			.materials = "[\"营业执照\",\"申请表\"]",
		};

		/* Outer transactions batch the set-up's commits (store.h:
		 * transactions nest by counting). */
		if (i % ENROLL_CHUNK == 0 && oc_store_begin(st, &err) != 0)
			die_err("begin", &err);
		snprintf(name, sizeof(name), "上海基准测试第%06d建筑工程有限公司", i);
		uscc_for(i, uscc);
		if (oc_ca_enroll(ca, &bench_actor, &r, &enrollments[i], &err) != 0)
			die_err("enroll", &err);
		if (oc_ca_decide(ca, &bench_actor, enrollments[i], true, "bench", &err) != 0)
			die_err("approve", &err);
		if ((i + 1) % ENROLL_CHUNK == 0 || i + 1 == opt.n)
			if (oc_store_commit(st, &err) != 0)
				die_err("commit", &err);
	}
}

/* ---- the timed part ---- */

struct worker {
	struct oc_ca *ca;
	pthread_t t;
};

static void *
work(void *p)
{
	struct worker *w = p;
	struct oc_ca_batch_item *items;
	struct oc_err err;
	int b = opt.batch > 0 ? opt.batch : 1;

	if ((items = calloc((size_t)b, sizeof(*items))) == NULL)
		die("out of memory");
	pthread_barrier_wait(&start_line);
	for (;;) {
		int first = atomic_fetch_add(&next_item, b), m;

		if (first >= opt.n)
			break;
		m = opt.n - first < b ? opt.n - first : b;
		memset(items, 0, sizeof(*items) * (size_t)m);
		for (int j = 0; j < m; j++) {
			oc_err_clear(&err);
			items[j].enrollment = enrollments[first + j];
			items[j].csr = oc_csr_parse((const unsigned char *)csrs[first + j].p,
			    csrs[first + j].len, &err);
			if (items[j].csr == NULL)
				die_err("oc_csr_parse", &err);
		}
		if (opt.batch > 0) {
			int rc;

			oc_err_clear(&err);
			if ((rc = oc_ca_issue_batch(w->ca, &bench_actor, items, (size_t)m, &err)) < 0)
				die_err("oc_ca_issue_batch", &err);
			for (int j = 0; j < m; j++)
				if (items[j].cert == NULL) {
					atomic_fetch_add(&failures, 1);
					fprintf(stderr, "bench_issue: enrollment %lld: %s %s\n",
					    items[j].enrollment, items[j].err.msg, items[j].err.detail);
				}
			atomic_fetch_add(&issued, rc);
		} else {
			oc_err_clear(&err);
			items[0].cert = oc_ca_issue(w->ca, &bench_actor, items[0].enrollment,
			    items[0].csr, NULL, &err);
			if (items[0].cert == NULL)
				die_err("oc_ca_issue", &err);
			atomic_fetch_add(&issued, 1);
		}
		for (int j = 0; j < m; j++) {
			X509_free(items[j].cert);
			X509_REQ_free(items[j].csr);
		}
	}
	free(items);
	return NULL;
}

/* ---- checks after the clock stopped ---- */

struct count_arg {
	long long n;
	unsigned char *der;
	size_t der_len;
};

static int
count_cb(const struct oc_cert_rec *r, void *arg)
{
	struct count_arg *c = arg;

	if (strcmp(r->profile, "enterprise") != 0)
		return 0;
	if (c->der == NULL && r->der != NULL) {
		if ((c->der = malloc(r->der_len)) == NULL)
			return OC_ENOMEM;
		memcpy(c->der, r->der, r->der_len);
		c->der_len = r->der_len;
	}
	c->n++;
	return 0;
}

/* The leaf's to-be-signed bytes are put in *tbs (caller frees). */
static void
check_store(struct oc_ca *ca, long long *stored, long long *audit_rows,
    unsigned char **tbs, size_t *tbslen)
{
	struct oc_cert_filter f = { .with_der = true };
	struct count_arg c = { 0, NULL, 0 };
	STACK_OF(X509) *anchors = sk_X509_new_null(), *untrusted = sk_X509_new_null();
	struct oc_err err;
	X509 *leaf;

	oc_err_clear(&err);
	if (oc_store_cert_list(oc_ca_store(ca), &f, count_cb, &c, &err) != 0)
		die_err("listing the certificates", &err);
	*stored = c.n;
	if (c.der == NULL)
		die("the store holds no certificate");
	if ((leaf = oc_cert_parse(c.der, c.der_len, &err)) == NULL)
		die_err("a stored certificate", &err);
	sk_X509_push(anchors, oc_ca_get0_root(ca));
	sk_X509_push(untrusted, oc_ca_get0_issuing(ca));
	if (oc_chain_verify(leaf, untrusted, anchors, NULL, 0, 0, &err) != 0)
		die_err("a stored certificate does not chain to the CA", &err);
	{
		unsigned char *p = NULL;
		int n = i2d_re_X509_tbs(leaf, &p);

		if (n <= 0)
			die("cannot encode a stored certificate's TBS");
		*tbs = malloc((size_t)n);
		if (*tbs == NULL)
			die("out of memory");
		memcpy(*tbs, p, (size_t)n);
		*tbslen = (size_t)n;
		OPENSSL_free(p);
	}
	X509_free(leaf);
	free(c.der);
	sk_X509_free(anchors);
	sk_X509_free(untrusted);
	if (oc_store_audit_verify(oc_ca_store(ca), audit_rows, &err) != 0)
		die_err("audit chain", &err);
}

/* ---- 5. the CA signature alone ---- */

struct signing {
	pthread_t t;
	struct oc_signer *s;
	const unsigned char *tbs;
	size_t tbslen;
	double until;
	long n;
};

static void *
sign_loop(void *arg)
{
	struct signing *g = arg;
	struct oc_err err;

	pthread_barrier_wait(&start_line);
	while (now_s() < g->until) {
		unsigned char *sig = NULL;
		size_t siglen = 0;

		oc_err_clear(&err);
		if (oc_signer_sign(g->s, g->tbs, g->tbslen, &sig, &siglen, &err) != 0)
			die_err("signing the TBS", &err);
		OPENSSL_free(sig);
		g->n++;
	}
	return NULL;
}

/* Signatures per second by opt.threads threads, signer i on thread i, for
 * opt.sign_seconds; *cpu_us gets the CPU time (this process and its
 * children) per signature. */
static double
sign_rate(struct oc_signer **signers, EVP_PKEY *pub, const unsigned char *tbs,
    size_t tbslen, double *cpu_us)
{
	struct signing g[MAX_THREADS];
	struct oc_err err;
	double start, secs, cpu0;
	long total = 0;

	for (int i = 0; i < opt.threads; i++) {
		unsigned char *sig = NULL;
		size_t siglen = 0;

		oc_err_clear(&err);
		if (oc_signer_sign(signers[i], tbs, tbslen, &sig, &siglen, &err) != 0)
			die_err("signing the TBS", &err);
		if (oc_verify_tbs(pub, tbs, tbslen, sig, siglen, &err) != 0)
			die_err("the signature does not verify", &err);
		OPENSSL_free(sig);
	}
	pthread_barrier_destroy(&start_line);
	pthread_barrier_init(&start_line, NULL, (unsigned)opt.threads + 1);
	cpu0 = cpu_seconds();
	start = now_s();
	for (int i = 0; i < opt.threads; i++) {
		g[i] = (struct signing){ .s = signers[i], .tbs = tbs, .tbslen = tbslen,
		    .until = start + opt.sign_seconds };
		pthread_create(&g[i].t, NULL, sign_loop, &g[i]);
	}
	pthread_barrier_wait(&start_line);
	for (int i = 0; i < opt.threads; i++) {
		pthread_join(g[i].t, NULL);
		total += g[i].n;
	}
	secs = now_s() - start;
	*cpu_us = total > 0 ? (cpu_seconds() - cpu0) * 1e6 / (double)total : 0.0;
	return (double)total / secs;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: bench_issue --dir DIR [--algo ec|sm2|rsa] [--count N]\n"
	    "                   [--threads T] [--batch B] [--keys K] [--quiet]\n"
	    "  --dir      CA directory; created (CA keys on SoftHSM2) if it holds no CA\n"
	    "  --algo     algorithm of a new CA (an existing one keeps its own)\n"
	    "  --count    certificates to issue (default: 20000 ec, 3000 sm2, 1500 rsa)\n"
	    "  --threads  worker threads, each with its own CA handle (default 2)\n"
	    "  --batch    certificates per oc_ca_issue_batch call (default 256);\n"
	    "             0 = oc_ca_issue, one transaction per certificate\n"
	    "  --keys     distinct subject key pairs (default: one per CSR; 64 for RSA)\n"
	    "  --sign-seconds  seconds of the CA-signature-only runs (default 3; 0: none)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "algo", required_argument, NULL, 'a' },
		{ "count", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "batch", required_argument, NULL, 'b' },
		{ "keys", required_argument, NULL, 'k' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "sign-seconds", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct worker w[MAX_THREADS];
	struct oc_err err;
	char path[4096];
	unsigned long long b0, t0, b1, t1;
	long long stored = 0, audit_rows = 0;
	double start, secs, cpu0, cpu;
	double remote_rate = 0, remote_us = 0, token_rate = 0, token_us = 0;
	unsigned char *tbs = NULL;
	size_t tbslen = 0;
	int c;

	opt.algo = OC_ALGO_NONE;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'd': opt.dir = optarg; break;
		case 'a':
			if (oc_algo_parse(optarg, &opt.algo) != 0)
				usage();
			break;
		case 'n': opt.n = atoi(optarg); break;
		case 't': opt.threads = atoi(optarg); break;
		case 'b': opt.batch = atoi(optarg); break;
		case 'k': opt.keys = atoi(optarg); break;
		case 'q': opt.quiet = true; break;
		case 's': opt.sign_seconds = atoi(optarg); break;
		default: usage();
		}
	}
	if (opt.dir == NULL || opt.threads < 1 || opt.threads > MAX_THREADS ||
	    opt.batch < 0 || opt.batch > OC_CA_BATCH_MAX || opt.n < 0 || opt.keys < 0 ||
	    opt.sign_seconds < 0)
		usage();
	oc_log_set_level(OC_LOG_WARN);
	oc_err_clear(&err);

	snprintf(path, sizeof(path), "%s/ca.ini", opt.dir);
	if (access(path, F_OK) != 0) {
		struct oc_ca_init_opts io = { .dir = opt.dir, .algo = opt.algo,
		    .actor = "bench" };

		if (opt.algo == OC_ALGO_NONE)
			die("%s holds no CA: say --algo to create one", opt.dir);
		if (oc_ca_init(&io, &err) != 0)
			die_err("oc_ca_init", &err);
	}
	/* Every handle before any thread: oc_ca_open forks the signer. */
	for (int i = 0; i < opt.threads; i++)
		if ((w[i].ca = oc_ca_open(opt.dir, &err)) == NULL)
			die_err("oc_ca_open", &err);
	opt.algo = oc_ca_algo(w[0].ca);
	if (opt.n == 0)
		opt.n = opt.algo == OC_ALGO_EC ? 20000 : opt.algo == OC_ALGO_SM2 ? 3000 : 1500;
	if (opt.keys == 0 || opt.keys > opt.n)
		opt.keys = opt.algo == OC_ALGO_RSA && opt.n > 64 ? 64 : opt.n;

	if (!opt.quiet)
		fprintf(stderr, "bench_issue: %s: %d CSRs (%d key pairs), %d enrollments...\n",
		    oc_algo_name(opt.algo), opt.n, opt.keys, opt.n);
	start = now_s();
	make_csrs();
	if (!opt.quiet)
		fprintf(stderr, "bench_issue: CSRs made in %.1f s\n", now_s() - start);
	start = now_s();
	make_enrollments(w[0].ca);
	if (!opt.quiet)
		fprintf(stderr, "bench_issue: enrollments made in %.1f s; issuing with %d threads, "
		    "batches of %d...\n", now_s() - start, opt.threads, opt.batch);

	pthread_barrier_init(&start_line, NULL, (unsigned)opt.threads + 1);
	for (int i = 0; i < opt.threads; i++)
		pthread_create(&w[i].t, NULL, work, &w[i]);
	cpu_sample(&b0, &t0);
	cpu0 = cpu_seconds();
	start = now_s();
	pthread_barrier_wait(&start_line);
	for (int i = 0; i < opt.threads; i++)
		pthread_join(w[i].t, NULL);
	secs = now_s() - start;
	cpu = cpu_seconds() - cpu0;
	cpu_sample(&b1, &t1);
	if (atomic_load(&failures) != 0 || atomic_load(&issued) != opt.n)
		die("%d of %d certificates issued", atomic_load(&issued), opt.n);

	check_store(w[0].ca, &stored, &audit_rows, &tbs, &tbslen);
	if (stored < opt.n)
		die("the store holds %lld enterprise certificates, expected at least %d",
		    stored, opt.n);
	if (opt.sign_seconds > 0) {
		struct oc_signer *rs[MAX_THREADS];
		struct oc__keys keys[MAX_THREADS];
		struct oc_signer *ts[MAX_THREADS];
		struct oc_config *cfg;
		EVP_PKEY *pub = X509_get0_pubkey(oc_ca_get0_issuing(w[0].ca));

		if (!opt.quiet)
			fprintf(stderr, "bench_issue: the CA signature alone, %d s through the "
			    "signer processes, %d s in this process...\n",
			    opt.sign_seconds, opt.sign_seconds);
		for (int i = 0; i < opt.threads; i++)
			rs[i] = oc_ca_signer(w[i].ca, "issuing");
		remote_rate = sign_rate(rs, pub, tbs, tbslen, &remote_us);
		snprintf(path, sizeof(path), "%s/ca.ini", opt.dir);
		if ((cfg = oc_config_load(path, &err)) == NULL)
			die_err("ca.ini", &err);
		for (int i = 0; i < opt.threads; i++) {
			if (oc__keys_open(opt.dir, cfg, &keys[i], &err) != 0)
				die_err("opening the CA keys", &err);
			ts[i] = keys[i].s[OC_KEY_ISSUING];
		}
		token_rate = sign_rate(ts, pub, tbs, tbslen, &token_us);
		for (int i = 0; i < opt.threads; i++)
			oc__keys_close(&keys[i]);
		oc_config_free(cfg);
	}
	printf("result algo=%s ee_key=%s ca_key=%s n=%d threads=%d batch=%d "
	    "seconds=%.3f certs_per_s=%.1f cpu_seconds=%.3f certs_per_cpu_s=%.1f "
	    "cpu_busy=%.2f stored=%lld audit_rows=%lld "
	    "remote_signs_per_s=%.1f remote_cpu_us=%.1f token_signs_per_s=%.1f "
	    "token_cpu_us=%.1f\n",
	    oc_algo_name(opt.algo), key_name(opt.algo, false), key_name(opt.algo, true),
	    opt.n, opt.threads, opt.batch, secs, opt.n / secs, cpu,
	    cpu > 0 ? opt.n / cpu : 0.0,
	    t1 > t0 ? (double)(b1 - b0) / (double)(t1 - t0) : 0.0, stored, audit_rows,
	    remote_rate, remote_us, token_rate, token_us);
	free(tbs);
	for (int i = 0; i < opt.threads; i++)
		oc_ca_close(w[i].ca);
	for (int i = 0; i < opt.n; i++)
		free(csrs[i].p);
	free(csrs);
	free(enrollments);
	return 0;
}
