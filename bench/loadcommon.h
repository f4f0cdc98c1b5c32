/* What bench/loadgen and bench/soakgen share: a clock, a reply buffer for libcurl, the
 * status check of a VDSM reply, a keep-alive HTTPS handle with a client certificate,
 * and latency sets with their percentiles. */
#ifndef BENCH_LOADCOMMON_H
#define BENCH_LOADCOMMON_H

#include <curl/curl.h>
#include <stddef.h>

struct bench_reply {
	char *buf;      /* NUL-terminated reply body */
	size_t len, cap;
};

double bench_now(void);                 /* CLOCK_MONOTONIC, seconds */

/* CURLOPT_WRITEFUNCTION appending to the struct bench_reply given as WRITEDATA. */
size_t bench_on_data(char *p, size_t size, size_t nmemb, void *reply);

/* True when the reply's first status code (<name>code</name> then <i4>/<int>) is 0. */
int bench_reply_ok(const char *s);

struct bench_target {
	const char *url, *cert, *key, *ca;
	int plain;
};

/* The options naming the target, for getopt_long's table (their values are 'u' 'c' 'k'
 * 'a' 'p'; a tool's own options use other letters). */
#define BENCH_TARGET_OPTIONS                                                          \
	{ "url", 1, 0, 'u' }, { "cert", 1, 0, 'c' }, { "key", 1, 0, 'k' },            \
	{ "ca", 1, 0, 'a' }, { "plain", 0, 0, 'p' }

/* Takes option c (with its arg) into t: 1 when it was one of the target's, else 0. */
int bench_target_opt(struct bench_target *t, int c, const char *arg);

/* 0 when t names a URL and, unless plain, all three certificate files. */
int bench_target_check(const struct bench_target *t);

/* A handle posting text/xml to t->url (no Expect, TCP_NODELAY, timeout seconds), with
 * the client certificate unless plain, writing replies into *reply. *ret_headers is
 * the header list to free with curl_slist_free_all() after curl_easy_cleanup(). */
CURL *bench_curl_new(const struct bench_target *t, long timeout, struct bench_reply *reply,
		     struct curl_slist **ret_headers);

/* Latencies in seconds. Growing aborts on OOM (a bench tool has nothing better to do). */
struct bench_lat {
	double *v;
	size_t n, cap;
};
void bench_lat_add(struct bench_lat *l, double seconds);
void bench_lat_move(struct bench_lat *dst, struct bench_lat *src); /* appends, empties src */
void bench_lat_free(struct bench_lat *l);

struct bench_pcts {
	double p50, p99, max;   /* seconds; 0 for an empty set */
};
struct bench_pcts bench_lat_pcts(struct bench_lat *l);             /* sorts l->v */

#endif
