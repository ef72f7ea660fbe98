/*
 * test_forms.c — the paper side of activation: field digests, QR payloads
 * and verdicts, the PDF form, and the scan check.
 *
 * The digest and payload vectors were computed outside this code base
 * (python3 hashlib/hmac over the same bytes) before being written here.
 * The PDF is judged by poppler, as an applicant's viewer would read it:
 * pdftotext must find the title and Chinese field values, pdffonts the
 * embedded CJK font.  The round trip is the applicant's: the PDF rasterized
 * by pdftoppm to a 100 dpi JPEG of quality 75 (a plain office scan), under
 * 200 KB, read back by oc_scan_check, its QR code judged a match.  The
 * payloads the hall stores with a scan (oc_hall_app_put_scan2), read back
 * from the database, are judged as the decoded ones are: match, stale,
 * other, forged, none.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onecert/buf.h"
#include "onecert/forms.h"
#include "onecert/hall_store.h"

#define SCAN_MAX (200 * 1024)

static char tmpdir[4096];

static const unsigned char key[32] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
};

/* python3: sha256("企业名称\0上海申城建设工程有限公司\0联系电话\013812345678\0") */
static const struct oc_form_field two_fields[] = {
	{ "企业名称", "上海申城建设工程有限公司" },
	{ "联系电话", "13812345678" },
};
#define TWO_DIGEST \
	"851ccac14bfd002568f5ee989f6e9bf99a378086098f4f6800b0fdfe3acc06ca"
#define TWO_PAYLOAD_42 "OC1-42-851CCAC14BFD0025-07E765CA88425EA29B35C32F73561561"
#define TWO_PAYLOAD_MAX "OC1-9223372036854775807-851CCAC14BFD0025-" \
	"1AACB7836C9CD26E054C64B191EB854F"

/* What the hall prefills for 开通 (SPEC §4.2 step 3). */
static const struct oc_form_field open_fields[] = {
	{ "企业名称", "上海申城建设工程有限公司" },
	{ "机构代码证", "MA1FL8XY7" },
	{ "证书唯一标识码", "SH-ONECERT-0000000000123456" },
	{ "证书序列号", "4F2A9C0E7B61D3580A1C2E4F6B8D0A1C3E5F7A9B" },
	{ "有效期至", "2027年3月31日" },
	{ "企业法定代表人", "张建国" },
	{ "营业执照注册号（或事业单位证书号、社团编号）", "91310115MA1FL8XY7N" },
	{ "联系人", "李晓梅" },
	{ "联系电话", "13812345678" },
	{ "拟设为主数字证书的介质单号（硬件背面）", "SK2025-00012345" },
	{ "单位地址", "上海市浦东新区张江高科技园区碧波路690号3号楼5层501室"
	    "（近张衡路，入口在园区东门，访客请在一楼前台登记后乘坐电梯上楼）" },
};
#define N_OPEN (sizeof(open_fields) / sizeof(open_fields[0]))

/* A 1×1 PNG, by hand: signature, IHDR, IDAT, IEND. */
static const unsigned char tiny_png[] = {
	0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d,
	0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
	0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00,
	0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
	0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49,
	0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
};

/* Assert rc == code and that the message contains want. */
#define assert_fails_with(call, want_rc, err, want) do {                 \
	oc_err_clear(&(err));                                            \
	assert_int_equal((call), (want_rc));                             \
	assert_int_equal((err).code, (want_rc));                          \
	if (strstr((err).msg, (want)) == NULL)                           \
		fail_msg("message \"%s\" lacks \"%s\"", (err).msg, (want)); \
} while (0)

/*
 * fontconfig leaks a few hundred bytes once per process while it parses
 * its configuration (Debian 12's 2.14.1, on pango's font-loading thread:
 * the same 288 bytes after 1 or 500 renders).  Not ours and not growing,
 * so LeakSanitizer is told to let that library be; any leak of our own
 * still fails the ASan build.
 */
const char *__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:libfontconfig.so\n";
}

/* --- helpers ------------------------------------------------------------ */

static void
path_of(char *out, size_t cap, const char *name)
{
	assert_true((size_t)snprintf(out, cap, "%s/%s", tmpdir, name) < cap);
}

static void
write_file(const char *name, const void *data, size_t len)
{
	char path[4200];
	FILE *f;

	path_of(path, sizeof(path), name);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
read_file(const char *name, struct oc_buf *b)
{
	char path[4200];

	path_of(path, sizeof(path), name);
	oc_buf_init(b, 64 * 1024 * 1024);
	if (oc_buf_read_file(b, path) != 0)
		fail_msg("cannot read %s", path);
}

/* Run a shell command in tmpdir; fail the test when it fails. */
static void
run(const char *fmt, ...)
{
	char cmd[8192], full[8192 + 4200];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(cmd));
	snprintf(full, sizeof(full), "cd '%s' && %s", tmpdir, cmd);
	if (system(full) != 0)
		fail_msg("command failed: %s", full);
}

