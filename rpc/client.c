#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "../vdsm-c/util/buf.h"
#include "xmlrpc.h"

struct rpc_client {
	CURL *curl;
	struct curl_slist *headers;
	char url[300];
	struct rpc_client_opts o;
	struct util_buf reply;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct rpc_client *c = ud;
	size_t n = size * nmemb;

	if (n > (64u << 20) - util_buf_len(&c->reply))
		return 0; /* reply over 64 MiB: abort the transfer */
	util_buf_add(&c->reply, ptr, n);
	return util_buf_error(&c->reply) < 0 ? 0 : n;
}

struct rpc_client *rpc_client_new(const struct rpc_client_opts *o)
{
	struct rpc_client *c;

	pthread_once(&curl_once, curl_init_once);
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->o = *o;
	c->curl = curl_easy_init();
	if (!c->curl) {
		free(c);
		return NULL;
	}
	bool v6 = strchr(o->host, ':') != NULL;
	snprintf(c->url, sizeof(c->url), "%s://%s%s%s:%d/RPC2", o->plain ? "http" : "https",
		 v6 ? "[" : "", o->host, v6 ? "]" : "", o->port);
	c->headers = curl_slist_append(NULL, "Content-Type: text/xml");
	c->headers = curl_slist_append(c->headers, "Expect:");
	CURL *h = c->curl;
	curl_easy_setopt(h, CURLOPT_URL, c->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)((o->timeout > 0 ? o->timeout : 180) * 1000));
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)((o->connect_timeout > 0 ? o->connect_timeout : 20) * 1000));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	if (!o->plain) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, o->cert_file);
		curl_easy_setopt(h, CURLOPT_SSLKEY, o->key_file);
		curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
		/* Trust only the engine CA, and skip Debian's CA directory scan (§5, pitfall 10). */
		curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, o->verify_host ? 2L : 0L);
	}
	return c;
}

void rpc_client_free(struct rpc_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->headers);
	util_buf_reset(&c->reply);
	free(c);
}

int rpc_client_call(struct rpc_client *c, const char *method, xmlrpc_value *params,
		    const char *flow, xmlrpc_value **ret_value, int *ret_fault_code,
		    struct vd_error *err)
{
	xmlrpc_env env;
	xmlrpc_mem_block *mb;
	struct curl_slist *hdrs = c->headers, *extra = NULL;
	int rc = RPC_CALL_TRANSPORT;

	*ret_value = NULL;
	xmlrpc_env_init(&env);
	mb = XMLRPC_MEMBLOCK_NEW(char, &env, 0);
	if (!env.fault_occurred)
		xmlrpc_serialize_call2(&env, mb, method, params, xmlrpc_dialect_i8);
	if (env.fault_occurred) {
		vd_error_set(err, VD_ERR_GENERAL, "cannot serialize the call: %s", env.fault_string);
		goto out;
	}
	if (flow && *flow) {
		char h[200];
		snprintf(h, sizeof(h), "FlowID: %s", flow);
		extra = curl_slist_append(NULL, h);
		for (struct curl_slist *s = c->headers; s; s = s->next)
			extra = curl_slist_append(extra, s->data);
		hdrs = extra;
	}
	util_buf_clear(&c->reply);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, XMLRPC_MEMBLOCK_CONTENTS(char, mb));
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)XMLRPC_MEMBLOCK_SIZE(char, mb));
	CURLcode cr = curl_easy_perform(c->curl);
	if (cr != CURLE_OK) {
		vd_error_set(err, VD_ERR_NOCONPEER, "%s: %s", c->url, curl_easy_strerror(cr));
		goto out;
	}
	long status = 0;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		vd_error_set(err, VD_ERR_NOCONPEER, "%s: HTTP status %ld: %.200s", c->url, status,
			 util_buf_cstr(&c->reply));
		goto out;
	}
	int fcode = 0;
	const char *fstr = NULL;
	struct vd_error why = { 0 };
	/* The peer's bytes are untrusted like a request's: values xmlrpc-c crashes on (an
	 * out-of-range <i8>), entity declarations and deep nesting stop here. */
	const char *text = util_buf_cstr(&c->reply);
	size_t len = util_buf_len(&c->reply);
	if (rpc_body_check(text, len,
			   (int)xmlrpc_limit_get(XMLRPC_NESTING_LIMIT_ID), &why) < 0) {
		vd_error_set(err, VD_ERR_NOCONPEER, "%s: unparsable reply: %s", c->url, why.msg);
		goto out;
	}
	xmlrpc_parse_response2(&env, text, len, ret_value, &fcode, &fstr);
	if (env.fault_occurred) {
		vd_error_set(err, VD_ERR_NOCONPEER, "%s: unparsable reply: %s", c->url, env.fault_string);
		goto out;
	}
	if (fstr) {
		*ret_fault_code = fcode;
		vd_error_set(err, VD_ERR_GENERAL, "%s", fstr);
		free((char *)fstr);
		rc = RPC_CALL_FAULT;
		goto out;
	}
	rc = RPC_CALL_OK;
out:
	if (extra) {
		curl_slist_free_all(extra);
		curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
	}
	if (mb)
		XMLRPC_MEMBLOCK_FREE(char, mb);
	xmlrpc_env_clean(&env);
	return rc;
}
