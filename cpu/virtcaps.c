/* Parsing of libvirt's capabilities and domain capabilities XML. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "cpu.h"
#include "virt-internal.h"

void cpu_virt_free(struct cpu_virt *v)
{
	if (!v)
		return;
	free(v->arch);
	free(v->domain_type);
	cpu_strv_free(v->machines);
	free(v->host_model);
	free(v->host_vendor);
	cpu_strv_free(v->host_required);
	cpu_strv_free(v->host_disabled);
	for (size_t i = 0; i < v->n_models; i++) {
		free(v->models[i].name);
		free(v->models[i].vendor);
	}
	free(v->models);
	free(v);
}

DEFINE_CLEANUP(xmlDoc, xmlFreeDoc)
DEFINE_CLEANUP(xmlXPathContext, xmlXPathFreeContext)
DEFINE_CLEANUP(xmlXPathObject, xmlXPathFreeObject)

int cpu_strv_push(char ***v, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0)
			return 0;
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return -ENOMEM;
	nv[++*n] = NULL;
	return 0;
}

xmlDoc *cpu_xml_parse(const char *xml)
{
	/* No network, no entity expansion: the text comes from libvirtd or a fixture. */
	return xmlReadMemory(xml, (int)strlen(xml), "libvirt.xml", NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static char *node_text(xmlNode *n)
{
	xmlChar *c = xmlNodeGetContent(n);
	char *s = c ? strdup((const char *)c) : NULL;

	xmlFree(c);
	return s;
}

static char *prop(xmlNode *n, const char *name)
{
	xmlChar *c = xmlGetProp(n, (const xmlChar *)name);
	char *s = c ? strdup((const char *)c) : NULL;

	xmlFree(c);
	return s;
}

static xmlXPathObject *eval(xmlXPathContext *ctx, const char *expr)
{
	xmlXPathObject *o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);

	if (o && o->type != XPATH_NODESET) {
		xmlXPathFreeObject(o);
		return NULL;
	}
	return o;
}

#define NODES(o) ((o) && (o)->nodesetval ? (o)->nodesetval->nodeNr : 0)
#define NODE(o, i) ((o)->nodesetval->nodeTab[i])

int cpu_virt_parse_caps(const char *xml, struct cpu_virt *v)
{
	_cleanup_(xmlFreeDocp) xmlDoc *doc = cpu_xml_parse(xml);
	_cleanup_(xmlXPathFreeContextp) xmlXPathContext *ctx = NULL;
	_cleanup_(xmlXPathFreeObjectp) xmlXPathObject *arch = NULL, *mach = NULL;
	char expr[256];
	int r;

	if (!doc || !(ctx = xmlXPathNewContext(doc)))
		return -EINVAL;
	arch = eval(ctx, "/capabilities/host/cpu/arch");
	if (NODES(arch) < 1)
		return -EINVAL;
	free(v->arch);
	if (!(v->arch = node_text(NODE(arch, 0))) || strlen(v->arch) > 64 || strchr(v->arch, '\''))
		return -EINVAL;
	/* Machines of the host arch: the arch-wide list and each domain type's own. */
	snprintf(expr, sizeof(expr),
		 "/capabilities/guest/arch[@name='%s']/machine | "
		 "/capabilities/guest/arch[@name='%s']/domain/machine", v->arch, v->arch);
	mach = eval(ctx, expr);
	for (int i = 0; i < NODES(mach); i++) {
		_cleanup_free_ char *name = node_text(NODE(mach, i));
		if (!name)
			return -ENOMEM;
		if (*name && (r = cpu_strv_push(&v->machines, &v->n_machines, name)) < 0)
			return r;
	}
	if (!v->machines && !(v->machines = calloc(1, sizeof(char *))))
		return -ENOMEM;
	return 0;
}

int cpu_virt_parse_domcaps(const char *xml, struct cpu_virt *v)
{
	_cleanup_(xmlFreeDocp) xmlDoc *doc = cpu_xml_parse(xml);
	_cleanup_(xmlXPathFreeContextp) xmlXPathContext *ctx = NULL;
	_cleanup_(xmlXPathFreeObjectp) xmlXPathObject *dom = NULL, *hm = NULL, *hv = NULL,
		*feat = NULL, *models = NULL;
	int r;

	if (!doc || !(ctx = xmlXPathNewContext(doc)))
		return -EINVAL;
	dom = eval(ctx, "/domainCapabilities/domain");
	if (NODES(dom) < 1)
		return -EINVAL;
	free(v->domain_type);
	if (!(v->domain_type = node_text(NODE(dom, 0))))
		return -ENOMEM;

	hm = eval(ctx, "/domainCapabilities/cpu/mode[@name='host-model'][@supported='yes']/model");
	if (NODES(hm) > 0 && !(v->host_model = node_text(NODE(hm, 0))))
		return -ENOMEM;
	hv = eval(ctx, "/domainCapabilities/cpu/mode[@name='host-model'][@supported='yes']/vendor");
	if (NODES(hv) > 0 && !(v->host_vendor = node_text(NODE(hv, 0))))
		return -ENOMEM;
	feat = eval(ctx, "/domainCapabilities/cpu/mode[@name='host-model'][@supported='yes']/feature");
	for (int i = 0; i < NODES(feat); i++) {
		_cleanup_free_ char *policy = prop(NODE(feat, i), "policy");
		_cleanup_free_ char *name = prop(NODE(feat, i), "name");
		if (!policy || !name)
			continue;
		if (strcmp(policy, "disable") == 0 || strcmp(policy, "forbid") == 0)
			r = cpu_strv_push(&v->host_disabled, &v->n_host_disabled, name);
		else
			r = cpu_strv_push(&v->host_required, &v->n_host_required, name);
		if (r < 0)
			return r;
	}

	models = eval(ctx, "/domainCapabilities/cpu/mode[@name='custom'][@supported='yes']/model");
	if (NODES(models) > 0 &&
	    !(v->models = calloc(NODES(models), sizeof(*v->models))))
		return -ENOMEM;
	for (int i = 0; i < NODES(models); i++) {
		struct cpu_virt_model *m = &v->models[v->n_models];
		_cleanup_free_ char *usable = prop(NODE(models, i), "usable");
		if (!(m->name = node_text(NODE(models, i))))
			return -ENOMEM;
		m->vendor = prop(NODE(models, i), "vendor");
		m->usable = usable && strcmp(usable, "yes") == 0;
		v->n_models++;
	}
	return 0;
}

int cpu_virt_usable_models(const struct cpu_virt *v, const char ***ret, size_t *ret_n)
{
	const char **names = calloc(v->n_models + 1, sizeof(char *));
	size_t n = 0;

	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < v->n_models; i++)
		if (v->models[i].usable)
			names[n++] = v->models[i].name;
	*ret = names;
	*ret_n = n;
	return 0;
}