/* The page count in pdfinfo's output. */
static int
pages(const struct oc_buf *info)
{
	const char *p = strstr((const char *)info->p, "\nPages:");
	int n = -1;

	if (p == NULL || sscanf(p + 7, " %d", &n) != 1)
		fail_msg("no page count in pdfinfo's output");
	return n;
}

/* The form of an application: payload for app_id over fields. */
static void
make_form(struct oc_form *form, char payload[128], enum oc_form_kind kind,
    long long app_id, const struct oc_form_field *fields, size_t n)
{
	char digest[65];
	struct oc_err err;

	oc_form_digest(fields, n, digest);
	assert_int_equal(strlen(digest), 64);
	assert_int_equal(oc_form_qr_payload(key, sizeof(key), app_id, digest,
	    payload, 128, &err), 0);
	memset(form, 0, sizeof(*form));
	form->kind = kind;
	form->app_id = app_id;
	form->fields = fields;
	form->n_fields = n;
	form->created = 1741314600;       /* 2025-03-07 10:30 CST */
	form->qr_payload = payload;
}

/* Render the 开通 form of application 20250307 into name (a PDF file). */
static void
render_pdf(const char *name)
{
	struct oc_form form;
	struct oc_buf pdf;
	struct oc_err err;
	char payload[128];

	make_form(&form, payload, OC_FORM_MAIN_OPEN, 20250307, open_fields,
	    N_OPEN);
	oc_buf_init(&pdf, 8 * 1024 * 1024);
	oc_err_clear(&err);
	if (oc_form_pdf(&form, &pdf, &err) != 0)
		fail_msg("oc_form_pdf: %s", err.msg);
	write_file(name, pdf.p, pdf.len);
	oc_buf_cleanup(&pdf);
}

/* The applicant's scan: form.pdf at 100 dpi, JPEG quality 75, with extra
 * pdftoppm options (a crop); read into b. */
static void
scan_jpeg(const char *opts, const char *name, struct oc_buf *b)
{
	char prefix[256];

	snprintf(prefix, sizeof(prefix), "%.*s", (int)(strlen(name) - 4), name);
	render_pdf("form.pdf");
	run("pdftoppm -jpeg -r 100 -jpegopt quality=75 -singlefile %s "
	    "form.pdf '%s'", opts, prefix);
	read_file(name, b);
}

/* --- digests, payloads, verdicts ---------------------------------------- */

