/* Host readiness checks (readiness.h). Every line says what was found and, when it is
 * not ok, what to do: the reader is an admin at a console, not the code's author. */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>

#include "readiness.h"
#include "readiness-internal.h"
#include "../util/error.h"
#include "../util/macros.h"
#include "../util/util.h"

static void check_libvirt(const struct rd_input *in, struct rd_report *r)
{
	const struct hostcaps *c = in->caps;

	if (!c) {
		rd_hint(rd_add(r, "libvirt", RD_FAIL, "host facts were not collected"),
		     "see the agent's log for why it could not read /proc and /sys");
		return;
	}
	if (!c->virt) {
		rd_hint(rd_add(r, "libvirt", RD_FAIL, "libvirt does not answer: %s",
			 c->virt_error.msg[0] ? c->virt_error.msg : "unknown error"),
		     "start libvirtd (systemctl start libvirtd) and check vars.libvirt_uri in "
		     "vdsm.conf");
		return;
	}
	unsigned long v = c->virt->lib_version, q = c->virt->hv_version;
	rd_add(r, "libvirt", RD_OK, "libvirt %lu.%lu.%lu, QEMU %lu.%lu.%lu, %s domains",
	    v / 1000000, v / 1000 % 1000, v % 1000, q / 1000000, q / 1000 % 1000, q % 1000,
	    c->virt->domain_type ? c->virt->domain_type : "?");
}

static void check_kvm(const struct rd_input *in, struct rd_report *r)
{
	if (!in->caps)
		return;
	if (in->caps->kvm_api >= 0)
		rd_add(r, "kvm", RD_OK, "/dev/kvm usable (KVM API %d)", in->caps->kvm_api);
	else
		rd_hint(rd_add(r, "kvm", RD_WARN, "/dev/kvm is not usable (%s): VMs would run under "
			 "TCG emulation, many times slower", strerror(-in->caps->kvm_api)),
		     "enable virtualization (VT-x/AMD-V) in the firmware and load kvm_intel or "
		     "kvm_amd");
}

static void check_cpu(const struct rd_input *in, struct rd_report *r)
{
	const struct hostcaps *c = in->caps;
	const char *model = in->cluster_cpu;

	if (!c || !c->virt) {
		rd_hint(rd_add(r, "cpu", RD_FAIL, "CPU models unknown: libvirt did not answer"),
		     "fix the libvirt line first");
		return;
	}
	if (!model || !*model) {
		rd_add(r, "cpu", RD_OK, "host CPU %s %s (no cluster baseline given)",
		    c->virt->host_vendor ? c->virt->host_vendor : "",
		    c->virt->host_model ? c->virt->host_model : "of unknown model");
		return;
	}
	if (strncmp(model, "model_", 6) == 0)
		model += 6;
	char **missing = NULL;
	size_t n = 0;
	int rc = hostcaps_cpu_compare(model, &missing, &n);
	if (rc == -ENOENT) {
		rd_hint(rd_add(r, "cpu", RD_FAIL, "CPU model '%s' is not known to libvirt here", model),
		     "use a model name of libvirt's CPU map (virsh cpu-models x86_64)");
	} else if (rc < 0) {
		rd_hint(rd_add(r, "cpu", RD_FAIL, "cannot compare with CPU model '%s': %s", model,
			 strerror(-rc)),
		     "check that libvirt's CPU map is installed (/usr/share/libvirt/cpu_map)");
	} else if (n == 0) {
		rd_add(r, "cpu", RD_OK, "the host CPU runs the cluster's model %s", model);
	} else {
		char list[400] = "";
		size_t off = 0;
		for (size_t i = 0; i < n && off < sizeof(list); i++)
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", i ? " " : "",
						missing[i]);
		rd_hint(rd_add(r, "cpu", RD_FAIL, "the host CPU lacks %zu flag(s) of model %s: %s", n,
			 model, list),
		     "put the host in a cluster with an older CPU model, or enable the flags in "
		     "the firmware");
	}
	cpu_strv_free(missing);
}

