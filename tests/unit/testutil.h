/* Helpers shared by the unit tests (include after <cmocka.h>). */
#ifndef VD_TESTUTIL_H
#define VD_TESTUTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Fixture root: $VDSM_TEST_DATA, else tests/data (tests run from the checkout). */
static inline const char *test_data_dir(void)
{
	const char *d = getenv("VDSM_TEST_DATA");
	return d ? d : "tests/data";
}

/* A path under the fixture root, printf-style ("cpu/%s"); the caller frees it. */
__attribute__((format(printf, 1, 2), unused)) static char *test_data(const char *fmt, ...)
{
	char *rel = NULL, *p = NULL;
	va_list ap;

	va_start(ap, fmt);
	assert_true(vasprintf(&rel, fmt, ap) > 0);
	va_end(ap);
	assert_true(asprintf(&p, "%s/%s", test_data_dir(), rel) > 0);
	free(rel);
	return p;
}

#endif