static void
digest_vectors(void **state)
{
	static const struct oc_form_field ab_c[] = { { "ab", "c" } };
	static const struct oc_form_field a_bc[] = { { "a", "bc" } };
	char hex[65];

	(void)state;
	oc_form_digest(NULL, 0, hex);
	assert_string_equal(hex,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	oc_form_digest(two_fields, 2, hex);
	assert_string_equal(hex, TWO_DIGEST);
	/* The NULs keep ("ab","c") and ("a","bc") apart. */
	oc_form_digest(ab_c, 1, hex);
	assert_string_equal(hex,
	    "629c2f14f654f026086f2aefe1855533d0897f49df86a19073be17b237361b09");
	oc_form_digest(a_bc, 1, hex);
	assert_string_equal(hex,
	    "aa795aa4bbb6117911ef062e271bcb05ccfd58ea439da7d46a44e3a3fcefa790");
	/* Order matters. */
	{
		const struct oc_form_field swapped[] = { two_fields[1],
		    two_fields[0] };

		oc_form_digest(swapped, 2, hex);
		assert_string_not_equal(hex, TWO_DIGEST);
	}
}

static void
payload_vectors(void **state)
{
	char out[128], small[56], bad[65];
	struct oc_err err;

	(void)state;
	assert_int_equal(oc_form_qr_payload(key, sizeof(key), 42, TWO_DIGEST,
	    out, sizeof(out), &err), 0);
	assert_string_equal(out, TWO_PAYLOAD_42);
	/* The digest may come in either case; the payload is upper-case. */
	{
		char up[65];

		for (size_t i = 0; i < 65; i++)
			up[i] = (char)(TWO_DIGEST[i] >= 'a' && TWO_DIGEST[i] <= 'f' ?
			    TWO_DIGEST[i] - 32 : TWO_DIGEST[i]);
		assert_int_equal(oc_form_qr_payload(key, sizeof(key), 42, up,
		    out, sizeof(out), &err), 0);
		assert_string_equal(out, TWO_PAYLOAD_42);
	}
	/* The largest ID still fits the documented format. */
	assert_int_equal(oc_form_qr_payload(key, sizeof(key), 9223372036854775807LL,
	    TWO_DIGEST, out, sizeof(out), &err), 0);
	assert_string_equal(out, TWO_PAYLOAD_MAX);
	/* Alphanumeric QR set only. */
	for (const char *p = out; *p != '\0'; p++)
		assert_true((*p >= '0' && *p <= '9') || (*p >= 'A' &&
		    *p <= 'Z') || *p == '-');

	assert_fails_with(oc_form_qr_payload(key, sizeof(key), 0, TWO_DIGEST,
	    out, sizeof(out), &err), OC_EINVAL, err, "申请编号");
	assert_string_equal(out, "");
	assert_fails_with(oc_form_qr_payload(key, sizeof(key), -7, TWO_DIGEST,
	    out, sizeof(out), &err), OC_EINVAL, err, "positive");
	/* 63 digits; a non-hex digit. */
	memcpy(bad, TWO_DIGEST, sizeof(bad));
	bad[63] = '\0';
	assert_fails_with(oc_form_qr_payload(key, sizeof(key), 42, bad, out,
	    sizeof(out), &err), OC_EINVAL, err, "64 hex");
	bad[63] = 'g';
	assert_fails_with(oc_form_qr_payload(key, sizeof(key), 42, bad, out,
	    sizeof(out), &err), OC_EINVAL, err, "摘要");
	assert_fails_with(oc_form_qr_payload(key, 8, 42, TWO_DIGEST, out,
	    sizeof(out), &err), OC_EINVAL, err, "at least 16 bytes");
	assert_fails_with(oc_form_qr_payload(NULL, 0, 42, TWO_DIGEST, out,
	    sizeof(out), &err), OC_EINVAL, err, "密钥");
	assert_fails_with(oc_form_qr_payload(key, sizeof(key), 42, TWO_DIGEST,
	    small, sizeof(small), &err), OC_EINVAL, err, "57 bytes");
	assert_string_equal(small, "");
}

static enum oc_qr_verdict
judge1(const unsigned char *k, size_t klen, long long app, const char *digest,
    const char *payload)
{
	const char *const list[] = { payload };

	return oc_form_qr_judge(k, klen, app, digest, list, 1);
}

static void
judge_vectors(void **state)
{
	static const char *const forged[] = {
		"",
		"hello",
		"https://example.com/OC1-42",
		/* truncated, one character short, one too many */
		"OC1-42-851CCAC14BFD0025-07E765CA88425EA2",
		"OC1-42-851CCAC14BFD0025-07E765CA88425EA29B35C32F7356156",
		"OC1-42-851CCAC14BFD0025-07E765CA88425EA29B35C32F735615610",
		/* one MAC digit changed */
		"OC1-42-851CCAC14BFD0025-07E765CA88425EA29B35C32F73561560",
		/* lower case, spaces, signs, leading zeros, other versions */
		"oc1-42-851ccac14bfd0025-07e765ca88425ea29b35c32f73561561",
		"OC1-42-851CCAC14BFD0025-07e765ca88425ea29b35c32f73561561",
		"OC1-42-851CCAC14BFD0025-07E765CA88425EA29B35C32F73561561 ",
		" OC1-42-851CCAC14BFD0025-07E765CA88425EA29B35C32F73561561",
		"OC1-+42-851CCAC14BFD0025-07E765CA88425EA29B35C32F73561561",
		"OC1-042-851CCAC14BFD0025-07E765CA88425EA29B35C32F73561561",
		"OC1-0-851CCAC14BFD0025-07E765CA88425EA29B35C32F73561561",
		"OC1--42-851CCAC14BFD0025-07E765CA88425EA29B35C32F73561561",
		"OC2-42-851CCAC14BFD0025-07E765CA88425EA29B35C32F73561561",
		"OC1-42-851CCAC14BFD0025\n07E765CA88425EA29B35C32F73561561",
		/* an ID beyond long long */
		"OC1-92233720368547758070-851CCAC14BFD0025-"
		"1AACB7836C9CD26E054C64B191EB854F",
		"OC1-99999999999999999999-851CCAC14BFD0025-"
		"1AACB7836C9CD26E054C64B191EB854F",
	};
	static const unsigned char other_key[32] = { 1 };
	const char *many[4];
	char stale_digest[65], other[128], not_digest[65] = "zz";
	struct oc_err err;

	(void)state;
	/* match */
	assert_int_equal(judge1(key, sizeof(key), 42, TWO_DIGEST,
	    TWO_PAYLOAD_42), OC_QR_MATCH);
	assert_int_equal(judge1(key, sizeof(key), 9223372036854775807LL,
	    TWO_DIGEST, TWO_PAYLOAD_MAX), OC_QR_MATCH);
	/* stale: this application, the fields changed since printing */
	memcpy(stale_digest, TWO_DIGEST, sizeof(stale_digest));
	stale_digest[3] = 'd';
	assert_int_equal(judge1(key, sizeof(key), 42, stale_digest,
	    TWO_PAYLOAD_42), OC_QR_STALE);
	/* other: our MAC, another application */
	assert_int_equal(judge1(key, sizeof(key), 43, TWO_DIGEST,
	    TWO_PAYLOAD_42), OC_QR_OTHER);
	assert_int_equal(judge1(key, sizeof(key), 42, TWO_DIGEST,
	    TWO_PAYLOAD_MAX), OC_QR_OTHER);
	/* forged: another key, garbage, truncated, not exactly the format */
	assert_int_equal(judge1(other_key, sizeof(other_key), 42, TWO_DIGEST,
	    TWO_PAYLOAD_42), OC_QR_FORGED);
	assert_int_equal(judge1(key, 0, 42, TWO_DIGEST, TWO_PAYLOAD_42),
	    OC_QR_FORGED);
	for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++)
		if (judge1(key, sizeof(key), 42, TWO_DIGEST, forged[i]) !=
		    OC_QR_FORGED)
			fail_msg("not judged forged: \"%s\"", forged[i]);
	/* A payload made with another key for this very application. */
	assert_int_equal(oc_form_qr_payload(other_key, sizeof(other_key), 42,
	    TWO_DIGEST, other, sizeof(other), &err), 0);
	assert_int_equal(judge1(key, sizeof(key), 42, TWO_DIGEST, other),
	    OC_QR_FORGED);
	/* none */
	assert_int_equal(oc_form_qr_judge(key, sizeof(key), 42, TWO_DIGEST,
	    NULL, 0), OC_QR_NONE);
	assert_int_equal(oc_form_qr_judge(key, sizeof(key), 42, TWO_DIGEST,
	    many, 0), OC_QR_NONE);
	/* The best over several: match > stale > other > forged. */
	many[0] = "garbage";
	many[1] = TWO_PAYLOAD_MAX;                  /* other */
	assert_int_equal(oc_form_qr_judge(key, sizeof(key), 42, TWO_DIGEST,
	    many, 2), OC_QR_OTHER);
	many[2] = TWO_PAYLOAD_42;
	assert_int_equal(oc_form_qr_judge(key, sizeof(key), 42, stale_digest,
	    many, 3), OC_QR_STALE);
	many[3] = "OC1-42-851CCAC14BFD0025-00000000000000000000000000000000";
	assert_int_equal(oc_form_qr_judge(key, sizeof(key), 42, TWO_DIGEST,
	    many, 4), OC_QR_MATCH);
	/* A digest that is no digest never matches (the buffer is the
	 * declared 65 bytes; the text in it is short). */
	assert_int_equal(judge1(key, sizeof(key), 42, not_digest, TWO_PAYLOAD_42),
	    OC_QR_STALE);

	assert_string_equal(oc_qr_verdict_name(OC_QR_NONE), "none");
	assert_string_equal(oc_qr_verdict_name(OC_QR_MATCH), "match");
	assert_string_equal(oc_qr_verdict_name(OC_QR_OTHER), "other");
	assert_string_equal(oc_qr_verdict_name(OC_QR_STALE), "stale");
	assert_string_equal(oc_qr_verdict_name(OC_QR_FORGED), "forged");
	assert_string_equal(oc_qr_verdict_name((enum oc_qr_verdict)99),
	    "unknown");
}

