/* soakgen: long-running mixed XML-RPC load over HTTPS with a client certificate, with a
 * report per interval (the load side of `make soak`, driven by bench/soak.py).
 *
 *   soakgen --url URL --cert F --key F --ca F [--plain] --conns N --duration S
 *           --interval S --methods NAME[:ARG],NAME[:ARG],...
 *
 * N threads, each with its own keep-alive connection, call the methods round robin
 * (thread i starts at method i, so every method is in flight at once); ARG is one string
 * parameter (a vmId). Every reply must be HTTP 200 with status code 0; anything else is
 * an error, and the first ten are described on stderr. Every interval it prints one line
 * `INTERVAL {json}` (seconds since start, calls, errors, p50/p99/max latency in ms of
 * that interval) and flushes, so the caller can sample the server beside it; at the end
 * `TAIL {json}` (calls that ended after the last interval) and `TOTAL {json}`. Exit status 1 when any call failed. */
#include <curl/curl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loadcommon.h"

#define MAX_METHODS 32

struct opts {
	struct bench_target t;
	int conns;
	double duration, interval;
	char *bodies[MAX_METHODS], *names[MAX_METHODS];
	int n_methods;
};

struct worker {
	pthread_t tid;
	int index;
	const struct opts *o;
	pthread_mutex_t lock;   /* guards lat/n/cap/errors: the reporter swaps them out */
	struct bench_lat lat;
	unsigned long errors;
	struct bench_reply reply;
};

static atomic_int stop;
static atomic_ulong errors_described;

static void describe_error(const struct worker *w, int m, CURLcode r, long code)
{
	if (atomic_fetch_add(&errors_described, 1) >= 10)
		return;
	const char *msg = w->reply.buf ? strstr(w->reply.buf, "<name>message</name>") : NULL;
	fprintf(stderr, "soakgen: %s: curl %d (%s), HTTP %ld%s%.200s\n", w->o->names[m], (int)r,
		curl_easy_strerror(r), code, msg ? ", " : "", msg ? msg : "");
}

static void *run(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	struct curl_slist *hdr = NULL;
	CURL *h = bench_curl_new(&o->t, 60L, &w->reply, &hdr);

	for (int m = w->index % o->n_methods; !atomic_load(&stop); m = (m + 1) % o->n_methods) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, o->bodies[m]);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(o->bodies[m]));
		double t0 = bench_now();
		w->reply.len = 0;
		CURLcode r = curl_easy_perform(h);
		double dt = bench_now() - t0;
		long code = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		int ok = r == CURLE_OK && code == 200 && w->reply.buf && bench_reply_ok(w->reply.buf);
		if (!ok && atomic_load(&stop))
			break; /* cut off by the end of the run, not a failure */
		if (!ok)
			describe_error(w, m, r, code);
		pthread_mutex_lock(&w->lock);
		if (!ok) {
			w->errors++;
		} else {
			bench_lat_add(&w->lat, dt);
		}
		pthread_mutex_unlock(&w->lock);
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	return NULL;
}

/* Takes every worker's latencies and errors since the last call; prints one line. */
static void report(const char *tag, struct worker *w, int conns, double t, unsigned long *ret_calls,
		   unsigned long *ret_errors)
{
	unsigned long errors = 0;
	struct bench_lat all = { 0 };

	for (int i = 0; i < conns; i++) {
		pthread_mutex_lock(&w[i].lock);
		bench_lat_move(&all, &w[i].lat);
		errors += w[i].errors;
		w[i].errors = 0;
		pthread_mutex_unlock(&w[i].lock);
	}
	size_t total = all.n;
	struct bench_pcts p = bench_lat_pcts(&all);
	printf("%s {\"t\": %.1f, \"calls\": %zu, \"errors\": %lu, \"p50_ms\": %.3f, "
	       "\"p99_ms\": %.3f, \"max_ms\": %.3f}\n", tag, t, total + errors, errors,
	       p.p50 * 1e3, p.p99 * 1e3, p.max * 1e3);
	fflush(stdout);
	bench_lat_free(&all);
	*ret_calls += total + errors;
	*ret_errors += errors;
}

