/*
 * cli.h — shared pieces of the `onecert` command line.  One file per
 * command group (ca.c, token.c, …), each exporting one entry point that
 * main.c dispatches to with argv starting at the group's subcommand
 * (argv[0] = "init" for `onecert ca init …`).
 *
 * Conventions: human text on stdout by default, JSON with --json; errors on
 * stderr as "onecert: <message>" (+ " (<detail>)" when there is detail);
 * exit status 0 on success, 1 on a refused or failed operation, 2 on a
 * usage error.
 */
#ifndef ONECERT_CLI_H
#define ONECERT_CLI_H

#include <stdbool.h>
#include <jansson.h>
#include "onecert/error.h"

int oc_cli_ca(int argc, char **argv);
int oc_cli_token(int argc, char **argv);
int oc_cli_hall(int argc, char **argv);
int oc_cli_admin(int argc, char **argv);
int oc_cli_agent(int argc, char **argv);

/* Print err to stderr as above; returns 1. */
int oc_cli_fail(const struct oc_err *err);
/* printf-style usage error to stderr; returns 2. */
int oc_cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print v (indented) to stdout and decref it; returns 0. */
int oc_cli_print_json(json_t *v);

/* A PIN from, in order: the flag's value (may be NULL), the file named by
 * file_flag (first line), or the environment variable env.  Returns a
 * malloc'd copy the caller must cleanse and free, or NULL with err set. */
char *oc_cli_pin(const char *flag_value, const char *file_flag,
	const char *env, const char *what, struct oc_err *err);

#endif
