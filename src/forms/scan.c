/*
 * scan.c — the check of an uploaded scan of the signed, sealed form
 * (SPEC §4.2 step 3, §7): is it a whole JPEG of a sensible size, and
 * which QR codes are in it.
 *
 * The checks run cheapest first and each refusal names what is wrong in
 * Chinese and English: empty; not a JPEG by its first bytes (whatever the
 * file is called or the client claims); over the size limit (OC_ETOOBIG);
 * a header libturbojpeg cannot read; CMYK (no scanner's default, and no
 * grey conversion for it in libjpeg); fewer than 200 or more than 10000
 * pixels a side.  Then the whole image is decoded to grey, and any
 * warning counts as failure (TJFLAG_STOPONWARNING): libjpeg "recovers"
 * from a truncated file by painting the missing rows grey, which is
 * exactly the upload that must be refused.  TJFLAG_LIMITSCANS bounds the
 * work a hostile progressive JPEG can ask for.
 *
 * zbar reads QR codes only (other symbologies off: fewer false finds,
 * less work) from the grey image as "Y800".  Up to 4 payloads are kept,
 * each cut to 127 bytes and at its first NUL: ours are far shorter, and a
 * longer one is judged "forged" all the same.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <turbojpeg.h>
#include <zbar.h>

#include "onecert/forms.h"

#define SCAN_MIN_SIDE 200
#define SCAN_MAX_SIDE 10000

static int
too_big(struct oc_err *err, size_t max_bytes)
{
	if (max_bytes >= 1024)
		return oc_err_set(err, OC_ETOOBIG,
		    "图片最大不超过%zuKB / the image must not exceed %zu KB",
		    max_bytes / 1024, max_bytes / 1024);
	return oc_err_set(err, OC_ETOOBIG,
	    "图片最大不超过%zu字节 / the image must not exceed %zu bytes",
	    max_bytes, max_bytes);
}

/* Read QR codes from a w×h grey image into info. */
static int
read_qr(unsigned char *grey, int w, int h, struct oc_scan_info *info,
    struct oc_err *err)
{
	zbar_image_scanner_t *sc = NULL;
	zbar_image_t *img = NULL;
	const zbar_symbol_t *sym;
	int rc = OC_EINTERNAL;

	if ((sc = zbar_image_scanner_create()) == NULL ||
	    (img = zbar_image_create()) == NULL) {
		rc = oc_err_set(err, OC_ENOMEM,
		    "内存不足 / out of memory (zbar)");
		goto out;
	}
	/* Symbology 0 is "all of them": off, then QR codes on. */
	zbar_image_scanner_set_config(sc, 0, ZBAR_CFG_ENABLE, 0);
	zbar_image_scanner_set_config(sc, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
	zbar_image_set_format(img, zbar_fourcc('Y', '8', '0', '0'));
	zbar_image_set_size(img, (unsigned)w, (unsigned)h);
	/* No cleanup handler: grey stays ours. */
	zbar_image_set_data(img, grey, (unsigned long)w * (unsigned long)h,
	    NULL);
	if (zbar_scan_image(sc, img) < 0) {
		rc = oc_err_set(err, OC_EINTERNAL,
		    "二维码识别失败 / QR code reader failed");
		goto out;
	}
	for (sym = zbar_image_first_symbol(img); sym != NULL &&
	    info->n_qr < sizeof(info->qr) / sizeof(info->qr[0]);
	    sym = zbar_symbol_next(sym)) {
		const char *data;
		size_t len;
		char *q = info->qr[info->n_qr];

		if (zbar_symbol_get_type(sym) != ZBAR_QRCODE ||
		    (data = zbar_symbol_get_data(sym)) == NULL)
			continue;
		len = zbar_symbol_get_data_length(sym);
		if (len > sizeof(info->qr[0]) - 1)
			len = sizeof(info->qr[0]) - 1;
		memcpy(q, data, len);
		q[len] = '\0';
		info->n_qr++;
	}
	rc = 0;
out:
	if (img != NULL)
		zbar_image_destroy(img);
	if (sc != NULL)
		zbar_image_scanner_destroy(sc);
	return rc;
}

int
oc_scan_check(const unsigned char *data, size_t len, size_t max_bytes,
    struct oc_scan_info *info, struct oc_err *err)
{
	struct oc_scan_info scratch;
	tjhandle tj = NULL;
	unsigned char *grey = NULL;
	int w = 0, h = 0, subsamp = 0, cs = 0, rc = OC_EINVAL;

