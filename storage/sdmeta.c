/* Storage domain metadata: VDSM's persistent dict format (lib/vdsm/storage/persistent.py
 * is the reference for the facts): one KEY=VALUE per line, sorted by key when written,
 * then _SHA_CKSUM=<sha1 hex> over the "KEY=VALUE" lines without their newlines, where
 * each character outside ASCII counts as its XML character reference ("&#233;").
 * A file without the seal line is accepted as it is (VDSM does the same). Pure code:
 * the text comes from a storage server and is untrusted. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>

#include "sd.h"
#include "../vdsm-c/util/buf.h"
#include "../vdsm-c/util/utf8.h"
#include "../vdsm-c/util/util.h"

#define SEAL_KEY "_SHA_CKSUM"

static bool key_valid(const char *k, size_t n)
{
	if (n == 0 || n >= SD_META_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = k[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

/* Printable UTF-8 without control characters (a TAB passes). */
static bool value_clean(const char *v)
{
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return false;
	return util_utf8_is_clean(v, 0);
}

const char *sd_meta_get(const struct sd_meta_file *f, const char *key)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->kv[i].key, key) == 0)
			return f->kv[i].value;
	return NULL;
}

int sd_meta_set(struct sd_meta_file *f, const char *key, const char *value)
{
	size_t i;

	if (strlen(key) >= SD_META_KEY_MAX || strlen(value) >= SD_META_VALUE_MAX)
		return -ENAMETOOLONG;
	for (i = 0; i < f->n; i++)
		if (strcmp(f->kv[i].key, key) == 0)
			break;
	if (i == f->n) {
		if (f->n == SD_META_KEYS_MAX)
			return -E2BIG;
		f->n++;
	}
	snprintf(f->kv[i].key, sizeof(f->kv[i].key), "%s", key);
	snprintf(f->kv[i].value, sizeof(f->kv[i].value), "%s", value);
	return 0;
}

/* Python's str.strip(): ASCII whitespace at both ends. */
static void strip_span(const char **s, size_t *n)
{
	while (*n && strchr(" \t\r\n\v\f", (*s)[0]))
		(*s)++, (*n)--;
	while (*n && strchr(" \t\r\n\v\f", (*s)[*n - 1]))
		(*n)--;
}

