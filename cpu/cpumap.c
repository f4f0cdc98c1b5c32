/* libvirt's CPU map (the models and the features each one needs), and the check of
 * this host against a cluster CPU model. The map is data installed with libvirt
 * (<datadir>/libvirt/cpu_map/index.xml and the files it includes); reading it tells
 * which features a model needs, so a readiness report can say what is missing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "cpu.h"
#include "virt-internal.h"
#include "../vdsm-c/util/util.h"

struct map_model {
	char *name;
	char *parent;           /* older maps: <model name='parent'/> inside a model */
	char **features;        /* own features, NULL-terminated */
	size_t n_features;
	char **all;             /* expanded and sorted, built on load */
	size_t n_all;
};

struct cpu_map {
	size_t n_models;
	struct map_model *models;
};

void cpu_map_free(struct cpu_map *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_models; i++) {
		free(m->models[i].name);
		free(m->models[i].parent);
		cpu_strv_free(m->models[i].features);
		cpu_strv_free(m->models[i].all);
	}
	free(m->models);
	free(m);
}

const char *cpu_map_arch_family(const char *arch)
{
	if (!arch)
		return NULL;
	if (strcmp(arch, "x86_64") == 0 || strcmp(arch, "i686") == 0 || strcmp(arch, "i386") == 0)
		return "x86";
	if (strncmp(arch, "ppc64", 5) == 0)
		return "ppc64";
	if (strcmp(arch, "aarch64") == 0)
		return "arm";
	return NULL;
}

static bool is(xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static char *prop(xmlNode *n, const char *name)
{
	xmlChar *c = xmlGetProp(n, (const xmlChar *)name);
	char *s = c ? strdup((const char *)c) : NULL;

	xmlFree(c);
	return s;
}

static struct map_model *find(const struct cpu_map *m, const char *name)
{
	for (size_t i = 0; i < m->n_models; i++)
		if (strcmp(m->models[i].name, name) == 0)
			return &m->models[i];
	return NULL;
}

static int add_model(struct cpu_map *m, xmlNode *mn)
{
	_cleanup_free_ char *name = prop(mn, "name");
	int r;

	if (!name)
		return 0;
	if (find(m, name))
		return 0;
	struct map_model *nm = realloc(m->models, (m->n_models + 1) * sizeof(*nm));
	if (!nm)
		return -ENOMEM;
	m->models = nm;
	struct map_model *mm = &m->models[m->n_models++];
	memset(mm, 0, sizeof(*mm));
	mm->name = TAKE_PTR(name);
	for (xmlNode *c = mn->children; c; c = c->next) {
		if (is(c, "model") && !mm->parent) {
			mm->parent = prop(c, "name");
		} else if (is(c, "feature")) {
			_cleanup_free_ char *f = prop(c, "name");
			if (f && (r = cpu_strv_push(&mm->features, &mm->n_features, f)) < 0)
				return r;
		}
	}
	return 0;
}

static int load_models_from(struct cpu_map *m, xmlNode *parent);

static int load_file(struct cpu_map *m, const char *dir, const char *file)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	int r;

	if (strchr(file, '/') || asprintf(&path, "%s/%s", dir, file) < 0)
		return strchr(file, '/') ? -EINVAL : -ENOMEM;
	if ((r = util_read_file(path, 4 << 20, &text, NULL)) < 0)
		return r;
	xmlDoc *doc = cpu_xml_parse(text);
	if (!doc)
		return -EINVAL;
	r = load_models_from(m, xmlDocGetRootElement(doc));
	xmlFreeDoc(doc);
	return r;
}

