/*
 * pdf.c — the prefilled application form as a PDF (SPEC §4.2 step 3,
 * §4.4): what the applicant prints, has signed and sealed, scans and
 * uploads.
 *
 * One A4 page in the usual case, drawn with cairo's PDF surface straight
 * into the caller's oc_buf: the title, 申请编号 and 填表日期 (China Standard
 * Time, a fixed UTC+8, so no libc time zone is involved), the QR code in
 * the top right corner, a bordered two-column table of the fields (label |
 * value, wrapped; a value runs to at most VALUE_LINES lines and is then
 * cut with "…", so that no single row can outgrow a page), the signature
 * and seal boxes, and the numbered 说明.  More fields than fit continue
 * on further pages; every page has a footer with the application ID.
 *
 * Text is laid out by pango in "WenQuanYi Micro Hei" (fonts-wqy-microhei,
 * with Noto Sans CJK as a fallback) and cairo embeds the subset it uses,
 * with a ToUnicode map, so the PDF prints the same everywhere and its text
 * can be extracted.  All sizes are in points (1/72 in), the user unit of
 * a cairo PDF surface; pango gets absolute sizes in those units, and
 * metrics hinting is off so the layout does not depend on a resolution.
 *
 * The QR code (libqrencode, level Q: a signature or seal stamped over a
 * corner must not kill it) is drawn as one path of rectangles, one per
 * run of dark modules in a row, filled at once: vector, crisp at any
 * print resolution, and no hairline seams between modules when a viewer
 * rasterizes it.  The symbol is QR_SIDE_MM wide whatever its version,
 * inside a white quiet zone of 4 modules.  Our payloads are alphanumeric
 * (see qr.c), which libqrencode encodes in alphanumeric mode by itself.
 *
 * The document's creation date is the form's, not the clock's, so the
 * same form renders to the same bytes.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cairo.h>
#include <cairo-pdf.h>
#include <glib.h>
#include <pango/pangocairo.h>
#include <qrencode.h>

#include "onecert/forms.h"

#define MM            (72.0 / 25.4)
#define PAGE_W        595.28
#define PAGE_H        841.89
#define MARGIN_X      (20 * MM)
#define MARGIN_TOP    (15 * MM)
#define MARGIN_BOTTOM (20 * MM)
#define CONTENT_W     (PAGE_W - 2 * MARGIN_X)
#define FOOTER_Y      (PAGE_H - 12 * MM)

#define FONT_FAMILY   "WenQuanYi Micro Hei, Noto Sans CJK SC, sans-serif"
#define SIZE_TITLE    16.0
#define SIZE_BODY     10.5          /* 五号 */
#define SIZE_NOTE     9.0
#define SIZE_SMALL    7.5

#define LABEL_W       (55 * MM)     /* the table's label column */
#define CELL_PAD      4.0
#define ROW_MIN_H     20.0
#define LABEL_LINES   4
#define VALUE_LINES   10
#define LINE_W        0.8

#define QR_SIDE_MM    32.0          /* the symbol without its quiet zone */
#define QR_QUIET      4             /* modules of quiet zone each side */
#define QR_MODULE_MIN (0.5 * MM)    /* smaller modules do not survive scanning */

#define SIGN_H        (44 * MM)    /* room for a 42 mm seal */
#define SIGN_GAP      (8 * MM)

#define CST_OFFSET    (8 * 3600)

static const char *const title_open =
    "《上海市建筑建材业网上办事大厅主数字证书开通申请表》";
static const char *const title_update =
    "《上海市建筑建材业网上办事大厅主数字证书更新申请表》";
static const char *const hall_name = "上海市建筑建材业网上办事大厅";

/* 说明: our own words, numbered as printed. */
static const char *const notes_common[] = {
	"本表由网上办事大厅根据网上填报的申请信息自动生成，请勿手工修改或涂改"
	"表内信息；信息有误时，请在网上修改后重新下载打印。",
	"请由企业法定代表人在“法定代表人（签字）”处签字，并在“单位（盖章）”处"
	"加盖单位公章（或合同专用章以外的有效印章）。",
	"请将签字盖章后的申请表完整扫描为JPG格式图片，在网上申请页面上传；"
	"图片最大不超过200KB。",
	"右上角的二维码用于核验本表与网上申请的一致性，请保持清晰完整，"
	"签字、盖章时请避开二维码，勿折叠、遮盖或涂改。",
	"一份申请对应一张申请表；重新填报后，请使用新下载的申请表。",
	"网站将于申请提交后1个工作日内处理，处理结果以短信通知联系人。",
};
static const char *const note_update =
    "更新申请审核通过后，新证书成为主数字证书，原主数字证书在网上办事大厅"
    "同时注销，不能再用于登录。";