/* --- the PDF ------------------------------------------------------------ */

static void
pdf_renders(void **state)
{
	struct oc_form form;
	struct oc_buf pdf, again, txt, fonts;
	struct oc_err err;
	char payload[128];

	(void)state;
	make_form(&form, payload, OC_FORM_MAIN_OPEN, 20250307, open_fields,
	    N_OPEN);
	oc_buf_init(&pdf, 8 * 1024 * 1024);
	oc_buf_init(&again, 8 * 1024 * 1024);
	assert_int_equal(oc_form_pdf(&form, &pdf, &err), 0);
	assert_true(pdf.len > 1000);
	assert_memory_equal(pdf.p, "%PDF-", 5);
	/* A pure function of the form: the same bytes twice. */
	assert_int_equal(oc_form_pdf(&form, &again, &err), 0);
	assert_int_equal(again.len, pdf.len);
	assert_memory_equal(again.p, pdf.p, pdf.len);
	write_file("open.pdf", pdf.p, pdf.len);

	run("pdftotext -enc UTF-8 open.pdf open.txt");
	run("pdffonts open.pdf > open.fonts");
	run("pdfinfo open.pdf > open.info");
	read_file("open.txt", &txt);
	read_file("open.fonts", &fonts);
	assert_non_null(strstr((char *)txt.p,
	    "《上海市建筑建材业网上办事大厅主数字证书开通申请表》"));
	assert_non_null(strstr((char *)txt.p, "上海申城建设工程有限公司"));
	assert_non_null(strstr((char *)txt.p, "张建国"));
	assert_non_null(strstr((char *)txt.p, "91310115MA1FL8XY7N"));
	assert_non_null(strstr((char *)txt.p, "20250307"));
	assert_non_null(strstr((char *)txt.p, "2025年3月7日"));
	assert_non_null(strstr((char *)txt.p, "法定代表人（签字）"));
	assert_non_null(strstr((char *)txt.p, "单位（盖章）"));
	assert_non_null(strstr((char *)txt.p, "说明"));
	assert_non_null(strstr((char *)txt.p, "200KB"));
	/* The CJK font is embedded (a subset), not left to the viewer. */
	assert_non_null(strstr((char *)fonts.p, "WenQuanYi"));
	oc_buf_cleanup(&txt);
	read_file("open.info", &txt);
	assert_int_equal(pages(&txt), 1);
	assert_non_null(strstr((char *)txt.p, "595.28 x 841.89"));
	oc_buf_cleanup(&txt);
	oc_buf_cleanup(&fonts);

	/* Appended: what the buffer held stays in front. */
	oc_buf_reset(&again);
	assert_int_equal(oc_buf_adds(&again, "xyz"), 0);
	assert_int_equal(oc_form_pdf(&form, &again, &err), 0);
	assert_int_equal(again.len, pdf.len + 3);
	assert_memory_equal(again.p, "xyz%PDF-", 8);
	oc_buf_cleanup(&pdf);
	oc_buf_cleanup(&again);
}

