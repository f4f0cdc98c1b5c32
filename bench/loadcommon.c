/* bench/loadcommon.h */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loadcommon.h"

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

size_t bench_on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	struct bench_reply *r = ud;
	size_t n = size * nmemb;

	if (r->len + n + 1 > r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 65536;
		while (nc < r->len + n + 1)
			nc *= 2;
		char *nb = realloc(r->buf, nc);
		if (!nb)
			return 0;
		r->buf = nb;
		r->cap = nc;
	}
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	r->buf[r->len] = '\0';
	return n;
}

int bench_reply_ok(const char *s)
{
	const char *c = strstr(s, "<name>code</name>");

	if (!c || strstr(s, "faultCode"))
		return 0;
	const char *v = strstr(c, "<i4>");
	if (!v)
		v = strstr(c, "<int>");
	if (!v)
		return 0;
	v = strchr(v, '>') + 1;
	return v[0] == '0' && v[1] == '<';
}

CURL *bench_curl_new(const struct bench_target *t, long timeout, struct bench_reply *reply,
		     struct curl_slist **ret_headers)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: text/xml");

	hdr = curl_slist_append(hdr, "Expect:");
	if (!h || !hdr)
		abort();
	curl_easy_setopt(h, CURLOPT_URL, t->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, bench_on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, reply);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
	if (!t->plain) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, t->cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY, t->key);
		curl_easy_setopt(h, CURLOPT_CAINFO, t->ca);
		curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	*ret_headers = hdr;
	return h;
}

void bench_lat_add(struct bench_lat *l, double seconds)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4096;
		double *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			abort();
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = seconds;
}

void bench_lat_move(struct bench_lat *dst, struct bench_lat *src)
{
	for (size_t i = 0; i < src->n; i++)
		bench_lat_add(dst, src->v[i]);
	src->n = 0;
}

void bench_lat_free(struct bench_lat *l)
{
	free(l->v);
	*l = (struct bench_lat){ 0 };
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct bench_pcts bench_lat_pcts(struct bench_lat *l)
{
	if (!l->n)
		return (struct bench_pcts){ 0 };
	qsort(l->v, l->n, sizeof(*l->v), cmp_double);
	return (struct bench_pcts){ .p50 = l->v[l->n / 2], .p99 = l->v[(size_t)(l->n * 0.99)],
				    .max = l->v[l->n - 1] };
}

int bench_target_opt(struct bench_target *t, int c, const char *arg)
{
	switch (c) {
	case 'u': t->url = arg; return 1;
	case 'c': t->cert = arg; return 1;
	case 'k': t->key = arg; return 1;
	case 'a': t->ca = arg; return 1;
	case 'p': t->plain = 1; return 1;
	default: return 0;
	}
}

int bench_target_check(const struct bench_target *t)
{
	return t->url && (t->plain || (t->cert && t->key && t->ca)) ? 0 : -1;
}
