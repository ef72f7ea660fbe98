/*
 * admin.c — `onecert admin …`: what a hall operator does to the hall's
 * SMS side without a browser (docs/cli.md): load the mobile number-segment
 * table behind the local-mobile rule, read the outbox, and send a test
 * message through the configured backend (to check the Kannel gateway).
 *
 * HDIR is a hall directory made by `onecert hall init`: the database is
 * HDIR/<[hall] database> and [sms] in HDIR/hall.ini picks the backend,
 * exactly as `onecert hall serve` reads them.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "onecert/config.h"
#include "onecert/hall_store.h"
#include "onecert/ident.h"
#include "onecert/notify.h"

enum { A_DIR = 256, A_FILE, A_REPLACE, A_TO, A_AFTER, A_JSON, A_TEXT, A_PURPOSE, A_OPERATOR };

static const struct option longopts[] = {
	{ "dir", required_argument, NULL, A_DIR },
	{ "file", required_argument, NULL, A_FILE },
	{ "replace", no_argument, NULL, A_REPLACE },
	{ "to", required_argument, NULL, A_TO },
	{ "after", required_argument, NULL, A_AFTER },
	{ "json", no_argument, NULL, A_JSON },
	{ "text", required_argument, NULL, A_TEXT },
	{ "purpose", required_argument, NULL, A_PURPOSE },
	{ "operator", required_argument, NULL, A_OPERATOR },
	{ NULL, 0, NULL, 0 },
};

struct aopts {
	const char *dir, *file, *to, *after, *text, *purpose, *operator_;
	bool replace, json;
};

/* Open HDIR's hall.ini and database.  Caller frees both. */
static int
open_hall(const char *dir, struct oc_config **cfg, struct oc_hall_store **st,
    struct oc_err *err)
{
	char path[4096];

	*cfg = NULL;
	*st = NULL;
	snprintf(path, sizeof(path), "%s/hall.ini", dir);
	if (access(path, F_OK) != 0)
		return oc_err_set(err, OC_ENOTFOUND, "%s 不是办事大厅目录（没有 hall.ini） / %s is "
		    "not a hall directory (no hall.ini)", dir, dir);
	if ((*cfg = oc_config_load(path, err)) == NULL)
		return OC_ECONFIG;
	snprintf(path, sizeof(path), "%s/%s", dir,
	    oc_config_get(*cfg, "hall", "database", "hall.db"));
	if ((*st = oc_hall_store_open(path, err)) == NULL) {
		oc_config_free(*cfg);
		*cfg = NULL;
		return OC_ESTORE;
	}
	return 0;
}

static const char *
operator_name(const struct aopts *o, char *buf, size_t cap)
{
	const char *env = getenv("ONECERT_OPERATOR");
	struct passwd *pw;

	if (o->operator_ != NULL)
		snprintf(buf, cap, "%s", o->operator_);
	else if (env != NULL && *env)
		snprintf(buf, cap, "%s", env);
	else if ((pw = getpwuid(getuid())) != NULL)
		snprintf(buf, cap, "cli:%s", pw->pw_name);
	else
		snprintf(buf, cap, "cli:uid%ld", (long)getuid());
	return buf;
}

static void
iso_time(time_t t, char *buf, size_t cap)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
cmd_import(const struct aopts *o, struct oc_hall_store *st, struct oc_err *err)
{
	char who[128];
	size_t n;
	json_t *d;
	char *dj;

	if (o->file == NULL)
		return oc_cli_usage("admin import-segments needs --file F (lines \"PREFIX7,CITY\")");
	if (oc_notify_import_segments(st, o->file, o->replace, &n, err) != 0)
		return oc_cli_fail(err);
	d = json_pack("{s:I, s:b}", "count", (json_int_t)n, "replace", o->replace);
	dj = d ? json_dumps(d, JSON_COMPACT) : NULL;
	oc_hall_audit(st, operator_name(o, who, sizeof(who)), "cli", "segments.import", o->file,
	    dj, NULL);
	free(dj);
	json_decref(d);
	if (o->json)
		return oc_cli_print_json(json_pack("{s:I, s:b, s:s}", "imported", (json_int_t)n,
		    "replaced", o->replace, "file", o->file));
	printf("imported %zu segments from %s%s\n", n, o->file,
	    o->replace ? " (the old table was replaced)" : "");
	return 0;
}

static json_t *
sms_json(const struct oc_hall_sms *m)
{
	char ts[32];

	iso_time(m->ts, ts, sizeof(ts));
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)m->id,
	    "ts", ts, "to", m->to, "text", m->text, "purpose", m->purpose, "via", m->via,
	    "status", m->status, "answer", m->answer);
}

static int
list_json(const struct oc_hall_sms *m, void *arg)
{
	json_t *item = sms_json(m);

	/* a text that is not UTF-8 (an old row) makes json_pack fail */
	return item != NULL && json_array_append_new(arg, item) == 0 ? 0 : OC_ENOMEM;
}