static void
pdf_update_and_pages(void **state)
{
	struct oc_form_field many[40];
	struct oc_form form;
	struct oc_buf pdf, txt;
	struct oc_err err;
	char payload[128], labels[40][32];

	(void)state;
	make_form(&form, payload, OC_FORM_MAIN_UPDATE, 7, two_fields, 2);
	oc_buf_init(&pdf, 8 * 1024 * 1024);
	assert_int_equal(oc_form_pdf(&form, &pdf, &err), 0);
	write_file("update.pdf", pdf.p, pdf.len);
	run("pdftotext -enc UTF-8 update.pdf update.txt");
	read_file("update.txt", &txt);
	assert_non_null(strstr((char *)txt.p,
	    "《上海市建筑建材业网上办事大厅主数字证书更新申请表》"));
	assert_null(strstr((char *)txt.p, "开通申请表"));
	assert_non_null(strstr((char *)txt.p, "注销"));
	oc_buf_cleanup(&txt);

	/* Forty fields run onto a second page, each field printed. */
	for (size_t i = 0; i < 40; i++) {
		snprintf(labels[i], sizeof(labels[i]), "第%zu项", i + 1);
		many[i].label = labels[i];
		many[i].value = open_fields[i % N_OPEN].value;
	}
	make_form(&form, payload, OC_FORM_MAIN_OPEN, 8, many, 40);
	oc_buf_reset(&pdf);
	assert_int_equal(oc_form_pdf(&form, &pdf, &err), 0);
	write_file("many.pdf", pdf.p, pdf.len);
	run("pdftotext -enc UTF-8 many.pdf many.txt");
	run("pdfinfo many.pdf > many.info");
	read_file("many.txt", &txt);
	assert_non_null(strstr((char *)txt.p, "第1项"));
	assert_non_null(strstr((char *)txt.p, "第40项"));
	assert_non_null(strstr((char *)txt.p, "第 2"));
	oc_buf_cleanup(&txt);
	read_file("many.info", &txt);
	assert_int_equal(pages(&txt), 2);
	oc_buf_cleanup(&txt);
	oc_buf_cleanup(&pdf);
}

static void
pdf_bad_input(void **state)
{
	static const struct oc_form_field bad_utf8[] = {
		{ "企业名称", "\xe4\xb8" },
	};
	struct oc_form form;
	struct oc_buf pdf;
	struct oc_err err;
	char payload[128];

	(void)state;
	oc_buf_init(&pdf, 8 * 1024 * 1024);
	make_form(&form, payload, OC_FORM_MAIN_OPEN, 42, two_fields, 2);
	form.n_fields = 0;
	assert_fails_with(oc_form_pdf(&form, &pdf, &err), OC_EINVAL, err,
	    "no fields");
	form.n_fields = 2;
	form.fields = NULL;
	assert_fails_with(oc_form_pdf(&form, &pdf, &err), OC_EINVAL, err,
	    "no fields");
	form.fields = two_fields;
	form.qr_payload = NULL;
	assert_fails_with(oc_form_pdf(&form, &pdf, &err), OC_EINVAL, err,
	    "QR payload");
	form.qr_payload = "";
	assert_fails_with(oc_form_pdf(&form, &pdf, &err), OC_EINVAL, err,
	    "QR payload");
	form.qr_payload = payload;
	form.kind = (enum oc_form_kind)3;
	assert_fails_with(oc_form_pdf(&form, &pdf, &err), OC_EINVAL, err,
	    "kind");
	form.kind = OC_FORM_MAIN_OPEN;
	form.fields = bad_utf8;
	form.n_fields = 1;
	assert_fails_with(oc_form_pdf(&form, &pdf, &err), OC_EINVAL, err,
	    "UTF-8");
	assert_int_equal(pdf.len, 0);
	oc_buf_cleanup(&pdf);

	/* A buffer too small for the PDF: OC_ETOOBIG and nothing appended. */
	form.fields = two_fields;
	form.n_fields = 2;
	oc_buf_init(&pdf, 4096);
	assert_int_equal(oc_buf_adds(&pdf, "keep"), 0);
	assert_fails_with(oc_form_pdf(&form, &pdf, &err), OC_ETOOBIG, err,
	    "PDF");
	assert_int_equal(pdf.len, 4);
	assert_string_equal((char *)pdf.p, "keep");
	oc_buf_cleanup(&pdf);
}

/* --- scans -------------------------------------------------------------- */

