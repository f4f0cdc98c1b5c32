/* Source side of a live migration (API.md §5.3 migrate/migrateStatus/migrateCancel,
 * §7.1): one thread per outgoing migration (migrationCreate on the destination, then
 * libvirt peer-to-peer), one monitor thread beside it (job stats → progress, downtime,
 * abort when stuck) and one watcher pinging the destination agent (abort when it has
 * stopped answering). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "migration.h"
#include "migration-internal.h"
#include "../util/log.h"
#include "../util/util.h"

struct outgoing {
	struct outgoing *next;
	struct migration_request req;
	char *blob;                   /* the VM's conf, for migrationCreate */
	/* under out_lock */
	struct migration_status st;
	bool stuck;
	bool too_long;                /* over migration_max_time_per_gib_mem */
	bool conv_aborted;            /* by the convergence schedule's abort action */
	int conv_iterations;          /* stalling iterations counted at that abort */
	bool dest_lost;               /* the destination agent stopped answering */
	int dest_silent_s;            /* for this many seconds when the watcher aborted */
	/* monitor thread stop */
	pthread_mutex_t mon_lock;
	pthread_cond_t mon_cond;
	bool mon_stop;
	atomic_bool cancel;
};

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t out_cond = PTHREAD_COND_INITIALIZER;   /* a thread ended */
static struct outgoing *outs;   /* newest first; one record per VM (the last migration) */
static int threads;             /* running migration threads (out_lock) */

static struct outgoing *find_locked(const char *id)
{
	for (struct outgoing *o = outs; o; o = o->next)
		if (strcmp(o->req.vm_id, id) == 0)
			return o;
	return NULL;
}

static struct migration_peer peer_of(const struct outgoing *o)
{
	const struct migration_opts *op = &migration_cfg;
	return (struct migration_peer){ .host = o->req.dst_host, .port = o->req.dst_port,
					.timeout = op->create_timeout, .tls = op->tls,
					.incoming_limit = op->max_incoming,
					.cert_file = op->cert_file, .key_file = op->key_file,
					.ca_file = op->ca_file };
}

/* Sleeps up to ms milliseconds or until told to stop; true when told. */
static bool mon_sleep(struct outgoing *o, int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&o->mon_lock);
	while (!o->mon_stop)
		if (pthread_cond_timedwait(&o->mon_cond, &o->mon_lock, &ts) == ETIMEDOUT)
			break;
	bool stop = o->mon_stop;
	pthread_mutex_unlock(&o->mon_lock);
	return stop;
}

/* Until libvirt's job shows up the monitor looks every this many ms, so the first
 * max downtime (the ramp's first step or the schedule's init) is set at the job's
 * start rather than up to a monitor interval later. */
#define MON_JOB_WAIT_MS 200

static void mon_abort(struct outgoing *o, bool *flag)
{
	pthread_mutex_lock(&out_lock);
	*flag = true;
	pthread_mutex_unlock(&out_lock);
	struct vd_error e = { 0 };
	if (vm_outgoing_abort(o->req.vm_id, &e) < 0)
		log_warning("VM %s: %s", o->req.vm_id, e.msg);
}

/* One action of the convergence schedule; false when it could not be applied now. */
static bool conv_apply(struct outgoing *o, const struct migration_conv_action *a,
		       const char *when, int iterations)
{
	const char *id = o->req.vm_id;
	if (a->kind == MIGRATION_CONV_ABORT) {
		log_warning("VM %s: migration stalling for %d iterations; the convergence schedule aborts it",
			    id, iterations);
		pthread_mutex_lock(&out_lock);
		o->conv_iterations = iterations;
		pthread_mutex_unlock(&out_lock);
		mon_abort(o, &o->conv_aborted);
		return true;
	}
	if (vm_outgoing_set_downtime(id, a->downtime_ms) < 0) {
		log_warning("VM %s: cannot set the migration max downtime to %d ms (%s)", id,
			    a->downtime_ms, when);
		return false;
	}
	log_info("VM %s: migration max downtime %d ms (convergence schedule, %s, %d iterations)",
		 id, a->downtime_ms, when, iterations);
	return true;
}

/* Progress from libvirt's job stats; the max downtime — the stepped ramp, or the
 * convergence schedule's actions — once the job runs; without a schedule an abort when
 * the remaining data has not reached a new low for progress_timeout seconds or the
 * migration runs over its time limit. */
