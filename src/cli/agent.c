/*
 * agent.c — `onecert agent`: run the local USB-key agent (证书助手,
 * src/agent/agent.c, docs/api.md "Agent").
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "cli/cli.h"
#include "onecert/log.h"

enum { A_CONFIG = 256, A_LISTEN, A_ORIGIN, A_MODULE, A_HELP };

static const struct option longopts[] = {
	{ "config", required_argument, NULL, A_CONFIG },
	{ "listen", required_argument, NULL, A_LISTEN },
	{ "origin", required_argument, NULL, A_ORIGIN },
	{ "module", required_argument, NULL, A_MODULE },
	{ "help", no_argument, NULL, A_HELP },
	{ NULL, 0, NULL, 0 },
};

static const char usage[] =
"usage: onecert agent [--config agent.ini] [--listen 127.0.0.1:PORT] [--origin URL]... [--module PKCS11.so]\n"
"  The local USB-key agent (证书助手): lets the pages of the allowed web origins (the hall's,\n"
"  e.g. --origin https://hall.example.cn) list the tokens and their certificates, sign a login\n"
"  challenge with a PIN, and change a PIN.  Listens on loopback only (default "
OC_AGENT_DEFAULT_LISTEN ").\n";

int
oc_cli_agent(int argc, char **argv)
{
	struct oc_agent_opts o;
	struct oc_err err;
	int c;

	memset(&o, 0, sizeof(o));
	optind = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case A_CONFIG: o.config = optarg; break;
		case A_LISTEN: o.listen = optarg; break;
		case A_MODULE: o.module = optarg; break;
		case A_ORIGIN:
			if (o.n_origins == OC_AGENT_ORIGINS_MAX)
				return oc_cli_usage("at most %d --origin", OC_AGENT_ORIGINS_MAX);
			o.origins[o.n_origins++] = optarg;
			break;
		case A_HELP:
			fputs(usage, stdout);
			return 0;
		default:
			return oc_cli_usage("unknown or incomplete option '%s' for agent",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return oc_cli_usage("unexpected argument '%s'", argv[optind]);
	oc_err_clear(&err);
	if (getenv("ONECERT_LOG_LEVEL") == NULL)
		oc_log_set_level(OC_LOG_INFO);
	return oc_agent_serve(&o, &err) == 0 ? 0 : oc_cli_fail(&err);
}