static void
round_trip(void **state)
{
	struct oc_scan_info info;
	struct oc_buf jpg;
	struct oc_err err;
	char digest[65], stale[65];
	const char *found[4];

	(void)state;
	scan_jpeg("", "scan.jpg", &jpg);
	if (jpg.len > SCAN_MAX)
		fail_msg("the 100 dpi scan is %zu bytes, over 200 KB", jpg.len);
	oc_err_clear(&err);
	if (oc_scan_check(jpg.p, jpg.len, SCAN_MAX, &info, &err) != 0)
		fail_msg("oc_scan_check: %s (%s)", err.msg, err.detail);
	/* A4 at 100 dpi: 826.8 × 1169.3 pixels, as pdftoppm rounds them. */
	assert_in_range(info.width, 826, 827);
	assert_in_range(info.height, 1169, 1170);
	assert_int_equal(info.n_qr, 1);
	found[0] = info.qr[0];
	oc_form_digest(open_fields, N_OPEN, digest);
	assert_int_equal(oc_form_qr_judge(key, sizeof(key), 20250307, digest,
	    found, info.n_qr), OC_QR_MATCH);
	/* The hall's view when the fields changed, or another application. */
	oc_form_digest(open_fields, N_OPEN - 1, stale);
	assert_int_equal(oc_form_qr_judge(key, sizeof(key), 20250307, stale,
	    found, info.n_qr), OC_QR_STALE);
	assert_int_equal(oc_form_qr_judge(key, sizeof(key), 20250308, digest,
	    found, info.n_qr), OC_QR_OTHER);
	/* info may be NULL: a check without the findings. */
	assert_int_equal(oc_scan_check(jpg.p, jpg.len, SCAN_MAX, NULL, &err),
	    0);
	oc_buf_cleanup(&jpg);
}

static void
scan_bad_input(void **state)
{
	struct oc_scan_info info;
	struct oc_buf jpg, png;
	struct oc_err err;

	(void)state;
	scan_jpeg("", "scan.jpg", &jpg);

	/* Empty. */
	assert_fails_with(oc_scan_check(jpg.p, 0, SCAN_MAX, &info, &err),
	    OC_EINVAL, err, "文件为空");
	assert_fails_with(oc_scan_check(NULL, 0, SCAN_MAX, &info, &err),
	    OC_EINVAL, err, "empty");
	/* PNG, by hand and from poppler, whatever it is called. */
	assert_fails_with(oc_scan_check(tiny_png, sizeof(tiny_png), SCAN_MAX,
	    &info, &err), OC_EINVAL, err, "不是JPEG图片");
	run("pdftoppm -png -r 60 -singlefile form.pdf scan-png && "
	    "mv scan-png.png scan-png.jpg");
	read_file("scan-png.jpg", &png);
	assert_fails_with(oc_scan_check(png.p, png.len, SCAN_MAX, &info, &err),
	    OC_EINVAL, err, "not a JPEG image");
	oc_buf_cleanup(&png);
	/* Two bytes of SOI only, and text. */
	assert_fails_with(oc_scan_check((const unsigned char *)"\xff\xd8", 2,
	    SCAN_MAX, &info, &err), OC_EINVAL, err, "不是JPEG图片");
	assert_fails_with(oc_scan_check((const unsigned char *)"%PDF-1.5", 8,
	    SCAN_MAX, &info, &err), OC_EINVAL, err, "不是JPEG图片");

	/* Truncated: the round-trip scan cut in half, and short of its EOI
	 * by a few bytes only. */
	assert_fails_with(oc_scan_check(jpg.p, jpg.len / 2, SCAN_MAX, &info,
	    &err), OC_EINVAL, err, "图片不完整或已损坏");
	assert_non_null(strstr(err.msg, "truncated or corrupt JPEG"));
	assert_non_null(strstr(err.detail, "warning"));
	assert_int_equal(info.n_qr, 0);
	assert_int_equal(info.width, 0);
	assert_fails_with(oc_scan_check(jpg.p, jpg.len - 64, SCAN_MAX, &info,
	    &err), OC_EINVAL, err, "图片不完整或已损坏");
	/* Cut inside the header. */
	assert_fails_with(oc_scan_check(jpg.p, 100, SCAN_MAX, &info, &err),
	    OC_EINVAL, err, "truncated or corrupt");

	/* Over the limit: OC_ETOOBIG naming the limit. */
	assert_fails_with(oc_scan_check(jpg.p, jpg.len, jpg.len - 1, &info,
	    &err), OC_ETOOBIG, err, "图片最大不超过");
	assert_fails_with(oc_scan_check(jpg.p, jpg.len, 20 * 1024, &info,
	    &err), OC_ETOOBIG, err, "图片最大不超过20KB");
	assert_non_null(strstr(err.msg, "20 KB"));
	{
		unsigned char big[SCAN_MAX + 1];

		memset(big, 0, sizeof(big));
		memcpy(big, jpg.p, jpg.len);
		assert_fails_with(oc_scan_check(big, sizeof(big), SCAN_MAX,
		    &info, &err), OC_ETOOBIG, err, "图片最大不超过200KB");
	}

	/* More than 10000 pixels a side, by the header's word: patch SOF0. */
	{
		unsigned char *p = jpg.p;
		size_t i;

		for (i = 2; i + 9 < jpg.len; i++)
			if (p[i] == 0xff && p[i + 1] == 0xc0)
				break;
		assert_true(i + 9 < jpg.len);
		p[i + 5] = 10001 >> 8;      /* height */
		p[i + 6] = 10001 & 0xff;
		assert_fails_with(oc_scan_check(jpg.p, jpg.len, SCAN_MAX, &info,
		    &err), OC_EINVAL, err, "图片太大");
	}
	oc_buf_cleanup(&jpg);

	/* Too small: a 150×150 crop. */
	scan_jpeg("-x 100 -y 100 -W 150 -H 150", "small.jpg", &jpg);
	assert_fails_with(oc_scan_check(jpg.p, jpg.len, SCAN_MAX, &info, &err),
	    OC_EINVAL, err, "图片太小");
	assert_non_null(strstr(err.msg, "150×150"));
	oc_buf_cleanup(&jpg);
}