static void *monitor(void *arg)
{
	struct outgoing *o = arg;
	const char *id = o->req.vm_id;
	const struct migration_conv_schedule *conv = &o->req.conv;
	struct migration_conv_state cs = { 0 };
	int init_done = 0;            /* the schedule's init actions applied */
	int downtime = o->req.downtime > 0 ? o->req.downtime : migration_cfg.downtime;
	int steps = migration_cfg.downtime_steps > 0 ? migration_cfg.downtime_steps : 1;
	int step = 0;                 /* next step of the downtime ramp */
	double job_at = 0;            /* first sample of the running job */
	unsigned long long low = 0;
	double low_at = util_now_monotonic();
	double t0 = low_at;

	while (!mon_sleep(o, job_at > 0 ? migration_cfg.monitor_interval * 1000 : MON_JOB_WAIT_MS)) {
		struct vm_job_info j;
		if (vm_outgoing_job(id, false, &j) < 0 || !j.active || j.data_total == 0)
			continue;
		double now = util_now_monotonic();
		if (job_at == 0)
			job_at = now;
		if (conv->set) {
			while (init_done < conv->n_init && conv_apply(o, &conv->init[init_done], "init", 0))
				init_done++;
			if (o->conv_aborted)   /* an abort among the init actions */
				break;
			const struct migration_conv_action *a = migration_conv_sample(conv, &cs,
										      j.data_remaining);
			if (a && conv_apply(o, a, "stalling", cs.iterations) &&
			    a->kind == MIGRATION_CONV_ABORT)
				break;
		} else {
			/* the stepped ramp: step k once k intervals of the job have passed */
			double every = migration_downtime_interval(migration_cfg.downtime_delay,
								   j.data_total, steps);
			while (step < steps && now - job_at >= step * every) {
				int d = migration_downtime_step(downtime, steps, step);
				if (vm_outgoing_set_downtime(id, d) < 0)
					break;   /* retried at the next sample */
				log_info("VM %s: migration max downtime %d ms (step %d of %d)", id, d,
					 step + 1, steps);
				step++;
			}
		}
		int p = (int)(100 - 100 * j.data_remaining / j.data_total);
		if (p > 99)
			p = 99;
		pthread_mutex_lock(&out_lock);
		if (p > o->st.progress)   /* monotonic: a lower value is discarded */
			o->st.progress = p;
		o->st.data_remaining = (long long)j.data_remaining;
		o->st.data_total = (long long)j.data_total;
		o->st.rate = (long long)j.mem_bps;
		pthread_mutex_unlock(&out_lock);
		if (conv->set)
			continue;   /* the schedule replaces the time limit and the progress timeout */
		if (migration_over_time(migration_cfg.max_time_per_gib, j.data_total, now - t0)) {
			log_warning("VM %s: migration running for %.0f s, over %d s per GiB of memory (migration_max_time_per_gib_mem); aborting",
				    id, now - t0, migration_cfg.max_time_per_gib);
			mon_abort(o, &o->too_long);
			break;
		}
		if (low == 0 || j.data_remaining < low) {
			low = j.data_remaining;
			low_at = now;
		} else if (now - low_at > migration_cfg.progress_timeout) {
			log_warning("VM %s: migration stuck (no new low of remaining data for %d s); aborting",
				    id, migration_cfg.progress_timeout);
			mon_abort(o, &o->stuck);
			break;
		}
	}
	return NULL;
}

/* The destination agent during libvirt's job: peer-to-peer migration does not need it,
 * but a destination whose agent is gone would end up with a VM nobody registered, so
 * when it has not answered a ping for migration_dest_ping_timeout s the migration is
 * aborted (the VM stays Up here). A ping waits at most one interval; a migration that
 * completes before the timeout stays completed (the restarted agent adopts the VM). */
static void *dest_watch(void *arg)
{
	struct outgoing *o = arg;
	struct migration_peer peer = peer_of(o);
	int every = migration_cfg.dest_ping_interval;
	double last_ok = util_now_monotonic();

	peer.timeout = every;
	while (!mon_sleep(o, every * 1000)) {
		double now = util_now_monotonic();
		if (migration_cfg.dest_ping(&peer) == 0) {
			last_ok = now;
			continue;
		}
		now = util_now_monotonic();
		if (now - last_ok < migration_cfg.dest_ping_timeout) {
			log_warning("VM %s: destination agent %s:%d not answering for %.0f s", o->req.vm_id,
				    peer.host, peer.port, now - last_ok);
			continue;
		}
		log_warning("VM %s: destination agent %s:%d not answering for %.0f s (migration_dest_ping_timeout %d s); aborting the migration",
			    o->req.vm_id, peer.host, peer.port, now - last_ok,
			    migration_cfg.dest_ping_timeout);
		pthread_mutex_lock(&out_lock);
		o->dest_lost = true;
		o->dest_silent_s = (int)(now - last_ok);
		pthread_mutex_unlock(&out_lock);
		struct vd_error e = { 0 };
		if (vm_outgoing_abort(o->req.vm_id, &e) == 0)
			break;
		/* libvirt's job has not begun yet: again at the next interval */
		log_info("VM %s: %s; trying again in %d s", o->req.vm_id, e.msg, every);
	}
	return NULL;
}

