/* Helpers shared by cpu/virtcaps.c and cpu/cpumap.c. */
#ifndef VD_CPU_VIRT_INTERNAL_H
#define VD_CPU_VIRT_INTERNAL_H

#include <stddef.h>
#include <libxml/tree.h>
#include "../vdsm-c/util/macros.h"

/* Appends a copy of s unless already present; keeps *v NULL-terminated. */
int cpu_strv_push(char ***v, size_t *n, const char *s) _wur_;
/* Parses XML text without network access; NULL on error. */
xmlDoc *cpu_xml_parse(const char *xml);

#endif