static int load_models_from(struct cpu_map *m, xmlNode *parent)
{
	int r;

	for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
		if (is(c, "model") && (r = add_model(m, c)) < 0)
			return r;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int expand(struct cpu_map *m, struct map_model *mm, int depth)
{
	int r;

	if (mm->all)
		return 0;
	if (depth > 16)
		return -ELOOP;
	char **all = NULL;
	size_t n = 0;
	if (mm->parent) {
		struct map_model *p = find(m, mm->parent);
		if (!p)
			return -ENOENT;
		if ((r = expand(m, p, depth + 1)) < 0)
			return r;
		for (size_t i = 0; i < p->n_all; i++)
			if ((r = cpu_strv_push(&all, &n, p->all[i])) < 0)
				goto fail;
	}
	for (size_t i = 0; i < mm->n_features; i++)
		if ((r = cpu_strv_push(&all, &n, mm->features[i])) < 0)
			goto fail;
	if (!all && !(all = calloc(1, sizeof(char *))))
		return -ENOMEM;
	qsort(all, n, sizeof(char *), cmp_str);
	mm->all = all;
	mm->n_all = n;
	return 0;
fail:
	cpu_strv_free(all);
	return r;
}

int cpu_map_load(const char *dir, const char *arch, struct cpu_map **ret)
{
	_cleanup_(cpu_map_freep) struct cpu_map *m = calloc(1, sizeof(*m));
	_cleanup_free_ char *path = NULL, *text = NULL;
	int r = -ENOENT;

	if (!m || asprintf(&path, "%s/index.xml", dir) < 0)
		return -ENOMEM;
	if ((r = util_read_file(path, 4 << 20, &text, NULL)) < 0)
		return r;
	xmlDoc *doc = cpu_xml_parse(text);
	if (!doc)
		return -EINVAL;
	r = -ENOENT;
	for (xmlNode *a = xmlDocGetRootElement(doc)->children; a; a = a->next) {
		_cleanup_free_ char *name = is(a, "arch") ? prop(a, "name") : NULL;
		if (!name || strcmp(name, arch) != 0)
			continue;
		r = load_models_from(m, a);
		for (xmlNode *c = a->children; r >= 0 && c; c = c->next) {
			_cleanup_free_ char *file = is(c, "include") ? prop(c, "filename") : NULL;
			if (file)
				r = load_file(m, dir, file);
		}
		break;
	}
	xmlFreeDoc(doc);
	if (r < 0)
		return r;
	for (size_t i = 0; i < m->n_models; i++)
		if ((r = expand(m, &m->models[i], 0)) < 0)
			return r;
	*ret = TAKE_PTR(m);
	return 0;
}

int cpu_map_model_features(const struct cpu_map *m, const char *model, const char *const **ret,
			   size_t *ret_n)
{
	struct map_model *mm = find(m, model);

	if (!mm)
		return -ENOENT;
	*ret = (const char *const *)mm->all;
	*ret_n = mm->n_all;
	return 0;
}

static bool in(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

int cpu_compare_model(const struct cpu_map *m, const struct cpu_virt *v, const char *model,
		      char ***ret_missing, size_t *ret_n)
{
	const struct cpu_virt_model *listed = NULL;
	struct map_model *want, *base = NULL;
	char **missing = NULL;
	size_t n = 0;
	int r;

	if (strncmp(model, "model_", 6) == 0)
		model += 6;
	for (size_t i = 0; i < v->n_models; i++)
		if (strcmp(v->models[i].name, model) == 0)
			listed = &v->models[i];
	want = find(m, model);
	if (!want && !listed)
		return -ENOENT;
	if (listed && listed->usable) {
		/* libvirt (asking qemu) says the host can run it: nothing is missing. */
		if (!(missing = calloc(1, sizeof(char *))))
			return -ENOMEM;
		*ret_missing = missing;
		*ret_n = 0;
		return 1;
	}
	if (v->host_model)
		base = find(m, v->host_model);
	for (size_t i = 0; want && i < want->n_all; i++) {
		const char *f = want->all[i];
		bool have = (base && in(base->all, base->n_all, f)) ||
			    in(v->host_required, v->n_host_required, f);
		if (in(v->host_disabled, v->n_host_disabled, f))
			have = false;
		if (!have && (r = cpu_strv_push(&missing, &n, f)) < 0) {
			cpu_strv_free(missing);
			return r;
		}
	}
	if (!missing && !(missing = calloc(1, sizeof(char *))))
		return -ENOMEM;
	*ret_missing = missing;
	*ret_n = n;
	return listed ? 0 : n == 0;
}