static void run(struct outgoing *o)
{
	const char *id = o->req.vm_id;
	struct migration_peer peer = peer_of(o);
	struct vd_error err = { 0 }, lverr = { 0 };
	double t0 = util_now_monotonic();
	bool migrated = false, dest_created = false;
	char dconn[320], muri[320];
	pthread_t mon, watch;
	bool mon_started = false, watch_started = false;

	/* A full destination answers 82 (we pass incomingLimit): try again every
	 * migration_retry_timeout s, for migration_create_timeout s at most, until
	 * cancelled (API.md §7.1 step 6). */
	int cr;
	for (;;) {
		cr = migration_cfg.dest_create(&peer, id, o->blob, &err);
		if (cr == 0 || err.code != VD_ERR_MIGRATELIMIT ||
		    util_now_monotonic() - t0 + migration_cfg.retry_timeout > migration_cfg.create_timeout)
			break;
		log_info("VM %s: destination %s:%d is at its incoming limit; retrying in %d s", id,
			 peer.host, peer.port, migration_cfg.retry_timeout);
		double until = util_now_monotonic() + migration_cfg.retry_timeout;
		const struct timespec slice = { 0, 200 * 1000 * 1000 };
		while (!atomic_load(&o->cancel) && util_now_monotonic() < until)
			nanosleep(&slice, NULL);
		if (atomic_load(&o->cancel)) {
			err = (struct vd_error){ 0 };   /* the 82 is no longer the outcome */
			vd_error_set(&err, VD_ERR_MIGCANCELERR, "Migration canceled");
			break;
		}
		err = (struct vd_error){ 0 };
	}
	free(o->blob);
	o->blob = NULL;
	if (cr < 0) {
		log_err("VM %s: destination %s:%d refused the migration: %s", id, peer.host,
			peer.port, err.msg);
		goto done;
	}
	dest_created = true;
	if (atomic_load(&o->cancel)) {
		vd_error_set(&err, VD_ERR_MIGCANCELERR, "Migration canceled");
		goto done;
	}
	const char *h = o->req.dst_host;
	bool v6 = strchr(h, ':') != NULL;
	snprintf(dconn, sizeof(dconn), "qemu+%s://%s%s%s/system",
		 migration_cfg.tcp_transport ? "tcp" : "tls", v6 ? "[" : "", h, v6 ? "]" : "");
	const char *q = *o->req.dst_qemu ? o->req.dst_qemu : h;
	v6 = strchr(q, ':') != NULL;
	snprintf(muri, sizeof(muri), "tcp://%s%s%s", v6 ? "[" : "", q, v6 ? "]" : "");
	const struct vm_migrate_args a = {
		.dconnuri = dconn, .migrate_uri = muri,
		.bandwidth_mib = o->req.bandwidth > 0 ? o->req.bandwidth : migration_cfg.max_bandwidth,
		.compressed = o->req.compressed, .auto_converge = o->req.auto_converge,
		.abort_on_error = o->req.abort_on_error,
	};
	mon_started = migration_cfg.monitor_interval > 0 &&
		      pthread_create(&mon, NULL, monitor, o) == 0;
	watch_started = migration_cfg.dest_ping && migration_cfg.dest_ping_interval > 0 &&
			pthread_create(&watch, NULL, dest_watch, o) == 0;
	int r = vm_outgoing_migrate(id, &a, &lverr);
	pthread_mutex_lock(&o->mon_lock);
	o->mon_stop = true;
	pthread_cond_broadcast(&o->mon_cond);
	pthread_mutex_unlock(&o->mon_lock);
	if (mon_started)
		pthread_join(mon, NULL);
	if (watch_started)
		pthread_join(watch, NULL);   /* a ping in flight: one interval at most */
	if (r == 0) {
		migrated = true;
	} else {
		pthread_mutex_lock(&out_lock);
		bool stuck = o->stuck, too_long = o->too_long, conv_aborted = o->conv_aborted;
		bool dest_lost = o->dest_lost;
		int conv_iterations = o->conv_iterations, dest_silent_s = o->dest_silent_s;
		pthread_mutex_unlock(&out_lock);
		/* libvirt's "operation aborted" is the effect; the cause is ours */
		if (atomic_load(&o->cancel))
			vd_error_set(&err, VD_ERR_MIGCANCELERR, "Migration canceled");
		else if (dest_lost)
			vd_error_set(&err, VD_ERR_MIGRATEERR,
				     "Fatal error during migration: destination agent %s:%d not answering for %d s (migration_dest_ping_timeout); aborted",
				     o->req.dst_host, o->req.dst_port, dest_silent_s);
		else if (stuck)
			vd_error_set(&err, VD_ERR_MIGRATEERR,
				     "Fatal error during migration: no progress for %d s (migration_progress_timeout); aborted",
				     migration_cfg.progress_timeout);
		else if (conv_aborted)
			vd_error_set(&err, VD_ERR_MIGRATEERR,
				     "Fatal error during migration: stalling for %d iterations; aborted by the convergence schedule",
				     conv_iterations);
		else if (too_long)
			vd_error_set(&err, VD_ERR_MIGRATEERR,
				     "Fatal error during migration: took longer than %d s per GiB of memory (migration_max_time_per_gib_mem); aborted",
				     migration_cfg.max_time_per_gib);
		else
			err = lverr;
	}
done:
	if (!migrated && dest_created) {
		if (o->dest_lost)   /* no 600 s wait on an agent that does not answer */
			peer.timeout = migration_cfg.dest_ping_interval;
		migration_cfg.dest_destroy(&peer, id);
	}
	vm_outgoing_end(id, migrated);
	pthread_mutex_lock(&out_lock);
	o->st.running = false;
	if (migrated) {
		o->st.code = 0;
		snprintf(o->st.message, sizeof(o->st.message), "Migration done");
		o->st.progress = 100;
		o->st.data_remaining = 0;
	} else {
		o->st.code = err.code ? err.code : VD_ERR_MIGRATEERR;
		snprintf(o->st.message, sizeof(o->st.message), "%s",
			 err.code ? err.msg : "Fatal error during migration");
	}
	threads--;
	pthread_cond_broadcast(&out_cond);
	pthread_mutex_unlock(&out_lock);
	/* Audit (issue: start, end with duration, cancel, failure reason); downtime is
	 * measured by the destination (libvirt's completed job there). */
	char reason[VD_ERROR_MSG_MAX];
	pthread_mutex_lock(&out_lock);
	int code = o->st.code;
	migration_audit_text(reason, o->st.message, sizeof(reason));
	pthread_mutex_unlock(&out_lock);
	log_notice("AUDIT event=migration-end vm=%s dst=%s:%d result=%s code=%d duration_ms=%.0f reason=\"%s\"",
		   id, o->req.dst_host, o->req.dst_port,
		   migrated ? "succeeded" : code == VD_ERR_MIGCANCELERR ? "canceled" : "failed", code,
		   (util_now_monotonic() - t0) * 1000, migrated ? "" : reason);
}

