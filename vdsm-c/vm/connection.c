/* The libvirt connection of the VM module: errors, the one shared connection (opened,
 * watched, reopened), and the event-loop thread that delivers its events. It calls no
 * other file of the module but events.c's vm_on_lifecycle() (the domain event
 * callback); what runs after every (re)connect (recovery) is given to vm_conn_start()
 * by the module, so the layers above are not called back by name. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>

#include "../util/log.h"
#include "vm-internal.h"

static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static virConnectPtr conn;           /* conn_lock */
static int lifecycle_cb = -1;        /* conn_lock */
/* Set by the close callback without conn_lock: libvirt may run that callback while
 * holding its own lock. No libvirt call is made under conn_lock (see connect_conn). */
static atomic_bool conn_is_broken;

static void (*on_connected)(virConnectPtr c); /* set once at start */

static pthread_t event_tid;
static atomic_bool event_run;
static int wake_timer = -1;

/* ---- errors ---- */

static void quiet_error(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e; /* libvirt would print to stderr; callers report errors themselves */
}

const char *vm_virt_error(void)
{
	virErrorPtr e = virGetLastError();

	return e && e->message ? e->message : "unknown libvirt error";
}

int vm_virt_error_code(void)
{
	virErrorPtr e = virGetLastError();

	return e ? e->code : VIR_ERR_OK;
}

/* ---- connection ---- */

virConnectPtr vm_conn_get(void)
{
	virConnectPtr c = NULL;

	pthread_mutex_lock(&conn_lock);
	if (conn && !atomic_load(&conn_is_broken) && virConnectRef(conn) == 0)
		c = conn;
	pthread_mutex_unlock(&conn_lock);
	return c;
}

void vm_conn_broken(void)
{
	atomic_store(&conn_is_broken, true);
}

static void on_close(virConnectPtr c, int reason, void *opaque)
{
	(void)c;
	(void)opaque;
	log_warning("libvirt connection closed (reason %d); reconnecting from the sampler",
		    reason);
	vm_conn_broken();
}

/* Makes c (with its lifecycle callback id) the connection, then closes the previous
 * one: calls on the old connection may wait too, so after the swap, unlocked. */
static void install(virConnectPtr c, int id)
{
	pthread_mutex_lock(&conn_lock);
	virConnectPtr old = conn;
	int old_cb = lifecycle_cb;
	conn = c;
	lifecycle_cb = id;
	if (c)
		atomic_store(&conn_is_broken, false);
	pthread_mutex_unlock(&conn_lock);
	if (old) {
		if (old_cb >= 0)
			virConnectDomainEventDeregisterAny(old, old_cb);
		virConnectUnregisterCloseCallback(old, on_close);
		virConnectClose(old);
	}
}

/* Opens a connection and registers the callbacks, then installs it. conn_lock is NOT
 * held while libvirt is asked: virConnectOpen has no timeout and waits forever for a
 * libvirtd that accepts but does not answer (stopped, deadlocked), and the create and
 * destroy verbs take conn_lock (vm_conn_get) — they must get "no connection" then, not
 * wait with it. Only one thread connects at a time (module start, then the sampler). */
static int connect_conn(void)
{
	const char *uri = vm_opts.libvirt_uri;
	virConnectPtr c = virConnectOpen(uri);

	if (!c) {
		/* The sampler retries every interval: say it once, then at debug level. */
		static bool said;
		if (!said)
			log_warning("cannot connect to libvirt at '%s': %s", uri, vm_virt_error());
		else
			log_debug("cannot connect to libvirt at '%s': %s", uri, vm_virt_error());
		said = true;
		return -ECONNREFUSED;
	}
	if (virConnectRegisterCloseCallback(c, on_close, NULL, NULL) < 0)
		log_debug("libvirt close callback: %s", vm_virt_error());
	if (virConnectSetKeepAlive(c, 5, 3) < 0)
		log_debug("libvirt keepalive: %s", vm_virt_error());
	int id = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						  VIR_DOMAIN_EVENT_CALLBACK(vm_on_lifecycle), NULL, NULL);
	if (id < 0) {
		log_err("cannot register for libvirt lifecycle events: %s", vm_virt_error());
		virConnectUnregisterCloseCallback(c, on_close);
		virConnectClose(c);
		return -EIO;
	}
	install(c, id);
	log_notice("connected to libvirt at '%s'", uri);
	return 0;
}

static void disconnect(void)
{
	install(NULL, -1);
}

int vm_conn_reconnect(void)
{
	int r = connect_conn();
	if (r < 0)
		return r;
	virConnectPtr c = vm_conn_get();
	if (c) {
		if (on_connected)
			on_connected(c);
		virConnectClose(c);
	}
	return 0;
}

/* ---- event loop ---- */

static void wake_cb(int timer, void *opaque)
{
	(void)opaque;
	virEventUpdateTimeout(timer, -1);
}

static void *event_loop(void *arg)
{
	(void)arg;
	while (atomic_load(&event_run))
		if (virEventRunDefaultImpl() < 0)
			log_warning("libvirt event loop: %s", vm_virt_error());
	return NULL;
}

int vm_conn_start(void (*connected)(virConnectPtr c))
{
	on_connected = connected;
	xmlInitParser();
	virSetErrorFunc(NULL, quiet_error);
	if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0) {
		log_err("cannot initialise libvirt: %s", vm_virt_error());
		return -1;
	}
	wake_timer = virEventAddTimeout(-1, wake_cb, NULL, NULL);
	atomic_store(&event_run, true);
	if (pthread_create(&event_tid, NULL, event_loop, NULL) != 0) {
		log_err("cannot start the libvirt event thread");
		atomic_store(&event_run, false);
		return -1;
	}
	return 0;
}

void vm_conn_stop(void)
{
	disconnect();
	if (atomic_exchange(&event_run, false)) {
		if (wake_timer >= 0)
			virEventUpdateTimeout(wake_timer, 0);
		pthread_join(event_tid, NULL);
	}
	if (wake_timer >= 0) {
		virEventRemoveTimeout(wake_timer);
		wake_timer = -1;
	}
}
