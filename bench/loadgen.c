/* loadgen: XML-RPC load over HTTPS with a client certificate (wrk cannot present one).
 *
 *   loadgen --url URL --cert F --key F --ca F [--plain] --method NAME --conns N
 *           --warmup S --duration S
 *
 * N threads, each with its own keep-alive connection (one libcurl easy handle), send
 * the same call back to back. After the warm-up it prints "START" and flushes stdout (the
 * caller samples the server's CPU time then), and after the measured window "END"
 * followed by one JSON line: requests, errors, req/s, p50/p99/max latency (ms), reply
 * bytes. Every reply is checked to be HTTP 200 and to carry a status code 0. */
#include <curl/curl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loadcommon.h"

struct opts {
	struct bench_target t;
	const char *method;
	int conns;
	double warmup, duration;
};

struct worker {
	pthread_t tid;
	const struct opts *o;
	struct bench_lat lat;
	unsigned long errors;
	size_t reply_bytes;
	struct bench_reply reply;
};

static atomic_int phase; /* 0 warm-up, 1 measuring, 2 stop */
static char body[512];

static void *run(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	struct curl_slist *hdr = NULL;
	CURL *h = bench_curl_new(&o->t, 30L, &w->reply, &hdr);

	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	while (atomic_load(&phase) < 2) {
		int measuring = atomic_load(&phase) == 1;
		double t0 = bench_now();
		w->reply.len = 0;
		CURLcode r = curl_easy_perform(h);
		double dt = bench_now() - t0;
		long code = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		int ok = r == CURLE_OK && code == 200 && w->reply.buf && bench_reply_ok(w->reply.buf);
		if (!measuring || atomic_load(&phase) != 1)
			continue;
		if (!ok) {
			w->errors++;
			continue;
		}
		bench_lat_add(&w->lat, dt);
		w->reply_bytes = w->reply.len;
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		BENCH_TARGET_OPTIONS,   { "method", 1, 0, 'm' },   { "conns", 1, 0, 'n' },
		{ "warmup", 1, 0, 'w' }, { "duration", 1, 0, 'd' },
		{ 0, 0, 0, 0 },
	};
	struct opts o = { .method = "ping", .conns = 1, .warmup = 0.5, .duration = 5 };
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (bench_target_opt(&o.t, c, optarg))
			continue;
		switch (c) {
		case 'm': o.method = optarg; break;
		case 'n': o.conns = atoi(optarg); break;
		case 'w': o.warmup = atof(optarg); break;
		case 'd': o.duration = atof(optarg); break;
		default: return 2;
		}
	}
	if (bench_target_check(&o.t) < 0 || o.conns < 1) {
		fprintf(stderr, "usage: loadgen --url URL --cert F --key F --ca F --method M --conns N\n");
		return 2;
	}
	snprintf(body, sizeof(body),
		 "<?xml version='1.0'?>\n<methodCall>\n<methodName>%s</methodName>\n<params>\n"
		 "</params>\n</methodCall>\n", o.method);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct worker *w = calloc(o.conns, sizeof(*w));
	for (int i = 0; i < o.conns; i++) {
		w[i].o = &o;
		pthread_create(&w[i].tid, NULL, run, &w[i]);
	}
	struct timespec ts = { (time_t)o.warmup, (long)((o.warmup - (time_t)o.warmup) * 1e9) };
	nanosleep(&ts, NULL);
	printf("START\n");
	fflush(stdout);
	atomic_store(&phase, 1);
	double t0 = bench_now();
	ts = (struct timespec){ (time_t)o.duration, (long)((o.duration - (time_t)o.duration) * 1e9) };
	nanosleep(&ts, NULL);
	atomic_store(&phase, 2);
	double elapsed = bench_now() - t0;
	printf("END\n");
	fflush(stdout);
	size_t bytes = 0;
	unsigned long errors = 0;
	struct bench_lat all = { 0 };
	for (int i = 0; i < o.conns; i++) {
		pthread_join(w[i].tid, NULL);
		errors += w[i].errors;
		if (w[i].reply_bytes)
			bytes = w[i].reply_bytes;
		bench_lat_move(&all, &w[i].lat);
		bench_lat_free(&w[i].lat);
		free(w[i].reply.buf);
	}
	size_t total = all.n;
	struct bench_pcts p = bench_lat_pcts(&all);
	printf("{\"requests\": %zu, \"errors\": %lu, \"seconds\": %.3f, \"rps\": %.1f, "
	       "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, \"reply_bytes\": %zu}\n",
	       total, errors, elapsed, total / elapsed, p.p50 * 1e3, p.p99 * 1e3, p.max * 1e3, bytes);
	bench_lat_free(&all);
	free(w);
	curl_global_cleanup();
	return errors && !total ? 1 : 0;
}