static void *run_thread(void *arg)
{
	run(arg);
	return NULL;
}

int migration_migrate(const struct migration_request *r, struct vd_error *err)
{
	char *blob = NULL;

	pthread_mutex_lock(&out_lock);
	int running = 0;
	for (struct outgoing *o = outs; o; o = o->next)
		running += o->st.running;
	pthread_mutex_unlock(&out_lock);
	/* Checked before the VM is touched; two racing migrates of different VMs may
	 * both pass (the limit is a load guard, not a lock). */
	if (running >= migration_cfg.max_outgoing)
		return vd_error_set(err, VD_ERR_MIGRATELIMIT,
				    "Outgoing migration limit exceeded: %d of %d outgoing migrations in progress on this host",
				    running, migration_cfg.max_outgoing);
	if (vm_outgoing_begin(r->vm_id, &blob, err) < 0)
		return -1;
	struct outgoing *o = calloc(1, sizeof(*o));
	if (!o) {
		free(blob);
		vm_outgoing_end(r->vm_id, false);
		return vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: out of memory");
	}
	o->req = *r;
	o->blob = blob;
	o->st.running = true;
	snprintf(o->st.message, sizeof(o->st.message), "Migration in progress");
	pthread_mutex_init(&o->mon_lock, NULL);
	pthread_cond_init(&o->mon_cond, NULL);
	atomic_init(&o->cancel, false);

	pthread_mutex_lock(&out_lock);
	/* The VM's previous record (finished: vm_outgoing_begin() refuses a VM still
	 * migrating) gives way to this one. */
	for (struct outgoing **pp = &outs; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->req.vm_id, r->vm_id) == 0 && !(*pp)->st.running) {
			struct outgoing *old = *pp;
			*pp = old->next;
			pthread_mutex_destroy(&old->mon_lock);
			pthread_cond_destroy(&old->mon_cond);
			free(old);
			break;
		}
	}
	o->next = outs;
	outs = o;
	threads++;
	pthread_t tid;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int e = pthread_create(&tid, &attr, run_thread, o);
	pthread_attr_destroy(&attr);
	if (e != 0) {
		threads--;
		o->st.running = false;
		o->st.code = VD_ERR_MIGRATEERR;
		snprintf(o->st.message, sizeof(o->st.message), "cannot start a migration thread");
		free(o->blob);
		o->blob = NULL;
	}
	pthread_mutex_unlock(&out_lock);
	if (e != 0) {
		vm_outgoing_end(r->vm_id, false);
		return vd_error_set(err, VD_ERR_MIGRATEERR,
				    "Fatal error during migration: cannot start a thread: %s", strerror(e));
	}
	log_notice("AUDIT event=migration-start vm=%s dst=%s:%d qemu=%s downtime_ms=%d bandwidth_mibs=%d convergence=%s",
		   r->vm_id, r->dst_host, r->dst_port, *r->dst_qemu ? r->dst_qemu : r->dst_host,
		   r->downtime > 0 ? r->downtime : migration_cfg.downtime,
		   r->bandwidth > 0 ? r->bandwidth : migration_cfg.max_bandwidth,
		   r->conv.set ? "schedule" : "stepped");
	return 0;
}

