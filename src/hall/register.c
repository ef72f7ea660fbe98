/*
 * register.c — registration after approval (SPEC §4.2 step 6), by the main
 * certificate of a company in state main_active:
 *
 *   GET  /api/v1/registration      the choices (经济类型, 本市的区, 省份)
 *   POST /api/v1/registration/sms  a 6-digit code to a local mobile
 *   POST /api/v1/registration      提交注册 → registered
 *
 * The code is uniform over 000000–999999 (RAND_bytes with rejection), kept
 * only as an HMAC under the hall's key, valid for [hall] sms_ttl, resent
 * no sooner than sms_cooldown, and dead after sms_max_tries wrong tries
 * (then a new code must be sent; each try is counted before the code is
 * compared, so parallel requests get no more).  It is bound to the mobile
 * it was sent to: registering another number needs a code sent to that
 * number.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "hall/hall_int.h"
#include "onecert/ident.h"
#include "onecert/json.h"
#include "onecert/log.h"
#include "onecert/notify.h"

static const char *const economic_types[] = {
	"国有企业", "集体企业", "股份合作企业", "联营企业", "有限责任公司", "股份有限公司",
	"私营企业", "港、澳、台商投资企业", "外商投资企业", "个体经营", "事业单位",
	"社会团体", "其他",
};

static const char *const districts[] = {
	"黄浦区", "徐汇区", "长宁区", "静安区", "普陀区", "虹口区", "杨浦区", "闵行区",
	"宝山区", "嘉定区", "浦东新区", "金山区", "松江区", "青浦区", "奉贤区", "崇明区",
};

static const char *const provinces[] = {
	"北京市", "天津市", "河北省", "山西省", "内蒙古自治区", "辽宁省", "吉林省",
	"黑龙江省", "江苏省", "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省",
	"湖北省", "湖南省", "广东省", "广西壮族自治区", "海南省", "重庆市", "四川省",
	"贵州省", "云南省", "西藏自治区", "陕西省", "甘肃省", "青海省", "宁夏回族自治区",
	"新疆维吾尔自治区", "香港特别行政区", "澳门特别行政区", "台湾省",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static bool
in_list(const char *v, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v, list[i]) == 0)
			return true;
	return false;
}

static json_t *
list_json(const char *const *list, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(list[i]));
	return a;
}

/* The caller must be the main certificate of a company waiting to
 * register (or, for GET, already registered). */
static bool
require_main(struct hall_call *c, bool state_change, struct oc_hall_company *co)
{
	struct oc_err err;

	if (!hall_session_require(c, state_change))
		return false;
	if (strcmp(c->a.kind, "enterprise") != 0 || c->a.company_id == 0 ||
	    oc_hall_company_get(c->st, c->a.company_id, co, &err) != 0 ||
	    co->main_account_id != c->a.id) {
		oc_http_reply_error(c->req, 403, "forbidden",
		    "只有本企业的主数字证书可以办理注册 / only the company's main certificate may register");
		return false;
	}
	if (strcmp(co->state, "main_active") != 0 && (state_change || strcmp(co->state, "registered") != 0)) {
		oc_http_reply_error(c->req, 409, "conflict", strcmp(co->state, "registered") == 0 ?
		    "贵企业已完成注册 / the company is already registered" :
		    "主数字证书开通申请尚未通过审核 / the activation has not been approved");
		return false;
	}
	return true;
}

void
hall_registration_get(struct hall_call *c)
{
	struct oc_hall_company co;

	if (!require_main(c, false, &co))
		return;
	oc_http_reply_json(c->req, 200, json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}",
	    "company_name", co.name, "org_code", co.uscc[0] ? co.uscc : co.org_code,
	    "company_state", co.state,
	    "economic_types", list_json(economic_types, NELEM(economic_types)),
	    "districts", list_json(districts, NELEM(districts)),
	    "provinces", list_json(provinces, NELEM(provinces))));
}