static int
list_text(const struct oc_hall_sms *m, void *arg)
{
	char ts[32], text[sizeof(m->text)];

	snprintf(text, sizeof(text), "%s", m->text);
	for (char *p = text; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	iso_time(m->ts, ts, sizeof(ts));
	printf("#%lld %s %s %s/%s %s %s%s%s%s\n", m->id, ts, m->to, m->via, m->status,
	    m->purpose[0] ? m->purpose : "-", text, m->answer[0] ? " (" : "", m->answer,
	    m->answer[0] ? ")" : "");
	++*(size_t *)arg;
	return 0;
}

static int
cmd_outbox(const struct aopts *o, struct oc_hall_store *st, struct oc_err *err)
{
	long long after = 0;
	size_t n = 0;
	json_t *items;
	char *end;

	if (o->to != NULL && oc_mobile_check(o->to, err) != 0)
		return oc_cli_fail(err);
	if (o->after != NULL) {
		errno = 0;
		after = strtoll(o->after, &end, 10);
		if (errno != 0 || end == o->after || *end != '\0' || after < 0)
			return oc_cli_usage("--after needs a message number (0 or more)");
	}
	if (!o->json) {
		if (oc_hall_outbox_list(st, o->to, after, 0, list_text, &n, err) != 0)
			return oc_cli_fail(err);
		if (n == 0)
			printf("no messages\n");
		return 0;
	}
	if ((items = json_array()) == NULL)
		return oc_cli_fail(NULL);
	if (oc_hall_outbox_list(st, o->to, after, 0, list_json, items, err) != 0) {
		json_decref(items);
		if (err->msg[0] == '\0')
			oc_err_set(err, OC_ENOMEM, "cannot build the JSON answer");
		return oc_cli_fail(err);
	}
	return oc_cli_print_json(json_pack("{s:o}", "items", items));
}

static int
keep_last(const struct oc_hall_sms *m, void *arg)
{
	*(struct oc_hall_sms *)arg = *m;
	return 0;
}

static int
cmd_send(const struct aopts *o, struct oc_config *cfg, struct oc_hall_store *st,
    struct oc_err *err)
{
	struct oc_notify *n;
	struct oc_hall_sms last;
	char who[128];
	int rc;

	if (o->to == NULL || o->text == NULL)
		return oc_cli_usage("admin send-sms needs --to MOBILE --text TEXT");
	if ((n = oc_notify_new(cfg, "sms", err)) == NULL)
		return oc_cli_fail(err);
	rc = oc_notify_sms(n, st, o->to, o->text, o->purpose ? o->purpose : "admin.test", err);
	/* what the outbox recorded, with the gateway's answer */
	memset(&last, 0, sizeof(last));
	if (rc != OC_EINVAL && rc != OC_ETOOBIG) {
		oc_hall_outbox_list(st, o->to, 0, 0, keep_last, &last, NULL);
		oc_hall_audit(st, operator_name(o, who, sizeof(who)), "cli", "sms.send", o->to,
		    rc == 0 ? "{\"status\":\"ok\"}" : "{\"status\":\"failed\"}", NULL);
	}
	if (rc != 0) {
		oc_notify_free(n);
		return oc_cli_fail(err);
	}
	if (o->json) {
		json_t *v = last.id ? sms_json(&last) : json_object();

		oc_notify_free(n);
		return oc_cli_print_json(v);
	}
	if (strcmp(oc_notify_backend(n), "outbox") == 0)
		printf("message #%lld stored in the outbox (backend outbox: nothing leaves the "
		    "hall)\n", last.id);
	else
		printf("message #%lld sent to %s via %s (%s)\n", last.id, o->to,
		    oc_notify_backend(n), last.answer);
	oc_notify_free(n);
	return 0;
}

int
oc_cli_admin(int argc, char **argv)
{
	struct aopts o;
	struct oc_err err;
	struct oc_config *cfg = NULL;
	struct oc_hall_store *st = NULL;
	const char *cmd = argv[0];
	int c, rc;

	memset(&o, 0, sizeof(o));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case A_DIR: o.dir = optarg; break;
		case A_FILE: o.file = optarg; break;
		case A_REPLACE: o.replace = true; break;
		case A_TO: o.to = optarg; break;
		case A_AFTER: o.after = optarg; break;
		case A_JSON: o.json = true; break;
		case A_TEXT: o.text = optarg; break;
		case A_PURPOSE: o.purpose = optarg; break;
		case A_OPERATOR: o.operator_ = optarg; break;
		default:
			return oc_cli_usage("unknown or incomplete option '%s' for admin %s",
			    argv[optind - 1], cmd);
		}
	}
	if (optind < argc)
		return oc_cli_usage("unexpected argument '%s'", argv[optind]);
	if (strcmp(cmd, "import-segments") != 0 && strcmp(cmd, "outbox") != 0 &&
	    strcmp(cmd, "send-sms") != 0)
		return oc_cli_usage("unknown command 'admin %s'", cmd);
	if (o.dir == NULL)
		return oc_cli_usage("admin %s needs --dir HDIR", cmd);
	oc_err_clear(&err);
	if (open_hall(o.dir, &cfg, &st, &err) != 0)
		return oc_cli_fail(&err);
	if (strcmp(cmd, "import-segments") == 0)
		rc = cmd_import(&o, st, &err);
	else if (strcmp(cmd, "outbox") == 0)
		rc = cmd_outbox(&o, st, &err);
	else
		rc = cmd_send(&o, cfg, st, &err);
	oc_hall_store_close(st);
	oc_config_free(cfg);
	return rc;
}