int migration_status(const char *id, struct migration_status *ret, struct vd_error *err)
{
	pthread_mutex_lock(&out_lock);
	struct outgoing *o = find_locked(id);
	if (o)
		*ret = o->st;
	pthread_mutex_unlock(&out_lock);
	if (!o)
		return vd_error_set(err, VD_ERR_NOVM,
				    "Virtual machine does not exist: no migration of VM '%s' on this host",
				    id);
	return 0;
}

int migration_cancel(const char *id, struct vd_error *err)
{
	pthread_mutex_lock(&out_lock);
	struct outgoing *o = find_locked(id);
	bool running = o && o->st.running;
	if (running)
		atomic_store(&o->cancel, true);
	pthread_mutex_unlock(&out_lock);
	if (!running)
		return vd_error_set(err, VD_ERR_MIGCANCELERR,
				    "Migration not in progress: VM '%s'", id);
	/* Before libvirt's job exists the flag is enough (checked after migrationCreate);
	 * during it libvirt aborts and MigrateToURI3 fails. */
	struct vd_error e = { 0 };
	if (vm_outgoing_abort(id, &e) < 0)
		log_info("VM %s: cancel: %s (the flag stops it)", id, e.msg);
	log_notice("AUDIT event=migration-cancel vm=%s", id);
	return 0;
}

void migration_src_stop(void)
{
	struct timespec ts;

	pthread_mutex_lock(&out_lock);
	for (struct outgoing *o = outs; o; o = o->next)
		if (o->st.running)
			atomic_store(&o->cancel, true);
	pthread_mutex_unlock(&out_lock);
	for (struct outgoing *o = outs; o; o = o->next) {
		struct vd_error e = { 0 };
		if (o->st.running && vm_outgoing_abort(o->req.vm_id, &e) < 0)
			log_info("VM %s: %s", o->req.vm_id, e.msg);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 30;
	pthread_mutex_lock(&out_lock);
	while (threads > 0)
		if (pthread_cond_timedwait(&out_cond, &out_lock, &ts) == ETIMEDOUT)
			break;
	if (threads > 0) {
		log_warning("%d outgoing migration thread(s) still running at shutdown", threads);
		pthread_mutex_unlock(&out_lock);
		return; /* their records stay (leaked at exit) rather than freed under them */
	}
	while (outs) {
		struct outgoing *o = outs;
		outs = o->next;
		free(o->blob);
		pthread_mutex_destroy(&o->mon_lock);
		pthread_cond_destroy(&o->mon_cond);
		free(o);
	}
	pthread_mutex_unlock(&out_lock);
}
