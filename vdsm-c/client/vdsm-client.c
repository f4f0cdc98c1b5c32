/* vdsm-client: call one verb of a vdsm-c (or VDSM) agent and print the reply as JSON.
 *
 * Exit status: 0 when the reply's status code is 0; 1 when the agent answered with
 * another code (code and message on stderr) or with an XML-RPC fault; 2 for usage
 * errors and when the agent cannot be reached. */
#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../rpc/client.h"
#include "../../rpc/json.h"
#include "../../rpc/xmlrpc.h"
#include "../util/macros.h"

#define MAX_ARGS 16

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vdsm-client [--host H] [--port P] [--pki DIR | --plain] [--flow ID]\n"
		"                   [--timeout S] [--wait] VERB [ARG...]\n"
		"  ARG is a positional value or NAME=VALUE for a named parameter of VERB; a VALUE\n"
		"  that parses as JSON ({...}, [...], \"...\", numbers, true/false) is sent as\n"
		"  that type, anything else as a string. NAME=VALUE pairs that name no parameter\n"
		"  are collected into the verb's struct parameter (e.g. create vmId=... memSize=256).\n"
		"  --pki DIR  trust store: DIR/certs/cacert.pem, and DIR/client/{cert,key}.pem\n"
		"             (else DIR/certs/vdsmcert.pem + DIR/keys/vdsmkey.pem). Default:\n"
		"             $VDSM_C_PKI, else the dev-pki directory next to this program, else\n"
		"             /etc/pki/vdsm.\n"
		"  --wait     (migrate) follow migrateStatus with a progress bar (percent, data\n"
		"             remaining, rate) and exit with the outcome\n"
		"  exit: 0 status code 0; 1 other code or fault; 2 usage or connection error\n");
}

static bool looks_like_json(const char *s)
{
	if (!*s)
		return false;
	if (strchr("{[\"", *s) || strcmp(s, "true") == 0 || strcmp(s, "false") == 0)
		return true;
	char *end;
	strtod(s, &end);
	return *end == '\0' && (isdigit((unsigned char)*s) || *s == '-');
}

static xmlrpc_value *parse_value(xmlrpc_env *env, const char *s)
{
	if (looks_like_json(s)) {
		xmlrpc_env jenv;
		xmlrpc_env_init(&jenv);
		xmlrpc_value *v = rpc_json_parse(&jenv, s);
		bool failed = jenv.fault_occurred;
		xmlrpc_env_clean(&jenv);
		if (!failed && v)
			return v;
		if (*s == '{' || *s == '[') {
			fprintf(stderr, "vdsm-client: argument '%s' is not valid JSON\n", s);
			return NULL;
		}
	}
	return rpc_str(env, s);
}

static bool is_named(const char *a)
{
	const char *eq = strchr(a, '=');

	if (!eq || eq == a || (!isalpha((unsigned char)*a) && *a != '_'))
		return false;
	for (const char *p = a; p < eq; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.')
			return false;
	return true;
}

struct param {
	char name[64];
	bool optional;
	bool is_struct;
};

/* "vmId, [fullStatus], vmParams{}" → params. */
static int parse_signature(const char *args, struct param *p, int max)
{
	int n = 0;
	char buf[512], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", args);
	for (char *t = strtok_r(buf, ", ", &save); t && n < max; t = strtok_r(NULL, ", ", &save)) {
		struct param *q = &p[n++];
		memset(q, 0, sizeof(*q));
		if (*t == '[') {
			q->optional = true;
			t++;
		}
		size_t l = strcspn(t, "]{");
		q->is_struct = strstr(t, "{}") != NULL;
		snprintf(q->name, sizeof(q->name), "%.*s", (int)l, t);
	}
	return n;
}

static char *exe_dir_path(const char *leaf)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *out;

	if (n <= 0)
		return NULL;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	if (asprintf(&out, "%s/%s", self, leaf) < 0)
		return NULL;
	return out;
}

