#include <stdio.h>
#include <string.h>

#include "error.h"
#include "macros.h"

static const struct {
	int code;
	const char *name;
	const char *msg;
} codes[] = {
#define VD_ERR(name, code, msg) { code, #name, msg },
#include "errors.def"
#undef VD_ERR
};

const char *vd_code_message(int code)
{
	for (size_t i = 0; i < ELEMENTSOF(codes); i++)
		if (codes[i].code == code)
			return codes[i].msg;
	return NULL;
}

unsigned vd_code_count(void)
{
	return ELEMENTSOF(codes);
}

int vd_code_at(unsigned i, const char **ret_name, const char **ret_msg)
{
	if (i >= ELEMENTSOF(codes))
		return -1;
	if (ret_name)
		*ret_name = codes[i].name;
	if (ret_msg)
		*ret_msg = codes[i].msg;
	return codes[i].code;
}

int vd_error_setv(struct vd_error *err, int code, const char *fmt, va_list ap)
{
	if (!err || err->code != 0)
		return -1;
	err->code = code;
	if (fmt) {
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	} else {
		const char *m = vd_code_message(code);
		snprintf(err->msg, sizeof(err->msg), "%s", m ? m : "Error");
	}
	return -1;
}

int vd_error_set(struct vd_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vd_error_setv(err, code, fmt, ap);
	va_end(ap);
	return -1;
}