static void check_memory(const struct rd_input *in, struct rd_report *r)
{
	struct cpu_meminfo mi;
	int rc = cpu_meminfo_read(in->host_root, &mi);
	long long reserved = (long long)in->host_mem_reserve_mib + in->extra_mem_reserve_mib;

	if (rc < 0 || mi.available < 0) {
		rd_hint(rd_add(r, "memory", RD_FAIL, "cannot read MemAvailable from /proc/meminfo: %s",
			 rc < 0 ? strerror(-rc) : "absent"),
		     "the kernel is too old or /proc is not mounted");
		return;
	}
	long long avail = mi.available / 1024, total = mi.total / 1024;
	if (avail < reserved)
		rd_hint(rd_add(r, "memory", RD_FAIL, "%lld MiB available of %lld MiB, below the %lld MiB "
			 "reserved for the host: no VM can start", avail, total, reserved),
		     "stop what uses the memory, or lower vars.host_mem_reserve");
	else if (avail < reserved + 512)
		rd_hint(rd_add(r, "memory", RD_WARN, "%lld MiB available of %lld MiB, %lld MiB reserved "
			 "for the host: less than 512 MiB left for VMs", avail, total, reserved),
		     "add memory or stop what uses it");
	else
		rd_add(r, "memory", RD_OK, "%lld MiB available of %lld MiB, %lld MiB reserved for the "
		    "host", avail, total, reserved);
}

/* The kernel against the persisted running configuration of the network (setupNetworks):
 * the VLAN device and id, and the MTU. 1 when a line was added, else 0. */
static int check_network_conf(const struct rd_input *in, struct rd_report *r, const char *label,
			      const struct net_dev *d, const char *name)
{
	const struct netconf_net *want = in->running ? netconf_find_net(in->running, name) : NULL;

	if (!want)
		return 0;
	const char *base = want->bonding[0] ? want->bonding : want->nic;
	if (want->vlan >= 0) {
		const struct net_dev *v = d->kind == NET_KIND_VLAN ? d : NULL;
		for (size_t i = 0; !v && i < d->n_ports; i++) {
			const struct net_dev *p = net_snapshot_find(in->net, d->ports[i]);
			if (p && p->kind == NET_KIND_VLAN)
				v = p;
		}
		if (!v) {
			rd_hint(rd_add(r, label, RD_FAIL, "'%s' has no VLAN device: the persisted "
				       "network is VLAN %d on %s", name, want->vlan, base),
				"restore the network (setupNetworks, or the manager's Setup Host "
				"Networks); `ip -d link` shows the VLAN devices");
			return 1;
		}
		if (v->vlan_id != want->vlan || (base[0] && strcmp(v->vlan_base, base))) {
			rd_hint(rd_add(r, label, RD_FAIL, "'%s' is on VLAN %d on %s (%s), the persisted "
				       "network is VLAN %d on %s", name, v->vlan_id, v->vlan_base,
				       v->name, want->vlan, base),
				"restore the network (setupNetworks) or fix the VLAN id on the switch "
				"side and in the manager");
			return 1;
		}
	}
	if (want->mtu && d->mtu != want->mtu) {
		rd_hint(rd_add(r, label, RD_WARN, "'%s' has MTU %d, the persisted network MTU %d",
			       name, d->mtu, want->mtu),
			"set the MTU through setupNetworks (the manager's network MTU) so that "
			"the kernel and the configuration agree");
		return 1;
	}
	return 0;
}

