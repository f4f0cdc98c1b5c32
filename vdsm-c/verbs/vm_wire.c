/* getVmStats / getAllVmStats replies written straight as XML-RPC text.
 *
 * The manager polls getAllVmStats every few seconds; with 1000 VMs the reply is a few
 * MB. Building ~100 000 xmlrpc-c values and serializing them took ~30 ms per call
 * (bench/vm_bench.py); writing the same document directly into one buffer is several
 * times cheaper. The output is ordinary XML-RPC, the same types the value builders
 * emit (string, i4, double, struct, array; never i8/nil, API.md §3.2); strings are
 * escaped and made valid UTF-8 without control characters, as rpc_str() does. */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm_wire.h"
#include "../vm.h"

/* Writes straight into a reply blob (no copy at the end); sized from the last reply. */
struct wbuf {
	struct rpc_blob *blob;
	size_t len, cap;
	int failed;
};

static _Atomic size_t last_size;

static void reserve(struct wbuf *b, size_t n)
{
	if (b->failed || b->len + n + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n + 1)
		cap *= 2;
	struct rpc_blob *nb = realloc(b->blob, sizeof(*nb) + cap);
	if (!nb) {
		b->failed = 1;
		return;
	}
	b->blob = nb;
	b->cap = cap;
}

static void put(struct wbuf *b, const char *s, size_t n)
{
	reserve(b, n);
	if (b->failed)
		return;
	memcpy(b->blob->data + b->len, s, n);
	b->len += n;
}

#define PUTS(b, lit) put(b, lit, sizeof(lit) - 1)

static void put_u64(struct wbuf *b, uint64_t v)
{
	char tmp[24];
	int i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(b, tmp + i, sizeof(tmp) - (size_t)i);
}

static void put_i64(struct wbuf *b, long long v)
{
	if (v < 0) {
		PUTS(b, "-");
		put_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		put_u64(b, (uint64_t)v);
	}
}

/* v with exactly dec decimals (printf "%.*f" for the values stats carry), without
 * printf's cost: the reply has ~60 numbers per VM. */