static void
scan_without_qr(void **state)
{
	struct oc_scan_info info;
	struct oc_buf jpg;
	struct oc_err err;

	(void)state;
	/* The lower half of the form: table, signatures, notes, no QR. */
	scan_jpeg("-x 0 -y 500 -W 827 -H 669", "noqr.jpg", &jpg);
	memset(&info, 0x55, sizeof(info));
	oc_err_clear(&err);
	if (oc_scan_check(jpg.p, jpg.len, SCAN_MAX, &info, &err) != 0)
		fail_msg("oc_scan_check: %s (%s)", err.msg, err.detail);
	assert_int_equal(info.width, 827);
	assert_int_equal(info.height, 669);
	assert_int_equal(info.n_qr, 0);
	assert_int_equal(oc_form_qr_judge(key, sizeof(key), 20250307,
	    TWO_DIGEST, NULL, info.n_qr), OC_QR_NONE);
	oc_buf_cleanup(&jpg);
}

/* Each verdict of the payloads as oc_scan_check reads them equals that of
 * the same payloads stored with the scan and read back: what 保存提交
 * judges instead of decoding the scan again. */
static void
stored_payloads_judge_alike(void **state)
{
	static const unsigned char other_key[32] = { 0xee };
	struct oc_hall_store *st;
	struct oc_hall_company co;
	struct oc_hall_account acc;
	struct oc_hall_application *app;
	struct oc_scan_info info;
	struct oc_buf jpg;
	struct oc_err err;
	char db[4200], digest[65], stale[65];
	const char *found[4], *stored[4];
	const char *names[2] = { "scan.jpg", "noqr.jpg" };
	const char *opts[2] = { "", "-x 0 -y 500 -W 827 -H 669" };

	(void)state;
	oc_form_digest(open_fields, N_OPEN, digest);
	oc_form_digest(open_fields, N_OPEN - 1, stale);
	path_of(db, sizeof(db), "hall.db");
	assert_non_null(app = calloc(1, sizeof(*app)));
	assert_non_null(st = oc_hall_store_open(db, NULL));
	assert_int_equal(oc_hall_company_get_or_create(st, "MA1FL8XY7", "91310115MA1FL8XY7N",
	    "上海浦江建筑工程有限公司", &co, NULL), 0);
	memset(&acc, 0, sizeof(acc));
	snprintf(acc.uid, sizeof(acc.uid), "OC20261204AAAAAAAAAA");
	snprintf(acc.serial, sizeof(acc.serial), "01");
	snprintf(acc.kind, sizeof(acc.kind), "enterprise");
	acc.company_id = co.id;
	assert_int_equal(oc_hall_account_login(st, &acc, NULL), 0);
	app->company_id = co.id;
	app->account_id = acc.id;
	snprintf(app->kind, sizeof(app->kind), "main_open");
	assert_int_equal(oc_hall_app_create(st, app, NULL), 0);
	for (int i = 0; i < 2; i++) {
		scan_jpeg(opts[i], names[i], &jpg);
		oc_err_clear(&err);
		if (oc_scan_check(jpg.p, jpg.len, SCAN_MAX, &info, &err) != 0)
			fail_msg("oc_scan_check: %s (%s)", err.msg, err.detail);
		assert_int_equal(info.n_qr, i == 0 ? 1 : 0);
		for (size_t j = 0; j < info.n_qr; j++)
			found[j] = info.qr[j];
		assert_int_equal(oc_hall_app_put_scan2(st, app->id, jpg.p, jpg.len, "x", "none",
		    found, info.n_qr, NULL), 0);
		assert_int_equal(oc_hall_app_get(st, app->id, app, NULL), 0);
		assert_true(app->scan_qr_known);
		assert_int_equal(app->n_scan_qr, info.n_qr);
		for (size_t j = 0; j < app->n_scan_qr; j++) {
			assert_string_equal(app->scan_qr[j], info.qr[j]);
			stored[j] = app->scan_qr[j];
		}
		/* match (none for the scan without a code), stale, other, forged */
		assert_int_equal(oc_form_qr_judge(key, sizeof(key), 20250307, digest,
		    stored, app->n_scan_qr), i == 0 ? OC_QR_MATCH : OC_QR_NONE);
		assert_int_equal(oc_form_qr_judge(key, sizeof(key), 20250307, digest,
		    found, info.n_qr), i == 0 ? OC_QR_MATCH : OC_QR_NONE);
		assert_int_equal(oc_form_qr_judge(key, sizeof(key), 20250307, stale,
		    stored, app->n_scan_qr), i == 0 ? OC_QR_STALE : OC_QR_NONE);
		assert_int_equal(oc_form_qr_judge(key, sizeof(key), 20250307, stale,
		    found, info.n_qr), i == 0 ? OC_QR_STALE : OC_QR_NONE);
		assert_int_equal(oc_form_qr_judge(key, sizeof(key), 20250308, digest,
		    stored, app->n_scan_qr), i == 0 ? OC_QR_OTHER : OC_QR_NONE);
		assert_int_equal(oc_form_qr_judge(key, sizeof(key), 20250308, digest,
		    found, info.n_qr), i == 0 ? OC_QR_OTHER : OC_QR_NONE);
		assert_int_equal(oc_form_qr_judge(other_key, sizeof(other_key), 20250307,
		    digest, stored, app->n_scan_qr), i == 0 ? OC_QR_FORGED : OC_QR_NONE);
		assert_int_equal(oc_form_qr_judge(other_key, sizeof(other_key), 20250307,
		    digest, found, info.n_qr), i == 0 ? OC_QR_FORGED : OC_QR_NONE);
		oc_buf_cleanup(&jpg);
	}
	oc_hall_store_close(st);
	free(app);
}