static void check_network(const struct rd_input *in, struct rd_report *r, const char *name)
{
	char label[32];

	snprintf(label, sizeof(label), "network:%.23s", name);
	if (!in->net) {
		rd_hint(rd_add(r, label, RD_FAIL, "the network state cannot be read"),
		     "see the agent's log (netlink)");
		return;
	}
	const struct net_dev *d = net_snapshot_find(in->net, name);
	if (!d) {
		rd_hint(rd_add(r, label, RD_FAIL, "no bridge or interface named '%s'", name),
		     "create the network on this host (the manager's Setup Host Networks, or "
		     "setupNetworks)");
		return;
	}
	char vlan[64] = "";
	char dead[96] = "";             /* ports without link, for the detail */
	size_t n_dead = 0;
	for (size_t i = 0; i < d->n_ports; i++) {
		const struct net_dev *p = net_snapshot_find(in->net, d->ports[i]);
		if (p && p->kind == NET_KIND_VLAN)
			snprintf(vlan, sizeof(vlan), ", VLAN %d on %s", p->vlan_id, p->vlan_base);
		if (!p || !p->up || !p->carrier) {
			size_t len = strlen(dead);
			snprintf(dead + len, sizeof(dead) - len, "%s%s %s", n_dead ? ", " : "",
				 d->ports[i], !p || !p->up ? "down" : "without carrier");
			n_dead++;
		}
	}
	if (d->kind == NET_KIND_VLAN)
		snprintf(vlan, sizeof(vlan), ", VLAN %d on %s", d->vlan_id, d->vlan_base);
	const char *what = d->kind == NET_KIND_BRIDGE ? "bridge" : "interface";
	if (check_network_conf(in, r, label, d, name) > 0)
		return;
	if (!d->up)
		rd_hint(rd_add(r, label, RD_FAIL, "%s '%s' is down (MTU %d%s)", what, name, d->mtu, vlan),
		     "bring it up (ip link set %s up) and check its ports", name);
	else if (d->kind == NET_KIND_BRIDGE && d->n_ports == 0)
		rd_hint(rd_add(r, label, RD_WARN, "bridge '%s' is up but has no port (MTU %d): VMs on it "
			 "reach only each other", name, d->mtu),
		     "attach the network to a NIC, bond or VLAN");
	else if (d->kind == NET_KIND_BRIDGE && n_dead == d->n_ports)
		rd_hint(rd_add(r, label, RD_FAIL, "bridge '%s' is up but no port has link (%s; "
			 "MTU %d%s)", name, dead, d->mtu, vlan),
		     "bring the port up (ip link set PORT up) and check its cable and switch port");
	else if (n_dead)
		rd_hint(rd_add(r, label, RD_WARN, "bridge '%s' up, MTU %d%s, but %s", name, d->mtu,
			 vlan, dead),
		     "bring the port up (ip link set PORT up) and check its cable and switch port");
	else
		rd_add(r, label, RD_OK, "%s '%s' up, MTU %d%s", what, name, d->mtu, vlan);
}

/* ---- certificates ---- */

static gnutls_x509_crt_t load_crt(const char *path, struct vd_error *err)
{
	_cleanup_free_ char *pem = NULL;
	size_t len = 0;
	gnutls_x509_crt_t crt = NULL;
	int rc = util_read_file(path, 1 << 20, &pem, &len);

	if (rc < 0) {
		vd_error_set(err, VD_ERR_GENERAL, "cannot read %s: %s", path, strerror(-rc));
		return NULL;
	}
	gnutls_datum_t d = { (unsigned char *)pem, (unsigned)len };
	if (gnutls_x509_crt_init(&crt) < 0 ||
	    (rc = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM)) < 0) {
		vd_error_set(err, VD_ERR_GENERAL, "%s is not a PEM certificate: %s", path,
			     gnutls_strerror(rc));
		if (crt)
			gnutls_x509_crt_deinit(crt);
		return NULL;
	}
	return crt;
}

/* Validity of one certificate at now; returns its verdict. */
static enum rd_verdict cert_dates(const struct rd_input *in, struct rd_report *r,
				  const char *label, const char *path, gnutls_x509_crt_t crt)
{
	double nb = (double)gnutls_x509_crt_get_activation_time(crt);
	double na = (double)gnutls_x509_crt_get_expiration_time(crt);
	double days = (na - in->now) / 86400;

	if (in->now < nb) {
		rd_hint(rd_add(r, label, RD_FAIL, "%s is not valid yet (from %.0f s from now)", path,
			 nb - in->now),
		     "check the host clock, or issue the certificate again");
		return RD_FAIL;
	}
	if (days < 0) {
		rd_hint(rd_add(r, label, RD_FAIL, "%s expired %.0f day(s) ago", path, -days),
		     "enroll the host's certificate again (the manager's Enroll Certificate)");
		return RD_FAIL;
	}
	if (days < in->cert_warn_days) {
		rd_hint(rd_add(r, label, RD_WARN, "%s expires in %.0f day(s)", path, days),
		     "enroll the host's certificate again before it expires");
		return RD_WARN;
	}
	return RD_OK;
}

