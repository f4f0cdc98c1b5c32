/* Shared by the readiness checks' files (readiness.c, readiness_stg.c) only. */
#ifndef VD_READINESS_INTERNAL_H
#define VD_READINESS_INTERNAL_H

#include "readiness.h"

/* Appends a check (NULL when the report is full); the report's verdict is the worst. */
struct rd_check *_printf_(4, 5) rd_add(struct rd_report *r, const char *name,
				       enum rd_verdict v, const char *fmt, ...);
/* Sets the hint of a check (c may be NULL). */
void _printf_(2, 3) rd_hint(struct rd_check *c, const char *fmt, ...);

#endif
