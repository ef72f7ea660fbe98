/*
 * replay.c — runs a fuzz target's LLVMFuzzerTestOneInput over every file
 * in the corpus folders (or single files) named on the command line, the
 * way libFuzzer does with -runs=0, so that the committed corpus is a
 * regression suite in any build, gcc included (SQLite's fuzzcheck is the
 * model).  Each input is copied into a buffer of exactly its size, so
 * ASan sees a read past its end.  The empty input runs first, as
 * libFuzzer's does.
 *
 * Exit status: 0 when every input ran; 1 when a folder or file cannot be
 * read or when no input was found at all (an empty corpus tests nothing).
 * A failing input crashes or aborts the process; the last "replay:" line
 * on stderr names it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REPLAY_FILE_MAX (4 * 1024 * 1024)

/* Run one file through the target; 0, or -1 when it cannot be read. */
static int
run_file(const char *path)
{
	FILE *f = NULL;
	uint8_t *buf = NULL, *exact = NULL;
	size_t len = 0, cap = 0, n;
	int rc = -1;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		goto out;
	}
	for (;;) {
		if (len == cap) {
			uint8_t *p;

			if (cap >= REPLAY_FILE_MAX) {
				fprintf(stderr, "replay: %s: larger than %d bytes\n",
				    path, REPLAY_FILE_MAX);
				goto out;
			}
			cap = cap ? cap * 2 : 4096;
			if ((p = realloc(buf, cap)) == NULL)
				goto out;
			buf = p;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		goto out;
	}
	/* Exactly len bytes (malloc(0) may return NULL: use 1). */
	if ((exact = malloc(len > 0 ? len : 1)) == NULL)
		goto out;
	if (len > 0)
		memcpy(exact, buf, len);
	/* Named before it runs: a crashing input is the last one named. */
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(exact, len);
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	free(buf);
	free(exact);
	return rc;
}

static int
skip_entry(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

/* Run every regular file in dir, in name order; adds to *count. */
static int
run_dir(const char *dir, size_t *count)
{
	struct dirent **names = NULL;
	char path[4096];
	struct stat st;
	int n, rc = 0;

	if ((n = scandir(dir, &names, skip_entry, alphasort)) < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    names[i]->d_name) >= sizeof(path) ||
		    stat(path, &st) != 0) {
			fprintf(stderr, "replay: %s/%s: cannot stat\n", dir,
			    names[i]->d_name);
			rc = -1;
		} else if (S_ISREG(st.st_mode)) {
			if (run_file(path) != 0)
				rc = -1;
			else
				(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	static const uint8_t empty[1];
	struct stat st;
	size_t count = 0;
	int status = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n",
		    argv[0]);
		return 2;
	}
	LLVMFuzzerTestOneInput(empty, 0);
	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
			    strerror(errno));
			status = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (run_dir(argv[i], &count) != 0)
				status = 1;
		} else if (run_file(argv[i]) != 0) {
			status = 1;
		} else {
			count++;
		}
	}
	if (count == 0) {
		fprintf(stderr, "replay: no input found\n");
		status = 1;
	}
	printf("replay: %zu inputs, %s\n", count, status ? "FAILED" : "ok");
	return status;
}
