/* Parsers of untrusted text for the readiness checks of storage: the connection specs
 * (command line, wire) and getent's output. No I/O (tests/fuzz/fuzz_readiness.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "readiness.h"

#define NFS_PORT 2049
#define ISCSI_PORT 3260

static bool host_name_ok(const char *h, size_t len)
{
	if (len == 0 || len > 253 || h[0] == '-' || h[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = h[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_'))
			return false;
	}
	return true;
}

/* "1".."65535" exactly */
static int parse_port(const char *s, size_t len)
{
	int v = 0;

	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? v : -1;
}

static int bad_spec(const char *spec, struct vd_error *err, const char *why)
{
	return vd_error_set(err, VD_ERR_UNEXPECTED, "storage connection '%.200s': %s (forms: "
			    "SERVER:/EXPORT, nfs:SERVER[:/EXPORT], iscsi:PORTAL[:PORT]; an IPv6 "
			    "address in brackets)", spec, why);
}

int rd_storage_parse(const char *spec, struct rd_storage *ret, struct vd_error *err)
{
	const char *p;

	memset(ret, 0, sizeof(*ret));
	if (!spec || !*spec)
		return bad_spec("", err, "empty");
	if (strlen(spec) >= sizeof(ret->spec))
		return bad_spec(spec, err, "too long");
	for (p = spec; *p; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			return vd_error_set(err, VD_ERR_UNEXPECTED, "storage connection: a blank, "
					    "control or non-ASCII character at offset %zu",
					    (size_t)(p - spec));
	snprintf(ret->spec, sizeof(ret->spec), "%s", spec);
	if (strncmp(spec, "iscsi:", 6) == 0) {
		ret->kind = RD_STORAGE_ISCSI;
		ret->port = ISCSI_PORT;
		p = spec + 6;
	} else if (strncmp(spec, "nfs:", 4) == 0) {
		ret->kind = RD_STORAGE_NFS;
		ret->port = NFS_PORT;
		p = spec + 4;
	} else if (strstr(spec, ":/")) {
		ret->kind = RD_STORAGE_NFS;
		ret->port = NFS_PORT;
		p = spec;
	} else {
		return bad_spec(spec, err, "not a storage connection");
	}
	/* the host: [IPv6] or up to ':' / ',' / end */
	const char *h = p, *end;
	size_t hlen;
	if (*p == '[') {
		end = strchr(p, ']');
		if (!end)
			return bad_spec(spec, err, "'[' without ']'");
		h = p + 1;
		hlen = (size_t)(end - h);
		struct in6_addr a6;
		char buf[64];
		if (hlen == 0 || hlen >= sizeof(buf))
			return bad_spec(spec, err, "not an IPv6 address in brackets");
		memcpy(buf, h, hlen);
		buf[hlen] = '\0';
		if (inet_pton(AF_INET6, buf, &a6) != 1)
			return bad_spec(spec, err, "not an IPv6 address in brackets");
		p = end + 1;
	} else {
		hlen = strcspn(p, ":,");
		if (!host_name_ok(h, hlen))
			return bad_spec(spec, err, "no valid host name or address");
		p += hlen;
	}
	memcpy(ret->host, h, hlen);
	ret->host[hlen] = '\0';
	if (ret->kind == RD_STORAGE_NFS) {
		if (*p == '\0')
			return 0;
		if (p[0] != ':' || p[1] != '/')
			return bad_spec(spec, err, "the export must follow as :/PATH");
		return 0;
	}
	if (*p == ':') {
		size_t plen = strcspn(p + 1, ",");
		if ((ret->port = parse_port(p + 1, plen)) < 0)
			return bad_spec(spec, err, "the port is not 1 to 65535");
		p += 1 + plen;
	}
	if (*p == ',') {   /* target portal group tag, as VDSM writes portals */
		if (parse_port(p + 1, strlen(p + 1)) < 0 && strcmp(p + 1, "0") != 0)
			return bad_spec(spec, err, "the portal group tag is not a number");
		p += strlen(p);
	}
	if (*p)
		return bad_spec(spec, err, "unexpected text after the portal");
	return 0;
}

int rd_getent_parse(const char *text, char addr[46])
{
	char first[46];
	size_t n = strcspn(text, " \t\n");
	unsigned char buf[sizeof(struct in6_addr)];

	if (n == 0 || n >= sizeof(first))
		return -ENOENT;
	memcpy(first, text, n);
	first[n] = '\0';
	if (inet_pton(AF_INET, first, buf) != 1 && inet_pton(AF_INET6, first, buf) != 1)
		return -ENOENT;
	memcpy(addr, first, n + 1);
	return 0;
}