static void
code_hash(struct hall_call *c, const char *mobile, const char *code, char out[65])
{
	char s[96];

	snprintf(s, sizeof(s), "sms:%lld:%s:%s", c->a.id, mobile, code);
	hall_mac_hex(c->h, s, out);
	OPENSSL_cleanse(s, sizeof(s));
}

static int
random_code(char out[7])
{
	unsigned int v;

	do {
		if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
			return -1;
	} while (v >= 4294000000u);     /* 4294000000 = 4294 × 10^6: no bias */
	snprintf(out, 7, "%06u", v % 1000000u);
	return 0;
}

void
hall_registration_sms(struct hall_call *c)
{
	struct oc_hall_company co;
	struct oc_hall_sms_code sc, old;
	struct oc_err err;
	const char *mobile = NULL;
	char code[7], text[512];
	bool flagged = false;
	time_t now = time(NULL);
	json_t *body;

	if (!require_main(c, true, &co) || (body = hall_body_json(c, 1024)) == NULL)
		return;
	oc_err_clear(&err);
	if (oc_json_get_str(body, "mobile", true, 32, &mobile, &err) != 0 ||
	    oc_notify_mobile_local(c->h->notify, c->st, mobile, &flagged, &err) != 0) {
		json_decref(body);
		return oc_http_reply_json(c->req, 400, json_pack("{s:{s:s, s:s, s:s}}", "error",
		    "code", "invalid_input", "message", err.msg, "field", "holder_mobile"));
	}
	if (oc_hall_sms_code_get(c->st, c->a.id, &old, NULL) == 0 &&
	    now - old.sent_at < c->h->sms_cooldown) {
		char msg[160];
		long wait = c->h->sms_cooldown - (long)(now - old.sent_at);

		json_decref(body);
		snprintf(msg, sizeof(msg), "验证码已发送，请%ld秒后再试 / wait %ld s before asking again",
		    wait, wait);
		return oc_http_reply_json(c->req, 429, json_pack("{s:{s:s, s:s, s:I}}", "error",
		    "code", "too_many", "message", msg, "retry_after", (json_int_t)wait));
	}
	if (random_code(code) != 0) {
		json_decref(body);
		return oc_http_reply_error(c->req, 500, "internal_error", "no randomness");
	}
	memset(&sc, 0, sizeof(sc));
	sc.account_id = c->a.id;
	snprintf(sc.mobile, sizeof(sc.mobile), "%s", mobile);
	code_hash(c, mobile, code, sc.code_hash);
	sc.sent_at = now;
	sc.expires_at = now + c->h->sms_ttl;
	snprintf(text, sizeof(text), "【网上办事大厅】您的验证码为%s，%ld分钟内有效。"
	    "您正在为%s办理用户注册，请勿将验证码告诉他人。", code,
	    (c->h->sms_ttl + 59) / 60, co.name);
	OPENSSL_cleanse(code, sizeof(code));
	if (oc_hall_sms_code_put(c->st, &sc, &err) != 0 ||
	    oc_notify_sms(c->h->notify, c->st, mobile, text, "sms_code", &err) != 0) {
		OPENSSL_cleanse(text, sizeof(text));
		json_decref(body);
		oc_hall_sms_code_delete(c->st, c->a.id, NULL);
		return oc_http_reply_error(c->req, 502, "sms_failed",
		    "短信发送失败，请稍后重试 / the SMS could not be sent; try again later");
	}
	OPENSSL_cleanse(text, sizeof(text));
	oc_hall_audit(c->st, c->a.serial, oc_http_req_peer(c->req), "registration.sms",
	    co.org_code, flagged ? "{\"segment\":\"unknown\"}" : "{}", NULL);
	json_decref(body);
	oc_http_reply_json(c->req, 200, json_pack("{s:b, s:I, s:I, s:b}", "sent", 1,
	    "expires_in", (json_int_t)c->h->sms_ttl, "resend_after", (json_int_t)c->h->sms_cooldown,
	    "flagged", flagged));
}