struct sink {
	struct oc_buf *out;
	int rc;                     /* first oc_buf_add failure */
};

struct pdf {
	cairo_t *cr;
	PangoFontMap *fm;           /* private to this call */
	PangoContext *pc;
	const struct oc_form *form;
	const char *title;
	double y;                   /* where the next block starts */
	int page;                   /* 1-based */
};

static cairo_status_t
sink_write(void *closure, const unsigned char *data, unsigned int length)
{
	struct sink *s = closure;
	int rc;

	if (s->rc != 0)
		return CAIRO_STATUS_WRITE_ERROR;
	if ((rc = oc_buf_add(s->out, data, length)) != 0) {
		s->rc = rc;
		return CAIRO_STATUS_WRITE_ERROR;
	}
	return CAIRO_STATUS_SUCCESS;
}

/* A layout of text at size points, wrapped at width (0: no wrapping),
 * at most max_lines lines (0: no limit).  Caller unrefs. */
static PangoLayout *
layout(struct pdf *p, const char *text, double size, bool bold, double width,
    PangoAlignment align, int max_lines)
{
	PangoLayout *l;
	PangoFontDescription *fd;

	if ((l = pango_layout_new(p->pc)) == NULL)
		return NULL;
	fd = pango_font_description_from_string(FONT_FAMILY);
	pango_font_description_set_absolute_size(fd, size * PANGO_SCALE);
	if (bold)
		pango_font_description_set_weight(fd, PANGO_WEIGHT_BOLD);
	pango_layout_set_font_description(l, fd);
	pango_font_description_free(fd);
	if (width > 0) {
		pango_layout_set_width(l, (int)(width * PANGO_SCALE));
		pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
	}
	if (max_lines > 0) {
		pango_layout_set_height(l, -max_lines);
		pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_END);
	}
	pango_layout_set_alignment(l, align);
	pango_layout_set_text(l, text, -1);
	return l;
}

static double
layout_h(PangoLayout *l)
{
	int w, h;

	pango_layout_get_size(l, &w, &h);
	return (double)h / PANGO_SCALE;
}

static void
show(struct pdf *p, PangoLayout *l, double x, double y)
{
	cairo_move_to(p->cr, x, y);
	pango_cairo_show_layout(p->cr, l);
}

/* Draw text at (x, y); returns its height, or -1 when pango failed. */
static double
text(struct pdf *p, const char *s, double size, bool bold, double x, double y,
    double width, PangoAlignment align)
{
	PangoLayout *l;
	double h;

	if ((l = layout(p, s, size, bold, width, align, 0)) == NULL)
		return -1;
	show(p, l, x, y);
	h = layout_h(l);
	g_object_unref(l);
	return h;
}

static void
footer(struct pdf *p)
{
	char left[160], right[48];

	cairo_set_source_rgb(p->cr, 0.35, 0.35, 0.35);
	cairo_set_line_width(p->cr, 0.5);
	cairo_move_to(p->cr, MARGIN_X, FOOTER_Y - 3);
	cairo_line_to(p->cr, PAGE_W - MARGIN_X, FOOTER_Y - 3);
	cairo_stroke(p->cr);
	snprintf(left, sizeof(left), "%s · 申请编号 %lld", hall_name,
	    p->form->app_id);
	snprintf(right, sizeof(right), "第 %d 页", p->page);
	(void)text(p, left, SIZE_SMALL, false, MARGIN_X, FOOTER_Y, 0,
	    PANGO_ALIGN_LEFT);
	(void)text(p, right, SIZE_SMALL, false, MARGIN_X, FOOTER_Y, CONTENT_W,
	    PANGO_ALIGN_RIGHT);
	cairo_set_source_rgb(p->cr, 0, 0, 0);
}

/* Finish this page and start the next, with a short running head. */
static void
new_page(struct pdf *p)
{
	char head[256];
	double h;

	footer(p);
	cairo_show_page(p->cr);
	p->page++;
	p->y = MARGIN_TOP;
	snprintf(head, sizeof(head), "%s（续）  申请编号：%lld", p->title,
	    p->form->app_id);
	h = text(p, head, SIZE_NOTE, false, MARGIN_X, p->y, CONTENT_W,
	    PANGO_ALIGN_LEFT);
	p->y += (h > 0 ? h : SIZE_NOTE) + 4 * MM;
}