static void put_fixed(struct wbuf *b, double v, int dec)
{
	static const double scale[] = { 1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9 };
	char tmp[40];

	if (dec < 0 || dec > 9)
		dec = 6;
	/* The fast path needs v * 10^dec in a uint64_t; printf for the rest. |v| < 1e300
	 * with 9 decimals is at most 312 characters. */
	if (!(v == v) || (v < 0 ? -v : v) * scale[dec] >= 1.8e19) {
		char big[340];
		int n = snprintf(big, sizeof(big), "%.*f", dec,
				 v == v && v < 1e300 && v > -1e300 ? v : 0.0);
		put(b, big, n > 0 && n < (int)sizeof(big) ? (size_t)n : 0);
		return;
	}
	if (v < 0) {
		PUTS(b, "-");
		v = -v;
	}
	uint64_t units = (uint64_t)(v * scale[dec] + 0.5), div = (uint64_t)scale[dec];
	put_u64(b, units / div);
	if (dec == 0)
		return;
	uint64_t frac = units % div;
	int i = dec;
	tmp[i] = '\0';
	while (i > 0) {
		tmp[--i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	PUTS(b, ".");
	put(b, tmp, (size_t)dec);
}

/* Escaped text; invalid UTF-8 and control characters other than tab/newline → '?'. */
static void put_text(struct wbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	while (*p) {
		unsigned c = *p;
		if (c == '&') {
			PUTS(b, "&amp;");
		} else if (c == '<') {
			PUTS(b, "&lt;");
		} else if (c == '>') {
			PUTS(b, "&gt;");
		} else if (c < 0x20 && c != '\t' && c != '\n') {
			PUTS(b, "?");
		} else if (c < 0x7f) {
			put(b, (const char *)p, 1);
		} else {
			int extra = (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : -1;
			bool ok = extra > 0 && !(extra == 1 && c < 0xc2);
			for (int i = 1; ok && i <= extra; i++)
				ok = (p[i] & 0xc0) == 0x80;
			if (!ok || c == 0x7f) {
				PUTS(b, "?");
			} else {
				put(b, (const char *)p, (size_t)extra + 1);
				p += extra;
			}
		}
		p++;
	}
}

static void m_open(struct wbuf *b, const char *name)
{
	PUTS(b, "<member><name>");
	put_text(b, name);
	PUTS(b, "</name><value>");
}

static void m_str(struct wbuf *b, const char *name, const char *v)
{
	m_open(b, name);
	PUTS(b, "<string>");
	put_text(b, v);
	PUTS(b, "</string></value></member>\r\n");
}

static void m_u64(struct wbuf *b, const char *name, uint64_t v)
{
	m_open(b, name);
	PUTS(b, "<string>");
	put_u64(b, v);
	PUTS(b, "</string></value></member>\r\n");
}

static void m_i64(struct wbuf *b, const char *name, long long v)
{
	m_open(b, name);
	PUTS(b, "<string>");
	put_i64(b, v);
	PUTS(b, "</string></value></member>\r\n");
}

static void m_fixed(struct wbuf *b, const char *name, double v, int dec)
{
	m_open(b, name);
	PUTS(b, "<string>");
	put_fixed(b, v, dec);
	PUTS(b, "</string></value></member>\r\n");
}

static void m_int(struct wbuf *b, const char *name, int v)
{
	m_open(b, name);
	PUTS(b, "<i4>");
	put_i64(b, v);
	PUTS(b, "</i4></value></member>\r\n");
}

static void m_double(struct wbuf *b, const char *name, double v)
{
	m_open(b, name);
	PUTS(b, "<double>");
	put_fixed(b, v, 6);
	PUTS(b, "</double></value></member>\r\n");
}

static void struct_open(struct wbuf *b, const char *name)
{
	m_open(b, name);
	PUTS(b, "<struct>\r\n");
}

static void struct_close(struct wbuf *b)
{
	PUTS(b, "</struct></value></member>\r\n");
}

static void write_vm(struct wbuf *b, const struct vm_view *v)
{
	PUTS(b, "<value><struct>\r\n");
	m_str(b, "vmId", v->id);
	m_str(b, "status", vm_status_to_string(v->status));
	m_u64(b, "statusTime", v->status_time_ms);
	m_str(b, "vmName", v->name);
	m_str(b, "vmType", "kvm");
	m_str(b, "kvmEnable", v->kvm_enable ? "true" : "false");
	m_str(b, "acpiEnable", v->acpi ? "true" : "false");
	m_i64(b, "elapsedTime", (long long)v->elapsed);
	m_str(b, "monitorResponse", "0");
	m_i64(b, "timeOffset", v->time_offset);
	m_str(b, "clientIp", "");
	m_fixed(b, "cpuUser", v->cpu_user, 2);
	m_fixed(b, "cpuSys", v->cpu_sys, 2);
	m_u64(b, "cpuUsage", v->cpu_time_ns);
	m_i64(b, "memUsage", v->mem_usage);
	m_i64(b, "vcpuCount", v->vcpu_count);
	struct_open(b, "balloonInfo");
	if (v->balloon_cur >= 0) {
		m_i64(b, "balloon_max", v->mem_mib * 1024);
		m_str(b, "balloon_min", "0");
		m_i64(b, "balloon_cur", v->balloon_cur);
		m_i64(b, "balloon_target", v->balloon_max > 0 ? v->balloon_max : v->mem_mib * 1024);
	}
	struct_close(b);
	struct_open(b, "network");
	for (size_t i = 0; i < v->n_nics; i++) {
		const struct vm_nic_stats *n = &v->nics[i];
		struct_open(b, n->name);
		m_str(b, "macAddr", n->mac);
		m_str(b, "name", n->name);
		m_i64(b, "speed", n->speed);
		m_str(b, "state", "unknown");
		m_fixed(b, "rxRate", n->rx_rate, 1);
		m_fixed(b, "txRate", n->tx_rate, 1);
		m_u64(b, "rxErrors", n->rx_errs);
		m_u64(b, "rxDropped", n->rx_drop);
		m_u64(b, "txErrors", n->tx_errs);
		m_u64(b, "txDropped", n->tx_drop);
		m_u64(b, "rx", n->rx);
		m_u64(b, "tx", n->tx);
		m_double(b, "sampleTime", n->sample_time);
		struct_close(b);
	}
	struct_close(b);
	struct_open(b, "disks");
	for (size_t i = 0; i < v->n_disks; i++) {
		const struct vm_disk_stats *d = &v->disks[i];
		struct_open(b, d->name);
		m_fixed(b, "readRate", d->read_rate, 1);
		m_fixed(b, "writeRate", d->write_rate, 1);
		m_fixed(b, "readLatency", d->read_latency, 9);
		m_fixed(b, "writeLatency", d->write_latency, 9);
		m_fixed(b, "flushLatency", d->flush_latency, 9);
		m_u64(b, "readBytes", d->read_bytes);
		m_u64(b, "writtenBytes", d->write_bytes);
		m_u64(b, "readOps", d->read_ops);
		m_u64(b, "writeOps", d->write_ops);
		m_u64(b, "truesize", d->truesize);
		m_u64(b, "apparentsize", d->apparentsize);
		if (d->image_id)
			m_str(b, "imageID", d->image_id);
		if (d->lun_guid)
			m_str(b, "lunGUID", d->lun_guid);
		struct_close(b);
	}
	struct_close(b);
	m_open(b, "disksUsage");
	PUTS(b, "<array><data>\r\n</data></array></value></member>\r\n");
	m_open(b, "displayInfo");
	PUTS(b, "<array><data>\r\n</data></array></value></member>\r\n");
	m_str(b, "guestIPs", "");
	m_u64(b, "hash", v->hash >> 1);
	if (v->status == VM_ST_DOWN) {
		m_int(b, "exitCode", v->exit_code);
		m_int(b, "exitReason", v->exit_reason);
		m_str(b, "exitMessage", v->exit_message);
	}
	PUTS(b, "</struct></value>\r\n");
}

static int write_cb(const struct vm_view *v, void *ud)
{
	struct wbuf *b = ud;

	write_vm(b, v);
	return b->failed ? -ENOMEM : 0;
}

int vm_wire_stats_reply(const char *id, struct rpc_blob **ret)
{
	struct wbuf b = { 0 };

	reserve(&b, id ? 8192 : last_size + last_size / 8);
	PUTS(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n<params>\r\n"
		 "<param><value><struct>\r\n");
	m_open(&b, "statsList");
	PUTS(&b, "<array><data>\r\n");
	int r = vm_foreach(id, write_cb, &b);
	PUTS(&b, "</data></array></value></member>\r\n");
	struct_open(&b, "status");
	m_int(&b, "code", 0);
	m_str(&b, "message", "Done");
	struct_close(&b);
	PUTS(&b, "</struct></value></param>\r\n</params>\r\n</methodResponse>\r\n");
	if (r < 0 || b.failed) {
		free(b.blob);
		return r < 0 ? r : -ENOMEM;
	}
	if (!id)
		last_size = b.len;
	atomic_init(&b.blob->ref, 1);
	b.blob->len = b.len;
	b.blob->data[b.len] = '\0';
	*ret = b.blob;
	return 0;
}
