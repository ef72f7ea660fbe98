/*
 * common.c — output and PIN helpers shared by the command groups.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli/cli.h"
#include "onecert/buf.h"

int
oc_cli_fail(const struct oc_err *err)
{
	if (err == NULL || err->msg[0] == '\0')
		fprintf(stderr, "onecert: failed\n");
	else if (err->detail[0] != '\0')
		fprintf(stderr, "onecert: %s (%s)\n", err->msg, err->detail);
	else
		fprintf(stderr, "onecert: %s\n", err->msg);
	return 1;
}

int
oc_cli_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("onecert: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(see onecert --help)\n", stderr);
	return 2;
}

int
oc_cli_print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s != NULL) {
		puts(s);
		free(s);
	}
	json_decref(v);
	return 0;
}

char *
oc_cli_pin(const char *flag_value, const char *file_flag, const char *env,
    const char *what, struct oc_err *err)
{
	struct oc_buf b;
	char *nl;
	const char *e;

	if (flag_value != NULL)
		return strdup(flag_value);
	if (file_flag != NULL) {
		oc_buf_init(&b, 1024);
		if (oc_buf_read_file(&b, file_flag) != 0) {
			oc_buf_cleanse(&b);
			oc_err_set(err, OC_EIO, "cannot read %s from %s", what, file_flag);
			return NULL;
		}
		nl = strpbrk((char *)b.p, "\r\n");
		if (nl != NULL)
			*nl = '\0';
		char *pin = strdup(b.p ? (char *)b.p : "");
		oc_buf_cleanse(&b);
		return pin;
	}
	if (env != NULL && (e = getenv(env)) != NULL)
		return strdup(e);
	oc_err_set(err, OC_EINVAL, "%s is required (flag, file or $%s)", what,
	    env ? env : "?");
	return NULL;
}