static char *xml_escape(const char *s)
{
	size_t n = 1;
	for (const char *p = s; *p; p++)
		n += *p == '<' ? 4 : *p == '>' ? 4 : *p == '&' ? 5 : 1;
	char *out = malloc(n), *o = out;
	if (!out)
		abort();
	for (const char *p = s; *p; p++)
		o = *p == '<' ? stpcpy(o, "&lt;") : *p == '>' ? stpcpy(o, "&gt;") :
		    *p == '&' ? stpcpy(o, "&amp;") : (*o = *p, o + 1);
	*o = '\0';
	return out;
}

static int parse_methods(struct opts *o, const char *list)
{
	char *copy = strdup(list), *save = NULL;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (o->n_methods == MAX_METHODS)
			return -1;
		char *arg = strchr(t, ':');
		if (arg)
			*arg++ = '\0';
		char *name = xml_escape(t), *param = NULL, *body = NULL;
		if (arg) {
			char *ea = xml_escape(arg);
			if (asprintf(&param, "<param><value><string>%s</string></value></param>", ea) < 0)
				abort();
			free(ea);
		}
		if (asprintf(&body, "<?xml version='1.0'?>\n<methodCall><methodName>%s</methodName>"
				    "<params>%s</params></methodCall>\n", name, param ? param : "") < 0)
			abort();
		free(param);
		o->names[o->n_methods] = name;
		o->bodies[o->n_methods++] = body;
	}
	free(copy);
	return o->n_methods > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		BENCH_TARGET_OPTIONS,   { "methods", 1, 0, 'm' },  { "conns", 1, 0, 'n' },
		{ "duration", 1, 0, 'd' }, { "interval", 1, 0, 'i' },
		{ 0, 0, 0, 0 },
	};
	struct opts o = { .conns = 64, .duration = 60, .interval = 60 };
	const char *methods = "ping";
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (bench_target_opt(&o.t, c, optarg))
			continue;
		switch (c) {
		case 'm': methods = optarg; break;
		case 'n': o.conns = atoi(optarg); break;
		case 'd': o.duration = atof(optarg); break;
		case 'i': o.interval = atof(optarg); break;
		default: return 2;
		}
	}
	if (bench_target_check(&o.t) < 0 || o.conns < 1 || o.interval <= 0 ||
	    parse_methods(&o, methods) < 0) {
		fprintf(stderr, "usage: soakgen --url URL --cert F --key F --ca F --conns N "
				"--duration S --interval S --methods M[:ARG],...\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct worker *w = calloc(o.conns, sizeof(*w));
	if (!w)
		abort();
	double t0 = bench_now();
	for (int i = 0; i < o.conns; i++) {
		w[i].o = &o;
		w[i].index = i;
		pthread_mutex_init(&w[i].lock, NULL);
		pthread_create(&w[i].tid, NULL, run, &w[i]);
	}
	unsigned long calls = 0, errors = 0;
	double next = t0 + o.interval, end = t0 + o.duration;
	while (bench_now() < end) {
		double until = next < end ? next : end;
		double d = until - bench_now();
		if (d > 0) {
			struct timespec ts = { (time_t)d, (long)((d - (time_t)d) * 1e9) };
			nanosleep(&ts, NULL);
		}
		if (bench_now() >= next - 1e-3) {
			report("INTERVAL", w, o.conns, bench_now() - t0, &calls, &errors);
			next += o.interval;
		}
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < o.conns; i++)
		pthread_join(w[i].tid, NULL);
	double elapsed = bench_now() - t0;
	/* The calls that ended between the last report and the stop. */
	report("TAIL", w, o.conns, elapsed, &calls, &errors);
	printf("TOTAL {\"seconds\": %.1f, \"calls\": %lu, \"errors\": %lu, \"rps\": %.1f}\n", elapsed,
	       calls, errors, calls / elapsed);
	fflush(stdout);
	for (int i = 0; i < o.conns; i++) {
		bench_lat_free(&w[i].lat);
		free(w[i].reply.buf);
		pthread_mutex_destroy(&w[i].lock);
	}
	for (int i = 0; i < o.n_methods; i++) {
		free(o.names[i]);
		free(o.bodies[i]);
	}
	free(w);
	curl_global_cleanup();
	return errors ? 1 : 0;
}