	if (info == NULL)
		info = &scratch;
	memset(info, 0, sizeof(*info));
	if (data == NULL || len == 0) {
		rc = oc_err_set(err, OC_EINVAL, "文件为空 / the file is empty");
		goto out;
	}
	/* SOI and the first marker's 0xFF. */
	if (len < 3 || data[0] != 0xFF || data[1] != 0xD8 || data[2] != 0xFF) {
		rc = oc_err_set(err, OC_EINVAL,
		    "不是JPEG图片，请上传JPG格式的扫描件 / not a JPEG image");
		goto out;
	}
	if (len > max_bytes) {
		rc = too_big(err, max_bytes);
		goto out;
	}
#if SIZE_MAX > ULONG_MAX
	/* libturbojpeg takes an unsigned long length. */
	if (len > ULONG_MAX) {
		rc = too_big(err, ULONG_MAX);
		goto out;
	}
#endif
	if ((tj = tjInitDecompress()) == NULL) {
		rc = oc_err_set(err, OC_ENOMEM,
		    "内存不足 / out of memory (libturbojpeg)");
		goto out;
	}
	/* A header cut short can "succeed" with no size at all. */
	if (tjDecompressHeader3(tj, data, (unsigned long)len, &w, &h, &subsamp,
	    &cs) != 0 || w <= 0 || h <= 0) {
		rc = oc_err_set(err, OC_EINVAL,
		    "图片不完整或已损坏 / truncated or corrupt JPEG");
		oc_err_detail(err, "%s", tjGetErrorStr2(tj));
		goto out;
	}
	if (cs == TJCS_CMYK || cs == TJCS_YCCK) {
		rc = oc_err_set(err, OC_EINVAL,
		    "不支持CMYK格式的JPEG图片，请以彩色或灰度模式扫描 / "
		    "CMYK JPEGs are not supported: scan in colour or grey");
		goto out;
	}
	if (w < SCAN_MIN_SIDE || h < SCAN_MIN_SIDE) {
		rc = oc_err_set(err, OC_EINVAL,
		    "图片太小（%d×%d像素），至少%d×%d像素 / "
		    "image too small (%d×%d pixels; at least %d×%d)",
		    w, h, SCAN_MIN_SIDE, SCAN_MIN_SIDE, w, h, SCAN_MIN_SIDE,
		    SCAN_MIN_SIDE);
		goto out;
	}
	if (w > SCAN_MAX_SIDE || h > SCAN_MAX_SIDE) {
		rc = oc_err_set(err, OC_EINVAL,
		    "图片太大（%d×%d像素），最多%d×%d像素 / "
		    "image too large (%d×%d pixels; at most %d×%d)",
		    w, h, SCAN_MAX_SIDE, SCAN_MAX_SIDE, w, h, SCAN_MAX_SIDE,
		    SCAN_MAX_SIDE);
		goto out;
	}
	if ((grey = malloc((size_t)w * (size_t)h)) == NULL) {
		rc = oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
		goto out;
	}
	/* Any warning (premature end of data, corrupt data) fails too. */
	if (tjDecompress2(tj, data, (unsigned long)len, grey, w, 0, h,
	    TJPF_GRAY, TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS) != 0) {
		rc = oc_err_set(err, OC_EINVAL,
		    "图片不完整或已损坏 / truncated or corrupt JPEG");
		oc_err_detail(err, "%s: %s",
		    tjGetErrorCode(tj) == TJERR_WARNING ? "warning" : "error",
		    tjGetErrorStr2(tj));
		goto out;
	}
	info->width = w;
	info->height = h;
	if ((rc = read_qr(grey, w, h, info, err)) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0 && info != NULL) {
		info->width = info->height = 0;
		info->n_qr = 0;
	}
	free(grey);
	if (tj != NULL)
		tjDestroy(tj);
	return rc;
}
