/*
 * agent.h — `onecert agent`, the local USB-key agent (证书助手, SPEC §5).
 */
#ifndef ONECERT_AGENT_H
#define ONECERT_AGENT_H

#include <stddef.h>
#include "onecert/error.h"

#define OC_AGENT_DEFAULT_LISTEN "127.0.0.1:17650"
#define OC_AGENT_ORIGINS_MAX 16

struct oc_agent_opts {
	const char *config;       /* agent.ini, or NULL */
	const char *listen;       /* NULL: agent.listen, else the default */
	const char *origins[OC_AGENT_ORIGINS_MAX]; /* --origin, in addition to agent.origins */
	size_t n_origins;
	const char *module;       /* PKCS#11 module; NULL: agent.module, else the default */
};

/* Serve until SIGINT/SIGTERM.  Refuses a listen address that is not on
 * loopback and a configuration with no allowed origin. */
int oc_agent_serve(const struct oc_agent_opts *o, struct oc_err *err);

/* Pure checks, exported for the unit tests. */
/* Whether host:port is a loopback listen address (127.0.0.0/8, ::1,
 * localhost). */
int oc_agent_listen_ok(const char *listen);
/* Whether a Host header names this agent: 127.0.0.1, localhost or [::1]
 * with exactly `port`. */
int oc_agent_host_ok(const char *host, int port);
/* Whether url is where a page may find the agent: http://127.0.0.1:PORT,
 * http://localhost:PORT or http://[::1]:PORT, PORT 1–65535 (the hall's
 * hall.agent_url). */
int oc_agent_url_ok(const char *url);
/* Whether s is an origin as a browser sends it: scheme "http" or "https",
 * "://", a host, an optional ":port", nothing else (no path, no user
 * info).  Used to check the configuration. */
int oc_agent_origin_valid(const char *s);
/* Whether s may be signed: a login challenge, base64 text of 16–128
 * characters. */
int oc_agent_challenge_ok(const char *s);

#endif
