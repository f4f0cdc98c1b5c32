/* storage/: domain metadata (VDSM's seal, checked against a value computed by Python's
 * hashlib the way persistent.py does), refusals of bad metadata, the orphanable workers
 * (timeout, abandoned job, busy mount), and the file-domain creation job on a temporary
 * directory (layout, modes, EEXIST / ENOTEMPTY without leftovers). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../storage/sd-internal.h"
#include "../../vdsm-c/util/util.h"

#define UUID1 "0e0c9c47-dbf0-4d2f-8b61-31b7d1a3bf7a"
#define UUID2 "5b0f9a0e-4a57-4c5e-9d6b-3c1f2c1f7a10"

/* What VDSM writes for an NFS data domain (keys sorted), description with an é. */
static const char META[] =
	"CLASS=Data\n"
	"DESCRIPTION=data \xc3\xa9\n"
	"IOOPTIMEOUTSEC=10\n"
	"LEASERETRIES=3\n"
	"LEASETIMESEC=60\n"
	"LOCKPOLICY=\n"
	"LOCKRENEWALINTERVALSEC=5\n"
	"POOL_UUID=\n"
	"REMOTE_PATH=srv:/export\n"
	"ROLE=Regular\n"
	"SDUUID=" UUID1 "\n"
	"TYPE=NFS\n"
	"VERSION=3\n";
/* hashlib.sha1 over the sorted "K=V" lines, 'é' as "&#233;" (persistent.py). */
#define SEAL "718a9ac505998cfaf9af02ad4e0a87b6d859b1a8"

static struct sd_meta_file f;

static void test_seal(void **state)
{
	struct vd_error err = { 0 };
	char hex[41];

	(void)state;
	assert_int_equal(sd_meta_parse(META, strlen(META), &f, &err), 0);
	assert_false(f.sealed);
	assert_int_equal(f.n, 13);
	assert_int_equal(sd_meta_checksum(&f, hex), 0);
	assert_string_equal(hex, SEAL);

	/* format: sorted lines, the seal last; parses back sealed */
	size_t len;
	char *text = sd_meta_format(&f, &len);
	assert_non_null(text);
	assert_int_equal(len, strlen(META) + strlen("_SHA_CKSUM=" SEAL "\n"));
	assert_memory_equal(text, META, strlen(META));
	assert_string_equal(text + strlen(META), "_SHA_CKSUM=" SEAL "\n");
	assert_int_equal(sd_meta_parse(text, len, &f, &err), 0);
	assert_true(f.sealed);
	free(text);

	struct sd_meta m;
	assert_int_equal(sd_meta_decode(&f, &m, &err), 0);
	assert_string_equal(m.uuid, UUID1);
	assert_int_equal(m.version, 3);
	assert_string_equal(m.class_name, "Data");
	assert_string_equal(m.type, "NFS");
	assert_string_equal(m.role, "Regular");
	assert_string_equal(m.description, "data \xc3\xa9");
	assert_string_equal(m.remote_path, "srv:/export");
	assert_int_equal(err.code, 0);
}

static void expect_refused(const char *text, size_t len, const char *why)
{
	struct vd_error err = { 0 };

	assert_int_equal(sd_meta_parse(text, len, &f, &err), -1);
	assert_int_equal(err.code, 379);
	if (!strstr(err.msg, why))
		fail_msg("'%s' does not say '%s'", err.msg, why);
}