/* Make room for a block h points high: a new page when it does not fit. */
static void
need(struct pdf *p, double h)
{
	if (p->y + h > PAGE_H - MARGIN_BOTTOM)
		new_page(p);
}

/* The QR code with its quiet zone's top left corner at (x, y); returns
 * the whole width (quiet zone included), or -1. */
static double
draw_qr(struct pdf *p, const QRcode *qr, double x, double y)
{
	double m = QR_SIDE_MM * MM / qr->width;
	double total = (qr->width + 2 * QR_QUIET) * m;
	double ox = x + QR_QUIET * m, oy = y + QR_QUIET * m;

	if (m < QR_MODULE_MIN)
		return -1;
	cairo_save(p->cr);
	cairo_set_source_rgb(p->cr, 1, 1, 1);
	cairo_rectangle(p->cr, x, y, total, total);
	cairo_fill(p->cr);
	cairo_set_source_rgb(p->cr, 0, 0, 0);
	cairo_set_fill_rule(p->cr, CAIRO_FILL_RULE_WINDING);
	for (int r = 0; r < qr->width; r++) {
		int c = 0;

		while (c < qr->width) {
			int start;

			if (!(qr->data[r * qr->width + c] & 1)) {
				c++;
				continue;
			}
			start = c;
			while (c < qr->width && (qr->data[r * qr->width + c] & 1))
				c++;
			cairo_rectangle(p->cr, ox + start * m, oy + r * m,
			    (c - start) * m, m);
		}
	}
	cairo_fill(p->cr);
	cairo_restore(p->cr);
	return total;
}