static int print_reply(xmlrpc_value *v)
{
	rpc_json_write(stdout, v, 4);
	fputc('\n', stdout);
	xmlrpc_value *status = rpc_struct_get(v, "status");
	long long code = 0;
	if (!status) /* a VDSM-style reply always has one; without it, treat as data */
		return 0;
	if (rpc_to_ll(rpc_struct_get(status, "code"), &code) != RPC_OK) {
		fprintf(stderr, "vdsm-client: reply has no integer status.code\n");
		return 1;
	}
	if (code != 0) {
		_cleanup_free_ char *msg = rpc_to_string(rpc_struct_get(status, "message"));
		fprintf(stderr, "vdsm-client: code %lld: %s\n", code, msg ? msg : "");
		return 1;
	}
	return 0;
}

/* An integer member of a reply, or def when it is absent or not a number. */
static long long member_ll(xmlrpc_value *st, const char *name, long long def)
{
	long long v;

	return rpc_to_ll(rpc_struct_get(st, name), &v) == RPC_OK ? v : def;
}

/* migrate --wait: polls migrateStatus, draws a progress bar on stderr (a terminal:
 * redrawn in place; otherwise one line per change), returns the exit status of the
 * outcome (0 done, 1 failed/canceled, 2 agent unreachable). */
static int wait_migration(struct rpc_client *cl, const char *vm, const char *flow)
{
	const struct timespec tick = { 0, 250 * 1000 * 1000 };
	bool tty = isatty(STDERR_FILENO);
	char last[160] = "";
	struct vd_error err = { 0 };
	int fcode;

	for (;;) {
		xmlrpc_env env;
		xmlrpc_env_init(&env);
		xmlrpc_value *params = rpc_array_new(&env), *reply = NULL;
		rpc_append_str(&env, params, vm);
		int r = rpc_client_call(cl, "migrateStatus", params, flow, &reply, &fcode,
					vd_error_fresh(&err));
		xmlrpc_DECREF(params);
		xmlrpc_env_clean(&env);
		if (r != RPC_CALL_OK) {
			fprintf(stderr, "%svdsm-client: migrateStatus: %s\n", tty ? "\n" : "", err.msg);
			return r == RPC_CALL_FAULT ? 1 : 2;
		}
		xmlrpc_value *st = rpc_struct_get(reply, "status");
		xmlrpc_value *ms = rpc_struct_get(reply, "migrationStats");
		xmlrpc_value *mst = rpc_struct_get(ms, "status");
		long long code = member_ll(st, "code", -1), mcode = member_ll(mst, "code", -1);
		long long progress = member_ll(ms, "progress", 0), rem = member_ll(ms, "dataRemaining", 0);
		long long rate = member_ll(ms, "rate", 0);
		_cleanup_free_ char *msg = rpc_to_string(rpc_struct_get(code ? st : mst, "message"));
		xmlrpc_DECREF(reply);
		if (code != 0) {
			fprintf(stderr, "%svdsm-client: migrateStatus: code %lld: %s\n", tty ? "\n" : "",
				code, msg ? msg : "");
			return 1;
		}
		if (progress < 0)
			progress = 0;
		if (progress > 100)
			progress = 100;
		char bar[41], line[160];
		int fill = (int)(progress * 40 / 100);
		memset(bar, '#', (size_t)fill);
		memset(bar + fill, '-', (size_t)(40 - fill));
		bar[40] = '\0';
		snprintf(line, sizeof(line), "[%s] %3lld%%  remaining %.1f MiB  rate %.1f MiB/s", bar,
			 progress, rem / 1048576.0, rate / 1048576.0);
		if (strcmp(line, last) != 0) {
			fprintf(stderr, tty ? "\r%s" : "%s\n", line);
			snprintf(last, sizeof(last), "%s", line);
		}
		if (!msg || strcmp(msg, "Migration in progress") != 0) {
			fprintf(stderr, "%smigration: %s (code %lld)\n", tty ? "\n" : "",
				msg ? msg : "", mcode);
			return mcode == 0 ? 0 : 1;
		}
		nanosleep(&tick, NULL);
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' }, { "port", required_argument, NULL, 'p' },
		{ "pki", required_argument, NULL, 'k' },  { "plain", no_argument, NULL, 'P' },
		{ "flow", required_argument, NULL, 'F' }, { "timeout", required_argument, NULL, 't' },
		{ "verify-host", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' },
		{ "wait", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host = "localhost", *pki = NULL, *flow = NULL;
	int port = 54321, opt;
	bool plain = false, verify_host = false, wait = false;
	double timeout = 0;
	struct vd_error err = { 0 };

	while ((opt = getopt_long(argc, argv, "+H:p:k:PF:t:vhw", longopts, NULL)) != -1) {
		switch (opt) {
		case 'H': host = optarg; break;
		case 'p': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 65535) {
				fprintf(stderr, "vdsm-client: --port '%s' is not a port number\n", optarg);
				return 2;
			}
			port = (int)v;
			break;
		}
		case 'k': pki = optarg; break;
		case 'P': plain = true; break;
		case 'F': flow = optarg; break;
		case 't': timeout = atof(optarg); break;
		case 'v': verify_host = true; break;
		case 'w': wait = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "vdsm-client: no verb given\n");
		usage(stderr);
		return 2;
	}
	const char *verb = argv[optind++];
	if (wait && strcmp(verb, "migrate") != 0) {
		fprintf(stderr, "vdsm-client: --wait is for migrate only\n");
		return 2;
	}
	int nargs = argc - optind;
	if (nargs > MAX_ARGS) {
		fprintf(stderr, "vdsm-client: too many arguments\n");
		return 2;
	}

	_cleanup_free_ char *devpki = NULL, *cert = NULL, *key = NULL, *ca = NULL, *wait_vm = NULL;
	if (!plain) {
		if (!pki)
			pki = getenv("VDSM_C_PKI");
		if (!pki) {
			devpki = exe_dir_path("dev-pki");
			pki = devpki && access(devpki, R_OK) == 0 ? devpki : "/etc/pki/vdsm";
		}
		if (asprintf(&cert, "%s/client/cert.pem", pki) < 0 ||
		    asprintf(&key, "%s/client/key.pem", pki) < 0 ||
		    asprintf(&ca, "%s/certs/cacert.pem", pki) < 0)
			return 2;
		if (access(cert, R_OK) != 0) {
			free(cert);
			free(key);
			if (asprintf(&cert, "%s/certs/vdsmcert.pem", pki) < 0 ||
			    asprintf(&key, "%s/keys/vdsmkey.pem", pki) < 0)
				return 2;
		}
		const char *files[] = { cert, key, ca };
		for (size_t i = 0; i < ELEMENTSOF(files); i++)
			if (access(files[i], R_OK) != 0) {
				fprintf(stderr, "vdsm-client: cannot read %s (use --pki DIR or --plain)\n",
					files[i]);
				return 2;
			}
	}
	struct rpc_client_opts co = {
		.host = host, .port = port, .plain = plain, .cert_file = cert, .key_file = key,
		.ca_file = ca, .verify_host = verify_host, .timeout = timeout,
	};
	struct rpc_client *cl = rpc_client_new(&co);
	if (!cl) {
		fprintf(stderr, "vdsm-client: cannot initialise the HTTP client\n");
		return 2;
	}

	xmlrpc_env env;
	xmlrpc_env_init(&env);
	xmlrpc_value *slots[MAX_ARGS] = { 0 };
	int nslots = 0, rc = 2, fcode = 0;
	bool any_named = false;
	for (int i = 0; i < nargs; i++)
		any_named |= is_named(argv[optind + i]);

	struct param sig[MAX_ARGS];
	int nsig = 0;
	if (any_named) {
		/* Named arguments: ask the agent for the verb's parameter names. */
		xmlrpc_value *hp = rpc_array_new(&env), *hr = NULL;
		rpc_append_str(&env, hp, verb);
		int r = rpc_client_call(cl, "system.methodHelp", hp, flow, &hr, &fcode, &err);
		xmlrpc_DECREF(hp);
		if (r == RPC_CALL_TRANSPORT) {
			fprintf(stderr, "vdsm-client: %s\n", err.msg);
			goto out;
		}
		_cleanup_free_ char *args = r == RPC_CALL_OK ? rpc_to_string(rpc_struct_get(hr, "args")) : NULL;
		if (hr)
			xmlrpc_DECREF(hr);
		if (!args) {
			fprintf(stderr, "vdsm-client: the agent does not describe '%s'; pass positional arguments\n",
				verb);
			goto out;
		}
		nsig = parse_signature(args, sig, MAX_ARGS);
	}

	int pos = 0;
	xmlrpc_value *bag = NULL;
	int bag_slot = -1;
	for (int i = 0; i < nsig; i++)
		if (sig[i].is_struct)
			bag_slot = i;
	for (int i = 0; i < nargs; i++) {
		const char *a = argv[optind + i];
		if (!is_named(a)) {
			while (pos < MAX_ARGS && slots[pos])
				pos++;
			if (pos >= MAX_ARGS)
				goto out;
			if (!(slots[pos] = parse_value(&env, a)))
				goto out;
			if (pos >= nslots)
				nslots = pos + 1;
			continue;
		}
		const char *eq = strchr(a, '=');
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)(eq - a), a);
		int slot = -1;
		for (int j = 0; j < nsig; j++)
			if (strcmp(sig[j].name, name) == 0)
				slot = j;
		xmlrpc_value *v = parse_value(&env, eq + 1);
		if (!v)
			goto out;
		if (slot >= 0 && !sig[slot].is_struct) {
			if (slots[slot]) {
				fprintf(stderr, "vdsm-client: parameter '%s' given twice\n", name);
				xmlrpc_DECREF(v);
				goto out;
			}
			slots[slot] = v;
			if (slot >= nslots)
				nslots = slot + 1;
		} else if (bag_slot >= 0 && (slot < 0 || slot == bag_slot)) {
			if (slot == bag_slot && xmlrpc_value_type(v) == XMLRPC_TYPE_STRUCT) {
				if (slots[bag_slot])
					xmlrpc_DECREF(slots[bag_slot]);
				slots[bag_slot] = v;
			} else {
				if (!bag) {
					bag = rpc_struct_new(&env);
					if (slots[bag_slot])
						xmlrpc_DECREF(slots[bag_slot]);
					slots[bag_slot] = bag;
				}
				rpc_set_take(&env, bag, name, v);
			}
			if (bag_slot >= nslots)
				nslots = bag_slot + 1;
		} else {
			fprintf(stderr, "vdsm-client: %s has no parameter '%s' (parameters: ", verb, name);
			for (int j = 0; j < nsig; j++)
				fprintf(stderr, "%s%s", j ? ", " : "", sig[j].name);
			fprintf(stderr, "%s)\n", nsig ? "" : "none");
			xmlrpc_DECREF(v);
			goto out;
		}
	}
	for (int i = 0; i < nslots; i++)
		if (!slots[i]) {
			fprintf(stderr, "vdsm-client: parameter %d (%s) of %s is missing\n", i + 1,
				i < nsig ? sig[i].name : "?", verb);
			goto out;
		}

	wait_vm = wait && nslots > 0 ? rpc_to_string(rpc_struct_get(slots[0], "vmId")) : NULL;
	if (wait && !wait_vm) {
		fprintf(stderr, "vdsm-client: --wait needs the migrate params' vmId\n");
		goto out;
	}
	xmlrpc_value *params = rpc_array_new(&env);
	for (int i = 0; i < nslots; i++) {
		rpc_append_take(&env, params, slots[i]);
		slots[i] = NULL;
	}
	if (env.fault_occurred) {
		fprintf(stderr, "vdsm-client: %s\n", env.fault_string);
		goto out;
	}
	xmlrpc_value *reply = NULL;
	int r = rpc_client_call(cl, verb, params, flow, &reply, &fcode, vd_error_fresh(&err));
	xmlrpc_DECREF(params);
	if (r == RPC_CALL_TRANSPORT) {
		fprintf(stderr, "vdsm-client: cannot call %s: %s\n", verb, err.msg);
		rc = 2;
	} else if (r == RPC_CALL_FAULT) {
		fprintf(stderr, "vdsm-client: fault %d: %s\n", fcode, err.msg);
		rc = 1;
	} else {
		rc = print_reply(reply);
		xmlrpc_DECREF(reply);
		if (rc == 0 && wait_vm)
			rc = wait_migration(cl, wait_vm, flow);
	}
out:
	for (int i = 0; i < MAX_ARGS; i++)
		if (slots[i])
			xmlrpc_DECREF(slots[i]);
	xmlrpc_env_clean(&env);
	rpc_client_free(cl);
	return rc;
}