static void test_refusals(void **state)
{
	char buf[512];

	(void)state;
	snprintf(buf, sizeof(buf), "%s_SHA_CKSUM=%040d\n", META, 0);
	expect_refused(buf, strlen(buf), "seal is broken");
	/* one changed value under a good seal */
	snprintf(buf, sizeof(buf), "%s_SHA_CKSUM=" SEAL "\n", META);
	char *p = strstr(buf, "VERSION=3");
	p[8] = '2';
	expect_refused(buf, strlen(buf), "seal is broken");
	expect_refused("class=Data\n", 11, "not [A-Z0-9_]");
	expect_refused("A=b\0c\n", 6, "NUL");
	expect_refused("A=b\x01\n", 5, "printable");
	expect_refused("A=\xc3\x28\n", 5, "printable");
	char *big = malloc(SD_META_MAX + 2);
	memset(big, 'A', SD_META_MAX + 1);
	expect_refused(big, SD_META_MAX + 1, "larger");
	memset(big, 'A', SD_META_VALUE_MAX + 3);
	big[1] = '=';
	expect_refused(big, SD_META_VALUE_MAX + 3, "too long");
	free(big);

	/* lines without '=' are skipped (VDSM does); values stripped; last duplicate wins */
	struct vd_error err = { 0 };
	const char *t = "junk\nA=  x \nB=1\nB=2";
	assert_int_equal(sd_meta_parse(t, strlen(t), &f, &err), 0);
	assert_int_equal(f.n, 2);
	assert_string_equal(sd_meta_get(&f, "A"), "x");
	assert_string_equal(sd_meta_get(&f, "B"), "2");

	/* decode needs the domain keys */
	struct sd_meta m;
	assert_int_equal(sd_meta_decode(&f, &m, &err), -1);
	assert_int_equal(err.code, 379);
	vd_error_clear(&err);
	t = "SDUUID=" UUID1 "\nVERSION=9\nCLASS=Data\nTYPE=NFS\nROLE=Regular\n";
	assert_int_equal(sd_meta_parse(t, strlen(t), &f, &err), 0);
	assert_int_equal(sd_meta_decode(&f, &m, &err), -1);
	assert_non_null(strstr(err.msg, "VERSION"));
	vd_error_clear(&err);
	t = "SDUUID=" UUID1 "\nVERSION=0\nCLASS=Other\nTYPE=NFS\nROLE=Regular\n";
	assert_int_equal(sd_meta_parse(t, strlen(t), &f, &err), 0);
	assert_int_equal(sd_meta_decode(&f, &m, &err), -1);
	assert_non_null(strstr(err.msg, "CLASS"));
}

/* A volume .meta as VDSM writes it (volumemetadata.py storage_format), with padding
 * after EOF as on block domains' metadata slots. */
