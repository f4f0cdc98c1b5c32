/* VDSM status codes (API.md §4) and the error carried from a verb to rpc/.
 *
 * The lowest layer that knows the cause sets the error once with vd_error_set();
 * callers propagate it and never overwrite it (a second set is ignored). */
#ifndef VD_ERRORS_H
#define VD_ERRORS_H

#include <stdbool.h>
#include <stdarg.h>

enum vd_code {
#define VD_ERR(name, code, msg) VD_ERR_##name = code,
#include "errors.def"
#undef VD_ERR
};

#define VD_ERROR_MSG_MAX 512

struct vd_error {
	int code;                     /* 0 = no error set */
	char msg[VD_ERROR_MSG_MAX];
};

/* Default message for a code, or NULL when the code is not in errors.def. */
const char *vd_code_message(int code);

/* Sets code and message (printf-style; NULL fmt = the default message of the code).
 * Does nothing when err is NULL or already holds an error. Always returns -1 so it
 * can end a failing function: `return vd_error_set(err, ...);`. */
int vd_error_set(struct vd_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int vd_error_setv(struct vd_error *err, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static inline bool vd_error_is_set(const struct vd_error *err)
{
	return err && err->code != 0;
}

static inline void vd_error_clear(struct vd_error *err)
{
	err->code = 0;
	err->msg[0] = '\0';
}

/* err cleared, for reusing one error across independent calls. */
static inline struct vd_error *vd_error_fresh(struct vd_error *err)
{
	vd_error_clear(err);
	return err;
}

/* Number of rows in errors.def (for the completeness test). */
unsigned vd_code_count(void);
/* Row i of errors.def: returns its code, stores name and message. */
int vd_code_at(unsigned i, const char **ret_name, const char **ret_msg);

#endif
