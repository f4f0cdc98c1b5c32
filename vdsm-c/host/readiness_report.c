/* The report's lines (readiness-internal.h): shared by every file of checks. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "readiness.h"
#include "readiness-internal.h"

struct rd_check *_printf_(4, 5) rd_add(struct rd_report *r, const char *name,
				       enum rd_verdict v, const char *fmt, ...)
{
	if (r->n == RD_MAX_CHECKS)
		return NULL;
	struct rd_check *c = &r->checks[r->n++];
	va_list ap;

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->verdict = v;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	if (v > r->verdict)
		r->verdict = v;
	return c;
}

void _printf_(2, 3) rd_hint(struct rd_check *c, const char *fmt, ...)
{
	va_list ap;

	if (!c)
		return;
	va_start(ap, fmt);
	vsnprintf(c->hint, sizeof(c->hint), fmt, ap);
	va_end(ap);
}

const char *rd_verdict_name(enum rd_verdict v)
{
	return v == RD_OK ? "ok" : v == RD_WARN ? "warn" : "fail";
}