static void test_volume(void **state)
{
	static const char VOL[] =
		"CTIME=1700000000\nDESCRIPTION={\"DiskAlias\":\"d1\"}\nDISKTYPE=DATA\n"
		"DOMAIN=" UUID1 "\nFORMAT=COW\nGEN=0\nIMAGE=" UUID2 "\nLEGALITY=LEGAL\n"
		"MTIME=0\nPOOL_UUID=\nPUUID=00000000-0000-0000-0000-000000000000\nSIZE=2048\n"
		"TYPE=SPARSE\nVOLTYPE=LEAF\nEOF\n\0\0\0garbage";
	struct vd_error err = { 0 };
	struct sd_volume v;

	(void)state;
	assert_int_equal(sd_volume_parse(VOL, sizeof(VOL) - 1, &v, &err), 0);
	assert_string_equal(v.domain, UUID1);
	assert_string_equal(v.image, UUID2);
	assert_string_equal(v.parent, SD_BLANK_UUID);
	assert_string_equal(v.format, "COW");
	assert_string_equal(v.legality, "LEGAL");
	assert_string_equal(v.voltype, "LEAF");
	assert_string_equal(v.type, "SPARSE");
	assert_string_equal(v.description, "{\"DiskAlias\":\"d1\"}");
	assert_int_equal(v.size, 2048);
	assert_int_equal(v.ctime, 1700000000);

	static const struct { const char *text, *why; } bad[] = {
		{ "DOMAIN=" UUID1 "\nIMAGE=" UUID2 "\nFORMAT=RAW\nLEGALITY=LEGAL\nVOLTYPE=LEAF\n"
		  "SIZE=1\nEOF\n", "PUUID" },
		{ "DOMAIN=x\nEOF\n", "DOMAIN" },
		{ "DOMAIN=" UUID1 "\nIMAGE=" UUID2 "\nPUUID=" UUID1 "\nFORMAT=QCOW\n"
		  "LEGALITY=LEGAL\nVOLTYPE=LEAF\nSIZE=1\n", "FORMAT" },
		{ "DOMAIN=" UUID1 "\nIMAGE=" UUID2 "\nPUUID=" UUID1 "\nFORMAT=RAW\n"
		  "LEGALITY=LEGAL\nVOLTYPE=LEAF\nSIZE=-1\n", "SIZE" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vd_error_clear(&err);
		assert_int_equal(sd_volume_parse(bad[i].text, strlen(bad[i].text), &v, &err), -1);
		assert_int_equal(err.code, 201);
		if (!strstr(err.msg, bad[i].why))
			fail_msg("'%s' does not name %s", err.msg, bad[i].why);
	}
}

/* ---- workers ---- */

struct blocker {
	int fd;                       /* read end: the job blocks until something arrives */
	int *freed;
};

static int block_job(void *arg)
{
	struct blocker *b = arg;
	char c;

	return read(b->fd, &c, 1) == 1 ? 0 : -EIO;
}

static int quick_job(void *arg)
{
	*(int *)arg = 42;
	return 7;
}

static void blocker_free(void *arg)
{
	struct blocker *b = arg;

	(*b->freed)++;
	close(b->fd);
	free(b);
}

static void test_io(void **state)
{
	static int freed;
	int v = 0, p[2];

	(void)state;
	assert_int_equal(sd_io_run("/k", quick_job, &v, NULL, 5), 7);
	assert_int_equal(v, 42);

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	struct blocker *b = calloc(1, sizeof(*b));
	b->fd = p[0];
	b->freed = &freed;
	assert_int_equal(sd_io_run("/dead", block_job, b, blocker_free, 0.2), -ETIME);
	assert_int_equal(sd_io_abandoned(), 1);
	/* the stuck mount refuses at once; another mount works */
	assert_int_equal(sd_io_run("/dead", quick_job, &v, NULL, 5), -EBUSY);
	assert_int_equal(sd_io_run("/alive", quick_job, &v, NULL, 5), 7);
	/* the server comes back: the worker ends and frees its job */
	assert_int_equal(write(p[1], "x", 1), 1);
	double deadline = util_now_monotonic() + 20;
	while (sd_io_abandoned() && util_now_monotonic() < deadline)
		usleep(10000);
	assert_int_equal(sd_io_abandoned(), 0);
	assert_int_equal(freed, 1);
	assert_int_equal(sd_io_run("/dead", quick_job, &v, NULL, 5), 7);
	close(p[1]);
}

/* ---- create job ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static size_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	size_t n = 0;

	assert_non_null(d);
	for (struct dirent *de; (de = readdir(d));)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static struct sd_create_job *job(const char *mount, const char *uuid)
{
	struct sd_create_job *j = calloc(1, sizeof(*j));

	snprintf(j->mount, sizeof(j->mount), "%s", mount);
	snprintf(j->uuid, sizeof(j->uuid), "%s", uuid);
	j->meta = strdup(META);
	j->meta_len = strlen(META);
	return j;
}

static void test_create(void **state)
{
	char mount[] = "/tmp/sd_test.XXXXXX", path[512];
	struct stat st;
	struct sd_create_job *j;

	(void)state;
	assert_non_null(mkdtemp(mount));
	j = job(mount, UUID1);
	assert_int_equal(sdfile_create(j), 0);
	sdfile_create_free(j);
	static const struct { const char *name; long long size; mode_t mode; } files[] = {
		{ "metadata", sizeof(META) - 1, 0660 }, { "ids", 0, 0660 }, { "leases", 0, 0660 },
		{ "inbox", 16 << 20, 0660 }, { "outbox", 16 << 20, 0660 },
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/" UUID1 "/dom_md/%s", mount, files[i].name);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_size, files[i].size);
		assert_int_equal(st.st_mode & 0777, files[i].mode);
	}
	snprintf(path, sizeof(path), "%s/" UUID1 "/images", mount);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* the domain and VDSM's direct I/O test file, nothing else */
	assert_int_equal(entries(mount), 2);

	j = job(mount, UUID1);
	assert_int_equal(sdfile_create(j), -EEXIST);
	sdfile_create_free(j);
	j = job(mount, UUID2);
	assert_int_equal(sdfile_create(j), -ENOTEMPTY);
	assert_string_equal(j->other, UUID1);
	sdfile_create_free(j);
	assert_int_equal(entries(mount), 2);

	/* an interrupted earlier attempt is cleaned up by the next one */
	char sub[300];
	snprintf(sub, sizeof(sub), "%s/m2", mount);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(path, sizeof(path), "%s/." UUID2 ".creating/dom_md", sub);
	assert_int_equal(util_mkdir_p(path, 0755), 0);
	j = job(sub, UUID2);
	assert_int_equal(sdfile_create(j), 0);
	sdfile_create_free(j);
	assert_int_equal(entries(sub), 2);

	assert_int_equal(nftw(mount, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_volume),
		cmocka_unit_test(test_io),
		cmocka_unit_test(test_create),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