/* Registration fields: key, label, required, max characters. */
static const struct {
	const char *key, *label;
	size_t max;
} reg_fields[] = {
	{ "region", "企业类别", 8 },
	{ "economic_type", "经济类型", 32 },
	{ "province", "省份", 16 },
	{ "city", "城市", 32 },
	{ "district", "区（县）", 32 },
	{ "license_no", "营业执照注册号", 32 },
	{ "nickname", "证书昵称", 32 },
	{ "holder", "证书持有人", 32 },
	{ "holder_mobile", "证书持有人手机", 11 },
};

static bool
text_ok(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	}
	return n <= max;
}

static void
bad_field(struct hall_call *c, const char *field, const char *msg)
{
	oc_http_reply_json(c->req, 400, json_pack("{s:{s:s, s:s, s:s}}", "error",
	    "code", "invalid_input", "message", msg, "field", field));
}

void
hall_registration_submit(struct hall_call *c)
{
	struct oc_hall_company co;
	struct oc_hall_sms_code sc;
	struct oc_err err;
	const char *v[NELEM(reg_fields)] = { 0 }, *code = NULL;
	char hash[65], msg[256], org[10], *profile = NULL, text[512];
	bool local, flagged = false;
	int tries = 0;
	time_t now = time(NULL);
	json_t *body, *p;

	if (!require_main(c, true, &co) || (body = hall_body_json(c, 8192)) == NULL)
		return;
	oc_err_clear(&err);
	for (size_t i = 0; i < NELEM(reg_fields); i++) {
		if (oc_json_get_str(body, reg_fields[i].key, false, 256, &v[i], &err) != 0) {
			json_decref(body);
			return bad_field(c, reg_fields[i].key, err.msg);
		}
		if (v[i] == NULL)
			v[i] = "";
		if (!text_ok(v[i], reg_fields[i].max)) {
			snprintf(msg, sizeof(msg), "%s格式错误或过长 / %s is malformed or too long",
			    reg_fields[i].label, reg_fields[i].key);
			json_decref(body);
			return bad_field(c, reg_fields[i].key, msg);
		}
	}
	/* region, economic_type, province, city, district, license_no, nickname, holder, holder_mobile */
	if (strcmp(v[0], "local") != 0 && strcmp(v[0], "other") != 0) {
		json_decref(body);
		return bad_field(c, "region", "请选择本市企业（机构）或外省市企业 / region must be local or other");
	}
	local = strcmp(v[0], "local") == 0;
	if (!in_list(v[1], economic_types, NELEM(economic_types))) {
		json_decref(body);
		return bad_field(c, "economic_type", "请选择经济类型 / choose an economic type");
	}
	if (local ? !in_list(v[4], districts, NELEM(districts)) :
	    (!in_list(v[2], provinces, NELEM(provinces)) || v[3][0] == '\0' || v[4][0] == '\0')) {
		json_decref(body);
		return bad_field(c, local ? "district" : "province",
		    local ? "请选择工商注册所在区 / choose the district of registration" :
		    "请选择工商注册所在的省、市、区 / choose province, city and district");
	}
	if (strlen(v[5]) == 18 ? oc_uscc_check(v[5], &err) != 0 ||
	    (oc_uscc_orgcode(v[5], org) == 0 && strcmp(org, co.org_code) != 0) :
	    strlen(v[5]) < 6) {
		json_decref(body);
		return bad_field(c, "license_no",
		    "营业执照注册号错误（统一社会信用代码校验位错误或与证书机构代码不符） / the registration number is wrong");
	}
	for (size_t i = 6; i <= 7; i++)
		if (v[i][0] == '\0') {
			snprintf(msg, sizeof(msg), "请填写%s / %s is required", reg_fields[i].label,
			    reg_fields[i].key);
			json_decref(body);
			return bad_field(c, reg_fields[i].key, msg);
		}
	if (oc_notify_mobile_local(c->h->notify, c->st, v[8], &flagged, &err) != 0) {
		json_decref(body);
		return bad_field(c, "holder_mobile", err.msg);
	}
	if (oc_json_get_str(body, "code", true, 16, &code, &err) != 0 || strlen(code) != 6 ||
	    strspn(code, "0123456789") != 6) {
		json_decref(body);
		return bad_field(c, "code", "请输入6位手机验证码 / enter the 6-digit SMS code");
	}
	if (oc_hall_sms_code_get(c->st, c->a.id, &sc, &err) != 0) {
		json_decref(body);
		return oc_http_reply_error(c->req, 403, "sms_code", err.msg);
	}
	if (sc.tries >= c->h->sms_max_tries || now > sc.expires_at) {
		json_decref(body);
		return oc_http_reply_error(c->req, 403, "sms_code", sc.tries >= c->h->sms_max_tries ?
		    "验证码错误次数过多，请重新获取验证码 / too many wrong codes; request a new one" :
		    "验证码已过期，请重新获取 / the code has expired; request a new one");
	}
	if (strcmp(sc.mobile, v[8]) != 0) {
		json_decref(body);
		return bad_field(c, "holder_mobile",
		    "证书持有人手机与接收验证码的手机不一致 / the code was sent to another number");
	}
	/* the try is counted before the code is compared, by one statement
	 * that returns the new count: requests arriving together cannot all
	 * read the same count and, between them, guess more often than
	 * sms_max_tries (a right code's count is deleted with the code) */
	if (oc_hall_sms_code_fail(c->st, c->a.id, &tries, &err) != 0) {
		json_decref(body);
		return err.code == OC_ENOTFOUND ?
		    oc_http_reply_error(c->req, 403, "sms_code", err.msg) : oc_http_reply_err(c->req, &err);
	}
	if (tries > c->h->sms_max_tries) {
		json_decref(body);
		return oc_http_reply_error(c->req, 403, "sms_code",
		    "验证码错误次数过多，请重新获取验证码 / too many wrong codes; request a new one");
	}
	code_hash(c, v[8], code, hash);
	if (CRYPTO_memcmp(hash, sc.code_hash, 64) != 0) {
		json_decref(body);
		oc_hall_audit(c->st, c->a.serial, oc_http_req_peer(c->req), "registration.code_wrong",
		    co.org_code, "{}", NULL);
		if (tries >= c->h->sms_max_tries)
			return oc_http_reply_error(c->req, 403, "sms_code",
			    "验证码错误次数过多，请重新获取验证码 / too many wrong codes; request a new one");
		snprintf(msg, sizeof(msg), "验证码错误，还可尝试%ld次 / wrong code, %ld tries left",
		    c->h->sms_max_tries - tries, c->h->sms_max_tries - tries);
		return bad_field(c, "code", msg);
	}
	p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}",
	    "region", v[0], "economic_type", v[1], "province", local ? "上海市" : v[2],
	    "city", local ? "上海市" : v[3], "district", v[4], "license_no", v[5],
	    "nickname", v[6], "holder", v[7], "holder_mobile", v[8], "mobile_flagged", flagged);
	profile = p ? json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(p);
	json_decref(body);
	if (profile == NULL)
		return oc_http_reply_error(c->req, 500, "internal_error", "out of memory");
	if (strlen(profile) >= sizeof(co.profile) ||
	    oc_hall_company_register(c->st, co.id, c->a.id, profile, now, &err) != 0) {
		free(profile);
		return oc_http_reply_err(c->req, &err);
	}
	oc_hall_sms_code_delete(c->st, c->a.id, NULL);
	oc_hall_audit(c->st, c->a.serial, oc_http_req_peer(c->req), "registration.done",
	    co.org_code, profile, NULL);
	free(profile);
	snprintf(text, sizeof(text), "【网上办事大厅】%s已完成用户注册，主数字证书开通成功。", co.name);
	hall_notify(c, sc.mobile, "registration.done", text);
	hall_reply_me(c, 200);
}