/* The fuzz corpus's hand-made scans (tests/fuzz/fuzz_scan.c): codes at
 * the smallest size we accept, CMYK, progressive. */
static void
scan_corpus_seeds(void **state)
{
	const char *src = getenv("ONECERT_SOURCE_DIR");
	struct oc_scan_info info;
	struct oc_buf b;
	struct oc_err err;
	char path[4096];
	const char *found[4];

	(void)state;
	if (src == NULL || *src == '\0')
		src = ONECERT_SOURCE_DIR;
#define SEED(name) (snprintf(path, sizeof(path), \
	"%s/tests/fuzz/corpus/scan/%s", src, (name)), path)
	oc_buf_init(&b, 1024 * 1024);
	assert_int_equal(oc_buf_read_file(&b, SEED("seed-qr-match-progressive.jpg")),
	    0);
	assert_int_equal(oc_scan_check(b.p, b.len, SCAN_MAX, &info, &err), 0);
	assert_int_equal(info.n_qr, 1);
	found[0] = info.qr[0];
	assert_int_equal(oc_form_qr_judge(key, sizeof(key), 1, TWO_DIGEST,
	    found, 1), OC_QR_MATCH);

	oc_buf_reset(&b);
	assert_int_equal(oc_buf_read_file(&b, SEED("seed-qr-stale-other.jpg")),
	    0);
	assert_int_equal(oc_scan_check(b.p, b.len, SCAN_MAX, &info, &err), 0);
	assert_int_equal(info.n_qr, 2);
	found[0] = info.qr[0];
	found[1] = info.qr[1];
	assert_int_equal(oc_form_qr_judge(key, sizeof(key), 1, TWO_DIGEST,
	    found, 2), OC_QR_STALE);
	assert_int_equal(oc_form_qr_judge(key, sizeof(key), 2, TWO_DIGEST,
	    found, 2), OC_QR_MATCH);
	assert_int_equal(oc_form_qr_judge(key, sizeof(key), 3, TWO_DIGEST,
	    found, 2), OC_QR_OTHER);

	oc_buf_reset(&b);
	assert_int_equal(oc_buf_read_file(&b, SEED("seed-cmyk.jpg")), 0);
	assert_fails_with(oc_scan_check(b.p, b.len, SCAN_MAX, &info, &err),
	    OC_EINVAL, err, "CMYK");
	oc_buf_reset(&b);
	assert_int_equal(oc_buf_read_file(&b, SEED("seed-soi.jpg")), 0);
	assert_fails_with(oc_scan_check(b.p, b.len, SCAN_MAX, &info, &err),
	    OC_EINVAL, err, "图片不完整或已损坏");
#undef SEED
	oc_buf_cleanup(&b);
}

/* --- fixtures ----------------------------------------------------------- */

static int
setup(void **state)
{
	const char *tmp = getenv("ONECERT_TEST_TMP");
	char base[4096];

	(void)state;
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	(void)mkdir(tmp, 0700);
	snprintf(base, sizeof(base), "%s/forms.XXXXXX", tmp);
	if (mkdtemp(base) == NULL)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "%s", base);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[4200];

	(void)state;
	if (getenv("ONECERT_KEEP_TMP") != NULL) {
		fprintf(stderr, "test_forms: kept %s\n", tmpdir);
		return 0;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(digest_vectors),
		cmocka_unit_test(payload_vectors),
		cmocka_unit_test(judge_vectors),
		cmocka_unit_test(pdf_renders),
		cmocka_unit_test(pdf_update_and_pages),
		cmocka_unit_test(pdf_bad_input),
		cmocka_unit_test(round_trip),
		cmocka_unit_test(scan_bad_input),
		cmocka_unit_test(scan_without_qr),
		cmocka_unit_test(stored_payloads_judge_alike),
		cmocka_unit_test(scan_corpus_seeds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