int sd_meta_parse(const char *text, size_t len, struct sd_meta_file *ret, struct vd_error *err)
{
	char seal[64] = "";
	bool have_seal = false;
	const char *p = text, *end = text + len;

	memset(ret, 0, sizeof(*ret));
	if (len > SD_META_MAX)
		return vd_error_set(err, VD_ERR_STORAGE_DOMAIN_ACCESS,
				    "%s: metadata is larger than %d bytes",
				    vd_code_message(VD_ERR_STORAGE_DOMAIN_ACCESS), SD_META_MAX);
	if (memchr(text, '\0', len))
		return vd_error_set(err, VD_ERR_STORAGE_DOMAIN_ACCESS,
				    "%s: metadata holds a NUL byte",
				    vd_code_message(VD_ERR_STORAGE_DOMAIN_ACCESS));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *eq = memchr(p, '=', ll);
		const char *line = p;

		p += ll + (nl ? 1 : 0);
		if (!eq)
			continue;    /* VDSM skips lines it cannot split */
		/* VDSM keeps the key as written (no strip) and strips the value. */
		size_t kl = (size_t)(eq - line);
		const char *v = eq + 1;
		size_t vl = ll - kl - 1;
		strip_span(&v, &vl);
		if (!key_valid(line, kl))
			return vd_error_set(err, VD_ERR_STORAGE_DOMAIN_ACCESS,
					    "%s: metadata key '%.*s' is not [A-Z0-9_]",
					    vd_code_message(VD_ERR_STORAGE_DOMAIN_ACCESS),
					    (int)(kl < 64 ? kl : 64), line);
		if (vl >= SD_META_VALUE_MAX)
			return vd_error_set(err, VD_ERR_STORAGE_DOMAIN_ACCESS,
					    "%s: metadata value of %.*s is too long",
					    vd_code_message(VD_ERR_STORAGE_DOMAIN_ACCESS), (int)kl, line);
		if (kl == strlen(SEAL_KEY) && memcmp(line, SEAL_KEY, kl) == 0) {
			if (vl >= sizeof(seal))
				return vd_error_set(err, VD_ERR_STORAGE_DOMAIN_ACCESS,
						    "%s: metadata seal is malformed",
						    vd_code_message(VD_ERR_STORAGE_DOMAIN_ACCESS));
			memcpy(seal, v, vl);
			seal[vl] = '\0';
			have_seal = true;
			continue;
		}
		struct sd_meta_kv *kv;
		size_t i;
		for (i = 0; i < ret->n; i++)
			if (strlen(ret->kv[i].key) == kl && memcmp(ret->kv[i].key, line, kl) == 0)
				break;
		if (i == ret->n) {
			if (ret->n == SD_META_KEYS_MAX)
				return vd_error_set(err, VD_ERR_STORAGE_DOMAIN_ACCESS,
						    "%s: metadata has more than %d keys",
						    vd_code_message(VD_ERR_STORAGE_DOMAIN_ACCESS),
						    SD_META_KEYS_MAX);
			ret->n++;
		}
		/* A repeated key: the last line wins, as in VDSM's dict. */
		kv = &ret->kv[i];
		memcpy(kv->key, line, kl);
		kv->key[kl] = '\0';
		memcpy(kv->value, v, vl);
		kv->value[vl] = '\0';
		if (!value_clean(kv->value))
			return vd_error_set(err, VD_ERR_STORAGE_DOMAIN_ACCESS,
					    "%s: metadata value of %s is not printable UTF-8",
					    vd_code_message(VD_ERR_STORAGE_DOMAIN_ACCESS), kv->key);
	}
	if (have_seal && ret->n > 0) {
		char hex[41];
		if (sd_meta_checksum(ret, hex) < 0 || strcmp(hex, seal) != 0)
			return vd_error_set(err, VD_ERR_STORAGE_DOMAIN_ACCESS,
					    "%s: metadata seal is broken (declares '%s')",
					    vd_code_message(VD_ERR_STORAGE_DOMAIN_ACCESS), seal);
	}
	ret->sealed = have_seal;
	return 0;
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sd_meta_kv *const *)a)[0]->key,
		      ((const struct sd_meta_kv *const *)b)[0]->key);
}

static void sorted(const struct sd_meta_file *f, const struct sd_meta_kv **idx)
{
	for (size_t i = 0; i < f->n; i++)
		idx[i] = &f->kv[i];
	qsort(idx, f->n, sizeof(*idx), kv_cmp);
}

/* s with every non-ASCII character as "&#N;" (Python's xmlcharrefreplace). */
static int add_ascii(struct util_buf *b, const char *s)
{
	while (*s) {
		unsigned char c = (unsigned char)*s;
		size_t n = c < 0x80 ? 1 : util_utf8_char_len(s);
		if (n == 0)
			return -EINVAL;
		if (n == 1) {
			util_buf_addc(b, *s++);
			continue;
		}
		unsigned cp = c & (0xff >> (n + 1));
		for (size_t i = 1; i < n; i++)
			cp = (cp << 6) | ((unsigned char)s[i] & 0x3f);
		util_buf_printf(b, "&#%u;", cp);
		s += n;
	}
	return 0;
}