static void check_certificates(const struct rd_input *in, struct rd_report *r)
{
	char cert_path[600], key_path[600], ca_path[600];
	struct vd_error err = { 0 };
	_cleanup_free_ char *cpem = NULL, *kpem = NULL;
	gnutls_x509_crt_t crt = NULL, ca = NULL;

	if (!in->trust_store || !*in->trust_store) {
		rd_hint(rd_add(r, "certificates", RD_WARN, "the agent serves plain HTTP (vars.ssl = false): "
			 "anyone who can reach its port controls the host"),
		     "set vars.ssl = true with a host certificate (scripts/vdsm-c-certs)");
		return;
	}
	snprintf(cert_path, sizeof(cert_path), "%s/certs/vdsmcert.pem", in->trust_store);
	snprintf(key_path, sizeof(key_path), "%s/keys/vdsmkey.pem", in->trust_store);
	snprintf(ca_path, sizeof(ca_path), "%s/certs/cacert.pem", in->trust_store);
	crt = load_crt(cert_path, &err);
	ca = crt ? load_crt(ca_path, &err) : NULL;
	if (!crt || !ca) {
		rd_hint(rd_add(r, "certificates", RD_FAIL, "%s", err.msg),
		     "create or enroll the host certificate (scripts/vdsm-c-certs for a lab)");
		goto out;
	}
	size_t n0 = r->n;
	if (cert_dates(in, r, "certificates", cert_path, crt) == RD_FAIL ||
	    cert_dates(in, r, "certificates", ca_path, ca) == RD_FAIL)
		goto out;
	unsigned status = 0;
	if (gnutls_x509_crt_verify(crt, &ca, 1, 0, &status) < 0 || status != 0) {
		gnutls_datum_t why = { 0 };
		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0) < 0)
			why.data = NULL;
		rd_hint(rd_add(r, "certificates", RD_FAIL, "%s is not signed by %s: %s", cert_path, ca_path,
			 why.data ? (const char *)why.data : "verification failed"),
		     "install the CA of the manager that issued the host certificate");
		gnutls_free(why.data);
		goto out;
	}
	size_t clen = 0, klen = 0;
	gnutls_certificate_credentials_t cred = NULL;
	int rc = util_read_file(cert_path, 1 << 20, &cpem, &clen);
	if (rc >= 0)
		rc = util_read_file(key_path, 1 << 20, &kpem, &klen);
	if (rc >= 0 && gnutls_certificate_allocate_credentials(&cred) >= 0) {
		gnutls_datum_t cd = { (unsigned char *)cpem, (unsigned)clen };
		gnutls_datum_t kd = { (unsigned char *)kpem, (unsigned)klen };
		rc = gnutls_certificate_set_x509_key_mem(cred, &cd, &kd, GNUTLS_X509_FMT_PEM);
		gnutls_certificate_free_credentials(cred);
	}
	if (rc < 0) {
		rd_hint(rd_add(r, "certificates", RD_FAIL, "%s does not go with %s: %s", key_path, cert_path,
			 rc == -ENOENT || rc == -EACCES ? strerror(-rc) : gnutls_strerror(rc)),
		     "install the key the certificate was issued for");
		goto out;
	}
	if (r->n == n0)
		rd_add(r, "certificates", RD_OK, "%s valid for %.0f more day(s), signed by %s", cert_path,
		    ((double)gnutls_x509_crt_get_expiration_time(crt) - in->now) / 86400, ca_path);
out:
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (ca)
		gnutls_x509_crt_deinit(ca);
}

static void check_clock(const struct rd_input *in, struct rd_report *r)
{
	struct timex tx = { 0 };
	int state = in->clock_read ? in->clock_read(&tx) : adjtimex(&tx);

	if (state < 0) {
		rd_hint(rd_add(r, "clock", RD_WARN, "cannot read the kernel clock state: %s",
			       strerror(errno)),
		     "check that the agent may call adjtimex(2) (seccomp, container)");
		return;
	}
	if (state == TIME_ERROR || (tx.status & STA_UNSYNC)) {
		rd_hint(rd_add(r, "clock", RD_WARN, "the clock is not synchronized (no NTP)"),
		     "run an NTP client (chrony or systemd-timesyncd): certificates, storage leases "
		     "and migration downtime figures need a correct clock");
		return;
	}
	double off_ms = (double)tx.offset / ((tx.status & STA_NANO) ? 1e6 : 1e3);
	if (off_ms > 500 || off_ms < -500)
		rd_hint(rd_add(r, "clock", RD_WARN, "synchronized, but %.0f ms off", off_ms),
		     "check the NTP servers");
	else
		rd_add(r, "clock", RD_OK, "synchronized (offset %.1f ms, max error %ld ms)", off_ms,
		    tx.maxerror / 1000);
}

void readiness_run(const struct rd_input *in, struct rd_report *ret)
{
	memset(ret, 0, sizeof(*ret));
	check_libvirt(in, ret);
	check_kvm(in, ret);
	check_cpu(in, ret);
	check_memory(in, ret);
	for (size_t i = 0; i < in->n_networks; i++)
		check_network(in, ret, in->networks[i]);
	rd_check_storage(in, ret);
	rd_check_mpath(in, ret);
	check_certificates(in, ret);
	check_clock(in, ret);
}