/* Title, application ID, date and the QR code. */
static int
draw_head(struct pdf *p, const QRcode *qr)
{
	char line[128];
	struct tm tm;
	time_t t;
	double h, cap_h, qr_w, qr_x, qr_y, left_w, ly;

	h = text(p, p->title, SIZE_TITLE, true, MARGIN_X, p->y, CONTENT_W,
	    PANGO_ALIGN_CENTER);
	if (h < 0)
		return -1;
	p->y += h + 4 * MM;

	qr_w = (qr->width + 2 * QR_QUIET) * (QR_SIDE_MM * MM / qr->width);
	qr_x = PAGE_W - MARGIN_X - qr_w + QR_QUIET * (QR_SIDE_MM * MM /
	    qr->width);    /* the symbol, not its quiet zone, meets the margin */
	qr_y = p->y;
	if (draw_qr(p, qr, qr_x, qr_y) < 0)
		return -1;
	/* Below the quiet zone, which must stay blank. */
	if ((cap_h = text(p, "扫码核验 · 请勿遮盖", SIZE_SMALL, false, qr_x,
	    qr_y + qr_w, qr_w, PANGO_ALIGN_CENTER)) < 0)
		return -1;

	left_w = qr_x - MARGIN_X - 4 * MM;
	ly = p->y + 4 * MM;
	snprintf(line, sizeof(line), "申请编号：%lld", p->form->app_id);
	if ((h = text(p, line, SIZE_BODY + 1, true, MARGIN_X, ly, left_w,
	    PANGO_ALIGN_LEFT)) < 0)
		return -1;
	ly += h + 3 * MM;
	t = p->form->created + CST_OFFSET;
	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	snprintf(line, sizeof(line), "填表日期：%d年%d月%d日",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	if ((h = text(p, line, SIZE_BODY, false, MARGIN_X, ly, left_w,
	    PANGO_ALIGN_LEFT)) < 0)
		return -1;
	ly += h + 3 * MM;
	cairo_set_source_rgb(p->cr, 0.3, 0.3, 0.3);
	h = text(p, p->form->kind == OC_FORM_MAIN_UPDATE ?
	    "申请事项：主数字证书更新（续费、信息变更、遗失补办等）" :
	    "申请事项：主数字证书开通", SIZE_NOTE, false, MARGIN_X, ly,
	    left_w, PANGO_ALIGN_LEFT);
	ly += (h > 0 ? h : 0) + 1.5 * MM;
	(void)text(p, "以下信息由申请人在网上填报，打印后请核对。", SIZE_NOTE,
	    false, MARGIN_X, ly, left_w, PANGO_ALIGN_LEFT);
	cairo_set_source_rgb(p->cr, 0, 0, 0);
	p->y = qr_y + qr_w + cap_h + 3 * MM;
	return 0;
}

/* A full-width grey heading row of the table ("申请信息"). */
static void
table_heading(struct pdf *p, const char *s)
{
	PangoLayout *l;
	double h, rh;

	if ((l = layout(p, s, SIZE_BODY, true, CONTENT_W - 2 * CELL_PAD,
	    PANGO_ALIGN_CENTER, 1)) == NULL)
		return;
	h = layout_h(l);
	rh = h + 2 * CELL_PAD;
	need(p, rh + ROW_MIN_H);
	cairo_set_source_rgb(p->cr, 0.86, 0.86, 0.86);
	cairo_rectangle(p->cr, MARGIN_X, p->y, CONTENT_W, rh);
	cairo_fill_preserve(p->cr);
	cairo_set_source_rgb(p->cr, 0, 0, 0);
	cairo_set_line_width(p->cr, LINE_W);
	cairo_stroke(p->cr);
	show(p, l, MARGIN_X + CELL_PAD, p->y + CELL_PAD);
	g_object_unref(l);
	p->y += rh;
}

/* One row: label | value, both wrapped, vertically centred. */
static int
table_row(struct pdf *p, const char *label, const char *value)
{
	PangoLayout *ll = NULL, *lv = NULL;
	double hl, hv, rh;
	int rc = -1;

	if ((ll = layout(p, label, SIZE_BODY, false, LABEL_W - 2 * CELL_PAD,
	    PANGO_ALIGN_LEFT, LABEL_LINES)) == NULL ||
	    (lv = layout(p, value, SIZE_BODY, false,
	    CONTENT_W - LABEL_W - 2 * CELL_PAD, PANGO_ALIGN_LEFT,
	    VALUE_LINES)) == NULL)
		goto out;
	hl = layout_h(ll);
	hv = layout_h(lv);
	rh = (hl > hv ? hl : hv) + 2 * CELL_PAD;
	if (rh < ROW_MIN_H)
		rh = ROW_MIN_H;
	/* Each cell is stroked whole, so a row opening a page has its top
	 * border too. */
	need(p, rh);
	cairo_set_source_rgb(p->cr, 0.95, 0.95, 0.95);
	cairo_rectangle(p->cr, MARGIN_X, p->y, LABEL_W, rh);
	cairo_fill(p->cr);
	cairo_set_source_rgb(p->cr, 0, 0, 0);
	cairo_set_line_width(p->cr, LINE_W);
	cairo_rectangle(p->cr, MARGIN_X, p->y, LABEL_W, rh);
	cairo_rectangle(p->cr, MARGIN_X + LABEL_W, p->y, CONTENT_W - LABEL_W,
	    rh);
	cairo_stroke(p->cr);
	show(p, ll, MARGIN_X + CELL_PAD, p->y + (rh - hl) / 2);
	show(p, lv, MARGIN_X + LABEL_W + CELL_PAD, p->y + (rh - hv) / 2);
	p->y += rh;
	rc = 0;
out:
	if (ll != NULL)
		g_object_unref(ll);
	if (lv != NULL)
		g_object_unref(lv);
	return rc;
}

/* One of the two boxes: a caption top left, 日期 bottom right. */
static void
sign_box(struct pdf *p, double x, double w, const char *caption)
{
	cairo_set_line_width(p->cr, LINE_W);
	cairo_rectangle(p->cr, x, p->y, w, SIGN_H);
	cairo_stroke(p->cr);
	(void)text(p, caption, SIZE_BODY, true, x + 3 * MM, p->y + 3 * MM,
	    w - 6 * MM, PANGO_ALIGN_LEFT);
	(void)text(p, "日期：　　　　年　　月　　日", SIZE_BODY, false,
	    x + 3 * MM, p->y + SIGN_H - 3 * MM - SIZE_BODY * 1.4, w - 6 * MM,
	    PANGO_ALIGN_RIGHT);
}

static void
draw_signatures(struct pdf *p)
{
	double w = (CONTENT_W - SIGN_GAP) / 2;

	p->y += 5 * MM;
	need(p, SIGN_H);
	sign_box(p, MARGIN_X, w, "法定代表人（签字）：");
	sign_box(p, MARGIN_X + w + SIGN_GAP, w, "单位（盖章）：");
	p->y += SIGN_H + 5 * MM;
}

static int
draw_notes(struct pdf *p)
{
	const char *notes[sizeof(notes_common) / sizeof(notes_common[0]) + 1];
	size_t n = 0;
	double indent = 5 * MM, h;
	char num[8];

	for (size_t i = 0; i < sizeof(notes_common) / sizeof(notes_common[0]);
	    i++)
		notes[n++] = notes_common[i];
	if (p->form->kind == OC_FORM_MAIN_UPDATE)
		notes[n++] = note_update;
	need(p, 3 * SIZE_NOTE * 1.5);
	if ((h = text(p, "说明：", SIZE_BODY, true, MARGIN_X, p->y, 0,
	    PANGO_ALIGN_LEFT)) < 0)
		return -1;
	p->y += h + 1.5 * MM;
	for (size_t i = 0; i < n; i++) {
		PangoLayout *l;

		if ((l = layout(p, notes[i], SIZE_NOTE, false,
		    CONTENT_W - indent, PANGO_ALIGN_LEFT, 0)) == NULL)
			return -1;
		h = layout_h(l);
		need(p, h);
		snprintf(num, sizeof(num), "%zu.", i + 1);
		(void)text(p, num, SIZE_NOTE, false, MARGIN_X, p->y, 0,
		    PANGO_ALIGN_LEFT);
		show(p, l, MARGIN_X + indent, p->y);
		g_object_unref(l);
		p->y += h + 1.2 * MM;
	}
	return 0;
}

/* Reject what pango would garble: NULL or invalid UTF-8. */
static bool
utf8_ok(const char *s)
{
	return s != NULL && g_utf8_validate(s, -1, NULL);
}

int
oc_form_pdf(const struct oc_form *form, struct oc_buf *out, struct oc_err *err)
{
	struct sink sink = { out, 0 };
	struct pdf p;
	cairo_surface_t *surf = NULL;
	cairo_font_options_t *fo = NULL;
	QRcode *qr = NULL;
	size_t start = out != NULL ? out->len : 0;
	char date[80];
	struct tm tm;
	time_t t;
	int rc = OC_EINTERNAL;

	memset(&p, 0, sizeof(p));
	if (out == NULL || form == NULL)
		return oc_err_set(err, OC_EINVAL, "无效参数 / no form or output");
	if (form->fields == NULL || form->n_fields == 0)
		return oc_err_set(err, OC_EINVAL,
		    "申请表没有内容 / the form has no fields");
	if (form->qr_payload == NULL || form->qr_payload[0] == '\0')
		return oc_err_set(err, OC_EINVAL,
		    "申请表缺少二维码内容 / the form has no QR payload");
	if (form->kind != OC_FORM_MAIN_OPEN && form->kind != OC_FORM_MAIN_UPDATE)
		return oc_err_set(err, OC_EINVAL,
		    "未知的申请表类型 / unknown form kind %d", (int)form->kind);
	if (form->app_id <= 0)
		return oc_err_set(err, OC_EINVAL,
		    "申请编号无效 / the application ID must be positive");
	for (size_t i = 0; i < form->n_fields; i++)
		if (!utf8_ok(form->fields[i].label) ||
		    !utf8_ok(form->fields[i].value))
			return oc_err_set(err, OC_EINVAL,
			    "申请表第%zu项不是有效的UTF-8文本 / field %zu is "
			    "not valid UTF-8", i + 1, i + 1);
	if (!utf8_ok(form->qr_payload))
		return oc_err_set(err, OC_EINVAL,
		    "二维码内容无效 / the QR payload is not valid UTF-8");

	if ((qr = QRcode_encodeString(form->qr_payload, 0, QR_ECLEVEL_Q,
	    QR_MODE_8, 1)) == NULL) {
		rc = oc_err_set(err, OC_EINVAL,
		    "无法生成二维码（内容过长？） / cannot encode the QR code");
		goto out;
	}
	if (QR_SIDE_MM * MM / qr->width < QR_MODULE_MIN) {
		rc = oc_err_set(err, OC_EINVAL,
		    "二维码内容过长 / the QR payload is too long to print");
		goto out;
	}

	surf = cairo_pdf_surface_create_for_stream(sink_write, &sink, PAGE_W,
	    PAGE_H);
	if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
		rc = oc_err_set(err, OC_EINTERNAL,
		    "无法生成PDF / cairo: %s",
		    cairo_status_to_string(cairo_surface_status(surf)));
		goto out;
	}
	p.form = form;
	p.title = form->kind == OC_FORM_MAIN_UPDATE ? title_update : title_open;
	p.page = 1;
	p.y = MARGIN_TOP;
	t = form->created + CST_OFFSET;
	if (gmtime_r(&t, &tm) == NULL) {
		rc = oc_err_set(err, OC_EINVAL,
		    "填表日期无效 / the form's date is out of range");
		goto out;
	}
	snprintf(date, sizeof(date), "%04d-%02d-%02dT%02d:%02d:%02d+08:00",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
	/* Without the 《》 of the printed title. */
	cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_TITLE,
	    form->kind == OC_FORM_MAIN_UPDATE ?
	    "上海市建筑建材业网上办事大厅主数字证书更新申请表" :
	    "上海市建筑建材业网上办事大厅主数字证书开通申请表");
	cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_AUTHOR,
	    hall_name);
	cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_CREATOR,
	    "onecert");
	cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_CREATE_DATE,
	    date);
	cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_MOD_DATE, date);

	p.cr = cairo_create(surf);
	if (cairo_status(p.cr) != CAIRO_STATUS_SUCCESS ||
	    (p.fm = pango_cairo_font_map_new()) == NULL ||
	    (p.pc = pango_font_map_create_context(p.fm)) == NULL) {
		rc = oc_err_set(err, OC_EINTERNAL, "无法生成PDF / cairo context");
		goto out;
	}
	if ((fo = cairo_font_options_create()) != NULL) {
		cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
		cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
		pango_cairo_context_set_font_options(p.pc, fo);
	}
	pango_cairo_update_context(p.cr, p.pc);
	cairo_set_source_rgb(p.cr, 0, 0, 0);

	if (draw_head(&p, qr) != 0) {
		rc = oc_err_set(err, OC_EINTERNAL, "无法生成PDF / page head");
		goto out;
	}
	table_heading(&p, "申请信息");
	for (size_t i = 0; i < form->n_fields; i++)
		if (table_row(&p, form->fields[i].label,
		    form->fields[i].value) != 0) {
			rc = oc_err_set(err, OC_EINTERNAL,
			    "无法生成PDF / table row %zu", i + 1);
			goto out;
		}
	draw_signatures(&p);
	if (draw_notes(&p) != 0) {
		rc = oc_err_set(err, OC_EINTERNAL, "无法生成PDF / notes");
		goto out;
	}
	footer(&p);
	cairo_show_page(p.cr);
	if (cairo_status(p.cr) != CAIRO_STATUS_SUCCESS) {
		rc = oc_err_set(err, OC_EINTERNAL, "无法生成PDF / cairo: %s",
		    cairo_status_to_string(cairo_status(p.cr)));
		goto out;
	}
	cairo_destroy(p.cr);
	p.cr = NULL;
	cairo_surface_finish(surf);
	if (sink.rc != 0) {
		rc = oc_err_set(err, sink.rc, sink.rc == OC_ETOOBIG ?
		    "申请表PDF超过输出缓冲区上限 / the PDF exceeds the buffer's "
		    "limit" : "内存不足 / out of memory writing the PDF");
		goto out;
	}
	if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
		rc = oc_err_set(err, OC_EINTERNAL, "无法生成PDF / cairo: %s",
		    cairo_status_to_string(cairo_surface_status(surf)));
		goto out;
	}
	rc = 0;
out:
	/* A write that failed shows as a cairo error: name the cause. */
	if (rc == OC_EINTERNAL && sink.rc != 0)
		rc = oc_err_set(err, sink.rc, sink.rc == OC_ETOOBIG ?
		    "申请表PDF超过输出缓冲区上限 / the PDF exceeds the buffer's "
		    "limit" : "内存不足 / out of memory writing the PDF");
	if (fo != NULL)
		cairo_font_options_destroy(fo);
	if (p.pc != NULL)
		g_object_unref(p.pc);
	if (p.fm != NULL)
		g_object_unref(p.fm);
	if (p.cr != NULL)
		cairo_destroy(p.cr);
	if (surf != NULL)
		cairo_surface_destroy(surf);
	if (qr != NULL)
		QRcode_free(qr);
	/* Nothing half-written: the buffer is as it was. */
	if (rc != 0 && out != NULL && out->len > start) {
		out->len = start;
		out->p[start] = '\0';
	}
	return rc;
}