int sd_meta_checksum(const struct sd_meta_file *f, char hex[41])
{
	const struct sd_meta_kv *idx[SD_META_KEYS_MAX];
	struct util_buf b = UTIL_BUF_INIT;
	unsigned char d[20];
	int r = 0;

	sorted(f, idx);
	for (size_t i = 0; i < f->n && r == 0; i++) {
		util_buf_adds(&b, idx[i]->key);
		util_buf_addc(&b, '=');
		r = add_ascii(&b, idx[i]->value);
	}
	if (r == 0)
		r = util_buf_error(&b);
	if (r == 0 && gnutls_hash_fast(GNUTLS_DIG_SHA1, util_buf_cstr(&b), util_buf_len(&b), d) < 0)
		r = -EIO;
	util_buf_reset(&b);
	if (r < 0)
		return r;
	for (int i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	return 0;
}

char *sd_meta_format(const struct sd_meta_file *f, size_t *ret_len)
{
	const struct sd_meta_kv *idx[SD_META_KEYS_MAX];
	struct util_buf b = UTIL_BUF_INIT;
	char hex[41];

	if (sd_meta_checksum(f, hex) < 0)
		return NULL;
	sorted(f, idx);
	for (size_t i = 0; i < f->n; i++)
		util_buf_printf(&b, "%s=%s\n", idx[i]->key, idx[i]->value);
	util_buf_printf(&b, SEAL_KEY "=%s\n", hex);
	if (util_buf_error(&b)) {
		util_buf_reset(&b);
		return NULL;
	}
	return util_buf_steal(&b, ret_len);
}

const char *sd_class_name(int cls)
{
	switch (cls) {
	case SD_CLASS_DATA: return "Data";
	case SD_CLASS_ISO: return "Iso";
	case SD_CLASS_BACKUP: return "Backup";
	default: return NULL;
	}
}

bool sd_version_supported(int version)
{
	return version == 0 || version == 2 || version == 3;
}

static int need(const struct sd_meta_file *f, const char *key, char *dst, size_t size,
		struct vd_error *err)
{
	const char *v = sd_meta_get(f, key);

	if (!v || !*v || strlen(v) >= size)
		return vd_error_set(err, VD_ERR_STORAGE_DOMAIN_ACCESS,
				    "%s: metadata key %s is %s",
				    vd_code_message(VD_ERR_STORAGE_DOMAIN_ACCESS), key,
				    !v || !*v ? "missing" : "too long");
	snprintf(dst, size, "%s", v);
	return 0;
}

int sd_meta_decode(const struct sd_meta_file *f, struct sd_meta *ret, struct vd_error *err)
{
	const char *v;
	long long ver;

	memset(ret, 0, sizeof(*ret));
	if (!(v = sd_meta_get(f, "SDUUID")) || util_uuid_normalize(v, ret->uuid) < 0)
		return vd_error_set(err, VD_ERR_STORAGE_DOMAIN_ACCESS,
				    "%s: metadata SDUUID is missing or not a UUID",
				    vd_code_message(VD_ERR_STORAGE_DOMAIN_ACCESS));
	if (!(v = sd_meta_get(f, "VERSION")) || util_parse_ll(v, 0, 5, &ver) < 0)
		return vd_error_set(err, VD_ERR_STORAGE_DOMAIN_ACCESS,
				    "%s: metadata VERSION is missing or not 0..5",
				    vd_code_message(VD_ERR_STORAGE_DOMAIN_ACCESS));
	ret->version = (int)ver;
	if (need(f, "CLASS", ret->class_name, sizeof(ret->class_name), err) < 0 ||
	    need(f, "TYPE", ret->type, sizeof(ret->type), err) < 0 ||
	    need(f, "ROLE", ret->role, sizeof(ret->role), err) < 0)
		return -1;
	if (strcmp(ret->class_name, "Data") && strcmp(ret->class_name, "Iso") &&
	    strcmp(ret->class_name, "Backup"))
		return vd_error_set(err, VD_ERR_STORAGE_DOMAIN_ACCESS,
				    "%s: metadata CLASS '%s' is unknown",
				    vd_code_message(VD_ERR_STORAGE_DOMAIN_ACCESS), ret->class_name);
	if ((v = sd_meta_get(f, "DESCRIPTION")))
		snprintf(ret->description, sizeof(ret->description), "%s", v);
	if ((v = sd_meta_get(f, "POOL_UUID")))
		snprintf(ret->pools, sizeof(ret->pools), "%s", v);
	if ((v = sd_meta_get(f, "REMOTE_PATH")))
		snprintf(ret->remote_path, sizeof(ret->remote_path), "%s", v);
	return 0;
}

/* ---- volume .meta ---- */

static int vol_need(const struct sd_meta_file *f, const char *key, char *dst, size_t size,
		    bool uuid, struct vd_error *err)
{
	const char *v = sd_meta_get(f, key);

	if (!v || (uuid ? util_uuid_normalize(v, dst) < 0 : (!*v || strlen(v) >= size)))
		return vd_error_set(err, VD_ERR_VOLUME_DOES_NOT_EXIST,
				    "%s: volume metadata key %s is %s",
				    vd_code_message(VD_ERR_VOLUME_DOES_NOT_EXIST), key,
				    !v ? "missing" : "invalid");
	if (!uuid)
		snprintf(dst, size, "%s", v);
	return 0;
}

int sd_volume_parse(const char *text, size_t len, struct sd_volume *ret, struct vd_error *err)
{
	struct sd_meta_file *f = malloc(sizeof(*f));
	struct vd_error perr = { 0 };
	const char *v;
	long long x;
	int r = -1;

	memset(ret, 0, sizeof(*ret));
	if (!f)
		return vd_error_set(err, VD_ERR_VOLUME_DOES_NOT_EXIST, "out of memory");
	/* Everything from a line starting with "EOF" on is padding (VDSM stops there). */
	for (size_t i = 0; i < len;) {
		if (len - i >= 3 && memcmp(text + i, "EOF", 3) == 0) {
			len = i;
			break;
		}
		const char *nl = memchr(text + i, '\n', len - i);
		i = nl ? (size_t)(nl - text) + 1 : len;
	}
	if (sd_meta_parse(text, len, f, &perr) < 0) {
		vd_error_set(err, VD_ERR_VOLUME_DOES_NOT_EXIST, "%s: volume metadata: %s",
			     vd_code_message(VD_ERR_VOLUME_DOES_NOT_EXIST), perr.msg);
		goto out;
	}
	if (vol_need(f, "DOMAIN", ret->domain, sizeof(ret->domain), true, err) < 0 ||
	    vol_need(f, "IMAGE", ret->image, sizeof(ret->image), true, err) < 0 ||
	    vol_need(f, "PUUID", ret->parent, sizeof(ret->parent), true, err) < 0 ||
	    vol_need(f, "FORMAT", ret->format, sizeof(ret->format), false, err) < 0 ||
	    vol_need(f, "LEGALITY", ret->legality, sizeof(ret->legality), false, err) < 0 ||
	    vol_need(f, "VOLTYPE", ret->voltype, sizeof(ret->voltype), false, err) < 0)
		goto out;
	if (strcmp(ret->format, "RAW") && strcmp(ret->format, "COW")) {
		vd_error_set(err, VD_ERR_VOLUME_DOES_NOT_EXIST, "%s: volume FORMAT '%s' is unknown",
			     vd_code_message(VD_ERR_VOLUME_DOES_NOT_EXIST), ret->format);
		goto out;
	}
	if (!(v = sd_meta_get(f, "SIZE")) || util_parse_ll(v, 0, 1LL << 50, &x) < 0) {
		vd_error_set(err, VD_ERR_VOLUME_DOES_NOT_EXIST, "%s: volume SIZE is missing or invalid",
			     vd_code_message(VD_ERR_VOLUME_DOES_NOT_EXIST));
		goto out;
	}
	ret->size = x;
	if ((v = sd_meta_get(f, "CTIME")) && util_parse_ll(v, 0, 1LL << 40, &x) == 0)
		ret->ctime = x;
	if ((v = sd_meta_get(f, "TYPE")))
		snprintf(ret->type, sizeof(ret->type), "%s", v);
	if ((v = sd_meta_get(f, "DISKTYPE")))
		snprintf(ret->disktype, sizeof(ret->disktype), "%s", v);
	if ((v = sd_meta_get(f, "DESCRIPTION")))
		snprintf(ret->description, sizeof(ret->description), "%s", v);
	r = 0;
out:
	free(f);
	return r;
}
