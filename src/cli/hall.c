/*
 * hall.c — `onecert hall …`: create a hall directory, serve it, and grant
 * staff roles (docs/cli.md).
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "hall/serve.h"
#include "onecert/buf.h"
#include "onecert/config.h"
#include "onecert/hall_store.h"
#include "onecert/log.h"

enum { H_DIR = 256, H_TRUST, H_TLS_CERT, H_TLS_KEY, H_TLS_LISTEN, H_LISTEN, H_SERIAL, H_ROLE };

static const struct option longopts[] = {
	{ "dir", required_argument, NULL, H_DIR },
	{ "trust", required_argument, NULL, H_TRUST },
	{ "tls-cert", required_argument, NULL, H_TLS_CERT },
	{ "tls-key", required_argument, NULL, H_TLS_KEY },
	{ "tls-listen", required_argument, NULL, H_TLS_LISTEN },
	{ "listen", required_argument, NULL, H_LISTEN },
	{ "serial", required_argument, NULL, H_SERIAL },
	{ "role", required_argument, NULL, H_ROLE },
	{ NULL, 0, NULL, 0 },
};

struct hopts {
	const char *dir, *trust, *tls_cert, *tls_key, *tls_listen, *listen, *serial, *role;
};

static int
abs_path(const char *p, char *out, size_t cap)
{
	char cwd[2048];

	if (p[0] == '/')
		return snprintf(out, cap, "%s", p) < (int)cap ? 0 : -1;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return -1;
	return snprintf(out, cap, "%s/%s", cwd, p) < (int)cap ? 0 : -1;
}

static int
cmd_init(const struct hopts *o)
{
	struct oc_config *cfg;
	struct oc_err err;
	struct oc_hall_store *st;
	char path[4096], anchors[8192] = "", one[4096];
	char *list, *save = NULL;

	oc_err_clear(&err);
	if (o->trust == NULL)
		return oc_cli_usage("hall init needs --trust CA.pem[,CA2.pem…] (the CAs whose certificates may log in)");
	snprintf(path, sizeof(path), "%s/hall.ini", o->dir);
	if (access(path, F_OK) == 0) {
		fprintf(stderr, "onecert: %s already holds a hall (hall.ini exists)\n", o->dir);
		return 1;
	}
	if (mkdir(o->dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "onecert: cannot create %s: %s\n", o->dir, strerror(errno));
		return 1;
	}
	/* The anchors are copied into HDIR/trust/ and configured as that
	 * folder: the hall keeps working if the originals move, and no list
	 * of long paths has to fit on one INI line. */
	snprintf(one, sizeof(one), "%s/trust", o->dir);
	if (mkdir(one, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "onecert: cannot create %s: %s\n", one, strerror(errno));
		return 1;
	}
	list = strdup(o->trust);
	int n = 0;
	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		struct oc_buf b;
		char dst[4200];

		oc_buf_init(&b, 16 << 20);
		snprintf(dst, sizeof(dst), "%s/trust/anchor-%d.pem", o->dir, ++n);
		if (oc_buf_read_file(&b, t) != 0 || oc_write_file_atomic(dst, b.p, b.len, 0644) != 0) {
			oc_buf_cleanup(&b);
			fprintf(stderr, "onecert: cannot read trust anchor %s\n", t);
			free(list);
			return 1;
		}
		oc_buf_cleanup(&b);
		if (strlen(anchors) + strlen(t) + 3 < sizeof(anchors)) {
			if (anchors[0])
				strcat(anchors, ", ");
			strcat(anchors, t);
		}
	}
	free(list);
	cfg = oc_config_new();
	oc_config_set(cfg, "hall", "tls_listen", o->tls_listen ? o->tls_listen : "127.0.0.1:9443");
	if (o->listen)
		oc_config_set(cfg, "hall", "listen", o->listen);
	if ((o->tls_cert && (abs_path(o->tls_cert, one, sizeof(one)) != 0 ||
	    oc_config_set(cfg, "hall", "tls_cert", one) != 0)) ||
	    (o->tls_key && (abs_path(o->tls_key, one, sizeof(one)) != 0 ||
	    oc_config_set(cfg, "hall", "tls_key", one) != 0))) {
		fprintf(stderr, "onecert: the TLS certificate or key path is too long for hall.ini; "
		    "copy them into %s as tls.pem and tls.key instead\n", o->dir);
		oc_config_free(cfg);
		return 1;
	}
	oc_config_set(cfg, "hall", "database", "hall.db");
	oc_config_set(cfg, "hall", "session_idle", "30m");
	oc_config_set(cfg, "hall", "session_recheck", "5m");
	oc_config_set(cfg, "hall", "challenge_ttl", "2m");
	oc_config_set(cfg, "trust", "anchors", "trust");
	snprintf(one, sizeof(one), "%s/hall.db", o->dir);
	if ((st = oc_hall_store_open(one, &err)) == NULL) {
		oc_config_free(cfg);
		return oc_cli_fail(&err);
	}
	oc_hall_store_close(st);
	if (oc_config_save(cfg, path, 0644, &err) != 0) {
		oc_config_free(cfg);
		return oc_cli_fail(&err);
	}
	oc_config_free(cfg);
	printf("hall initialized in %s (trusting %s)\n", o->dir, anchors);
	return 0;
}

int
oc_cli_hall(int argc, char **argv)
{
	struct hopts o;
	struct oc_err err;
	const char *cmd = argv[0];
	char who[128];
	struct passwd *pw;
	int c;

	memset(&o, 0, sizeof(o));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case H_DIR: o.dir = optarg; break;
		case H_TRUST: o.trust = optarg; break;
		case H_TLS_CERT: o.tls_cert = optarg; break;
		case H_TLS_KEY: o.tls_key = optarg; break;
		case H_TLS_LISTEN: o.tls_listen = optarg; break;
		case H_LISTEN: o.listen = optarg; break;
		case H_SERIAL: o.serial = optarg; break;
		case H_ROLE: o.role = optarg; break;
		default:
			return oc_cli_usage("unknown or incomplete option '%s' for hall %s",
			    argv[optind - 1], cmd);
		}
	}
	if (optind < argc)
		return oc_cli_usage("unexpected argument '%s'", argv[optind]);
	if (o.dir == NULL)
		return oc_cli_usage("hall %s needs --dir HDIR", cmd);
	oc_err_clear(&err);
	if (strcmp(cmd, "init") == 0)
		return cmd_init(&o);
	if (strcmp(cmd, "serve") == 0) {
		struct oc_hall_serve_opts so = { o.dir, o.listen, o.tls_listen };
		if (getenv("ONECERT_LOG_LEVEL") == NULL)
			oc_log_set_level(OC_LOG_INFO);
		return oc_hall_serve(&so, &err) == 0 ? 0 : oc_cli_fail(&err);
	}
	if (strcmp(cmd, "grant-role") == 0 || strcmp(cmd, "revoke-role") == 0) {
		if (o.serial == NULL || o.role == NULL)
			return oc_cli_usage("hall %s needs --serial HEX --role reviewer|admin", cmd);
		pw = getpwuid(getuid());
		snprintf(who, sizeof(who), "cli:%s", pw ? pw->pw_name : "?");
		if (oc_hall_grant_role(o.dir, o.serial, o.role, cmd[0] == 'g', who, &err) != 0)
			return oc_cli_fail(&err);
		printf("role %s %s for %s\n", o.role, cmd[0] == 'g' ? "granted" : "revoked", o.serial);
		return 0;
	}
	return oc_cli_usage("unknown command 'hall %s'", cmd);
}
