/*
 * store_int.h — the backend table behind include/onecert/store.h.  Each
 * backend (sqlite.c; pg.c later) fills one of these; store.c dispatches.
 */
#ifndef ONECERT_STORE_INT_H
#define ONECERT_STORE_INT_H

#include <pthread.h>
#include <stddef.h>

#include "onecert/store.h"

/* Process-wide SQLite settings, made once before the first connection
 * opens (sqlite.c): no global memory statistics, whose mutex every
 * allocation of every connection would take. */
void oc__sqlite_global_init(void);

/* State shared by every handle of this process on one database file
 * (dbshared.c): the file is known by device and inode, kind names the
 * user (a string that lives as long as the program).  The state is size
 * bytes, zeroed when first made, and begins with a struct oc__dbshared
 * whose mutex and condition variable are ready; NULL if the file cannot
 * be found or memory is short.  oc__dbshared_put drops the reference and
 * frees the state with the last one. */
struct oc__dbshared {
	pthread_mutex_t mu;
	pthread_cond_t cv;
};
void *oc__dbshared_get(const char *path, const char *kind, size_t size);
void oc__dbshared_put(void *state);

struct oc_store_ops {
	const char *name;
	void (*close)(struct oc_store *st);
	int (*schema_version)(struct oc_store *st);
	int (*exec)(struct oc_store *st, const char *sql, struct oc_err *err);
	int (*company_put)(struct oc_store *, struct oc_company *, struct oc_err *);
	int (*company_get)(struct oc_store *, long long, struct oc_company *, struct oc_err *);
	int (*company_find)(struct oc_store *, const char *, struct oc_company *, struct oc_err *);
	int (*enroll_insert)(struct oc_store *, struct oc_enrollment *, struct oc_err *);
	int (*enroll_get)(struct oc_store *, long long, struct oc_enrollment *, struct oc_err *);
	int (*enroll_transition)(struct oc_store *, long long, enum oc_enroll_status,
		enum oc_enroll_status, const char *, const char *, const char *, struct oc_err *);
	int (*cert_insert)(struct oc_store *, const struct oc_cert_rec *, struct oc_err *);
	int (*cert_list)(struct oc_store *, const struct oc_cert_filter *, oc_cert_cb, void *, struct oc_err *);
	int (*cert_changes)(struct oc_store *, const char *, long long, oc_cert_cb, void *,
		long long *, struct oc_err *);
	int (*cert_revoke)(struct oc_store *, const char *, time_t, int, const char *, struct oc_err *);
	int (*cert_set_replaced_by)(struct oc_store *, const char *, const char *, struct oc_err *);
	int (*medium_put)(struct oc_store *, const struct oc_medium *, struct oc_err *);
	int (*medium_get)(struct oc_store *, const char *, struct oc_medium *, struct oc_err *);
	int (*medium_set_status)(struct oc_store *, const char *, const char *, struct oc_err *);
	int (*audit_last)(struct oc_store *, char prev_hash[65], struct oc_err *);
	int (*audit_insert)(struct oc_store *, const struct oc_audit_rec *, struct oc_err *);
	int (*audit_list)(struct oc_store *, long long, oc_audit_cb, void *, struct oc_err *);
	int (*counter_next)(struct oc_store *, const char *, long long *, struct oc_err *);
	int (*operator_grant)(struct oc_store *, const char *, const char *, const char *, struct oc_err *);
	int (*operator_revoke)(struct oc_store *, const char *, const char *, struct oc_err *);
	int (*operator_check)(struct oc_store *, const char *, char *, size_t, struct oc_err *);
	int (*auth_version)(struct oc_store *, long long *, struct oc_err *);
	int (*app_open)(struct oc_store *, const char *, const char *, const char *, struct oc_err *);
	int (*app_close)(struct oc_store *, const char *, const char *, const char *, struct oc_err *);
	int (*app_list)(struct oc_store *, const char *, oc_app_cb, void *, struct oc_err *);
};

struct oc_store {
	const struct oc_store_ops *ops;
	void *impl;
	int depth;        /* transaction nesting */
	int failed;       /* a nested rollback happened */
};

struct oc_store *oc__store_sqlite_open(const char *path, struct oc_err *err);

/* Copy src into a fixed field; OC_EINVAL naming `what` if it does not fit. */
int oc__store_copy(char *dst, size_t cap, const char *src, const char *what,
	struct oc_err *err);

#endif
