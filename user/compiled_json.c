// SPDX-License-Identifier: GPL-2.0
/*
 * The persistence format of compiled policy: compile --json, and the state
 * directory's record of each generation, which events resolve against. The
 * writer is deterministic (same policy, same bytes); the reader refuses
 * anything the writer could not have produced.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "compiled_json.h"

static const char *proto_name(unsigned proto)
{
	return proto == GG_PROTO_TCP ? "tcp" : proto == GG_PROTO_UDP ? "udp" : "any";
}

static int proto_parse(const char *s)
{
	if (!strcmp(s, "tcp"))
		return GG_PROTO_TCP;
	if (!strcmp(s, "udp"))
		return GG_PROTO_UDP;
	return strcmp(s, "any") ? -1 : GG_PROTO_ANY;
}

static int action_parse(const char *s)
{
	if (!strcmp(s, "deny"))
		return GG_ACT_DENY;
	if (!strcmp(s, "observe"))
		return GG_ACT_OBSERVE;
	return strcmp(s, "allow") ? -1 : GG_ACT_NONE;
}

static json_t *strs_json(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		if (json_array_append_new(a, json_string(v[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Appends v (stolen) to arr; false if either is NULL or appending fails. */
static bool push(json_t *arr, json_t *v)
{
	return v && !json_array_append_new(arr, v);
}

/* The sorted union of the observe-mode rules' controls (or frameworks). */
static json_t *observed_json(const struct gg_entry *e, bool frameworks)
{
	json_t *a = json_array();

	for (size_t k = 0; a && k < e->n_rules; k++) {
		const struct gg_entry_rule *r = &e->rules[k];
		int ret = 0;

		if (r->mode != GG_ACT_OBSERVE)
			continue;
		if (frameworks && r->framework)
			ret = gg_json_insert_sorted(a, r->framework);
		for (size_t c = 0; !frameworks && !ret && c < r->n_controls; c++)
			ret = gg_json_insert_sorted(a, r->controls[c]);
		if (ret) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

static json_t *entry_json(const struct gg_entry *e)
{
	json_t *rules = json_array(), *o;

	for (size_t k = 0; rules && k < e->n_rules; k++) {
		const struct gg_entry_rule *r = &e->rules[k];

		o = json_pack("{s:s, s:s, s:s?, s:s}", "pack", r->pack, "rule", r->rule,
			      "framework", r->framework, "mode", gg_action_name(r->mode));

		/* a record loaded without them stays without them */
		if (o && !e->rule_controls_unknown &&
		    json_object_set_new(o, "controls", strs_json(r->controls, r->n_controls))) {
			json_decref(o);
			o = NULL;
		}
		if (!push(rules, o)) {
			json_decref(rules);
			return NULL;
		}
	}
	o = json_pack("{s:I, s:s, s:s, s:o, s:o, s:o}", "id", (json_int_t)e->id, "gate",
		      gg_gate_name(e->gate), "action", gg_action_name(e->action), "rules", rules,
		      "controls", strs_json(e->controls, e->n_controls), "frameworks",
		      strs_json(e->frameworks, e->n_frameworks));
	/* What observe-mode rules name, derived from the rules (not stored):
	 * on a deny entry they are not what it enforces. */
	if (o && !e->rule_controls_unknown &&
	    (json_object_set_new(o, "observed_controls", observed_json(e, false)) ||
	     json_object_set_new(o, "observed_frameworks", observed_json(e, true)))) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

static void cidr_str(int family, const __u8 *addr, int plen, char *buf, size_t sz)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(family, addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, sz, "%s/%d", a, plen);
}

static const char *prog_name(const struct gg_compiled *c, __u32 prog)
{
	/* progs are numbered 1..n in table order */
	if (prog && prog <= c->n_egress_progs && c->egress_progs[prog - 1].prog == prog)
		return c->egress_progs[prog - 1].name;
	for (size_t i = 0; i < c->n_egress_progs; i++)
		if (c->egress_progs[i].prog == prog)
			return c->egress_progs[i].name;
	return NULL;
}

static int load_verdict(const struct gg_compiled *c, json_int_t entry, const char *action,
			struct gg_verdict *v)
{
	int a = action_parse(action);

	if (a < 0 || entry < 0 || (size_t)entry > c->n_entries || (!entry) != (a == GG_ACT_NONE))
		return -EINVAL;
	v->entry = entry;
	v->action = a;
	return 0;
}

static int load_strs(json_t *arr, char ***out, size_t *n)
{
	size_t cnt = json_array_size(arr);

	*out = calloc(cnt + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < cnt; i++) {
		const char *s = json_string_value(json_array_get(arr, i));

		if (!s)
			return -EINVAL;
		(*out)[i] = strdup(s);
		if (!(*out)[i])
			return -ENOMEM;
		*n = i + 1;
	}
	return 0;
}

/* One rule of an entry; *has_controls says whether it listed its controls. */
static int load_entry_rule(json_t *v, struct gg_entry_rule *r, bool *has_controls,
			   json_error_t *je)
{
	const char *pack, *rule, *mode;
	json_t *fw, *rctl = NULL;
	int ret;

	/* controls: absent in records written before rules kept them */
	if (json_unpack_ex(v, je, JSON_STRICT, "{s:s, s:s, s:o, s:s, s?o}", "pack", &pack, "rule",
			   &rule, "framework", &fw, "mode", &mode, "controls", &rctl))
		return -EINVAL;
	r->mode = action_parse(mode);
	if ((int)r->mode <= 0 || (!json_is_null(fw) && !json_is_string(fw)) ||
	    (rctl && !json_is_array(rctl))) {
		snprintf(je->text, sizeof(je->text), "bad rule mode, framework or controls");
		return -EINVAL;
	}
	r->pack = strdup(pack);
	r->rule = strdup(rule);
	r->framework = json_is_string(fw) ? strdup(json_string_value(fw)) : NULL;
	if (!r->pack || !r->rule || (json_is_string(fw) && !r->framework))
		return -ENOMEM;
	*has_controls = rctl != NULL;
	if (!rctl)
		return 0;
	ret = load_strs(rctl, &r->controls, &r->n_controls);
	if (ret == -EINVAL)
		snprintf(je->text, sizeof(je->text), "rule controls are strings");
	return ret;
}

static int load_entry_rules(json_t *rules, struct gg_entry *e, json_error_t *je)
{
	size_t with_controls = 0;

	e->rules = calloc(json_array_size(rules) + 1, sizeof(*e->rules));
	if (!e->rules)
		return -ENOMEM;
	for (size_t k = 0; k < json_array_size(rules); k++) {
		bool has_controls = false;
		int ret;

		/* counted before loading: a half-loaded rule is freed too */
		e->n_rules = k + 1;
		ret = load_entry_rule(json_array_get(rules, k), &e->rules[k], &has_controls, je);
		if (ret)
			return ret;
		with_controls += has_controls;
	}
	/* all or none: a record is of one format */
	if (with_controls && with_controls != e->n_rules) {
		snprintf(je->text, sizeof(je->text), "controls on some rules only");
		return -EINVAL;
	}
	e->rule_controls_unknown = e->n_rules && !with_controls;
	return 0;
}

static int load_entry(json_t *v, size_t idx, struct gg_entry *e, json_error_t *je)
{
	json_t *rules, *ctls, *fws, *octl = NULL, *ofw = NULL;
	const char *gate, *action;
	json_int_t id;
	int g, a, ret;

	/* observed_*: derived from the rules, checked for shape only */
	if (json_unpack_ex(v, je, JSON_STRICT, "{s:I, s:s, s:s, s:o, s:o, s:o, s?o, s?o}", "id",
			   &id, "gate", &gate, "action", &action, "rules", &rules, "controls",
			   &ctls, "frameworks", &fws, "observed_controls", &octl,
			   "observed_frameworks", &ofw))
		return -EINVAL;
	g = gg_gate_parse(gate);
	a = action_parse(action);
	if (id != (json_int_t)idx + 1 || g < 0 || a <= 0 || !json_is_array(rules) ||
	    !json_is_array(ctls) || !json_is_array(fws) || (octl && !json_is_array(octl)) ||
	    (ofw && !json_is_array(ofw))) {
		snprintf(je->text, sizeof(je->text), "bad id, gate, action or list");
		return -EINVAL;
	}
	e->id = id;
	e->gate = g;
	e->action = a;
	ret = load_entry_rules(rules, e, je);
	if (ret)
		return ret;
	ret = load_strs(ctls, &e->controls, &e->n_controls);
	if (!ret)
		ret = load_strs(fws, &e->frameworks, &e->n_frameworks);
	if (ret == -EINVAL)
		snprintf(je->text, sizeof(je->text), "controls and frameworks are strings");
	return ret;
}

/* Copies s into a fixed key buffer; refuses what does not fit. */
static int load_key(const char *s, char *dst, size_t sz)
{
	size_t n = strlen(s);

	if (!n || n >= sz)
		return -EINVAL;
	memcpy(dst, s, n + 1);
	return 0;
}

/*
 * Each table has a writer and a reader, side by side below: to add a field,
 * change both. The writer returns *elem as a new JSON value (NULL when out
 * of memory). The reader fills *elem from v (an element of the table's
 * array) and returns 0, -EINVAL with je->text set, -ERANGE for a value out
 * of range or -ENOMEM. Readers run in table order, so verdicts can check
 * entry ids.
 */
typedef json_t *(*dump_fn)(const struct gg_compiled *c, const void *elem);
typedef int (*load_fn)(const struct gg_compiled *c, json_t *v, size_t i, void *elem,
		       json_error_t *je);

static json_t *dump_ref(const struct gg_compiled *c, const void *elem)
{
	return json_string(*(char *const *)elem);
}

static int load_ref(const struct gg_compiled *c, json_t *v, size_t i, void *elem,
		    json_error_t *je)
{
	char **p = elem;

	if (!json_is_string(v)) {
		snprintf(je->text, sizeof(je->text), "refs are strings");
		return -EINVAL;
	}
	*p = strdup(json_string_value(v));
	return *p ? 0 : -ENOMEM;
}

static json_t *dump_entry_row(const struct gg_compiled *c, const void *elem)
{
	return entry_json(elem);
}

static int load_entry_row(const struct gg_compiled *c, json_t *v, size_t i, void *elem,
			 json_error_t *je)
{
	return load_entry(v, i, elem, je);
}

static json_t *dump_path(const struct gg_compiled *c, const void *elem)
{
	const struct gg_c_exec_path *p = elem;

	return json_pack("{s:s, s:I, s:s}", "path", p->path, "entry", (json_int_t)p->v.entry,
			 "action", gg_action_name(p->v.action));
}

static int load_path(const struct gg_compiled *c, json_t *v, size_t i, void *elem,
		     json_error_t *je)
{
	struct gg_c_exec_path *p = elem;
	const char *s, *a;
	json_int_t e;

	if (json_unpack_ex(v, je, JSON_STRICT, "{s:s, s:I, s:s}", "path", &s, "entry", &e,
			   "action", &a))
		return -EINVAL;
	if (load_key(s, p->path, sizeof(p->path)) || load_verdict(c, e, a, &p->v))
		return -ERANGE;
	return 0;
}

static json_t *dump_name(const struct gg_compiled *c, const void *elem)
{
	const struct gg_c_exec_name *p = elem;

	return json_pack("{s:s, s:I, s:s}", "name", p->name, "entry", (json_int_t)p->v.entry,
			 "action", gg_action_name(p->v.action));
}

static int load_name(const struct gg_compiled *c, json_t *v, size_t i, void *elem,
		     json_error_t *je)
{
	struct gg_c_exec_name *p = elem;
	const char *s, *a;
	json_int_t e;

	if (json_unpack_ex(v, je, JSON_STRICT, "{s:s, s:I, s:s}", "name", &s, "entry", &e,
			   "action", &a))
		return -EINVAL;
	if (load_key(s, p->name, sizeof(p->name)) || load_verdict(c, e, a, &p->v))
		return -ERANGE;
	return 0;
}

static json_t *dump_inode(const struct gg_compiled *c, const void *elem)
{
	const struct gg_c_exec_inode *p = elem;

	return json_pack("{s:s?, s:s?, s:I, s:I, s:I, s:s}", "path", p->source, "from", p->from,
			 "dev", (json_int_t)p->dev, "ino", (json_int_t)p->ino, "entry",
			 (json_int_t)p->v.entry, "action", gg_action_name(p->v.action));
}

/* "from" is absent from the records of builds before name resolution. */
static int load_inode(const struct gg_compiled *c, json_t *v, size_t i, void *elem,
		      json_error_t *je)
{
	struct gg_c_exec_inode *p = elem;
	json_int_t e, dev, ino;
	json_t *src, *from = NULL;
	const char *a;

	if (json_unpack_ex(v, je, JSON_STRICT, "{s:o, s?o, s:I, s:I, s:I, s:s}", "path", &src,
			   "from", &from, "dev", &dev, "ino", &ino, "entry", &e, "action", &a))
		return -EINVAL;
	if (load_verdict(c, e, a, &p->v) || (!json_is_null(src) && !json_is_string(src)) ||
	    (from && !json_is_null(from) && !json_is_string(from)))
		return -ERANGE;
	p->dev = (__u64)dev;
	p->ino = (__u64)ino;
	if (json_is_string(src) && !(p->source = strdup(json_string_value(src))))
		return -ENOMEM;
	if (json_is_string(from) && !(p->from = strdup(json_string_value(from))))
		return -ENOMEM;
	return 0;
}

static json_t *dump_digest(const struct gg_compiled *c, const void *elem)
{
	const struct gg_c_exec_digest *p = elem;
	char hex[2 * GG_SHA256_LEN + 1];

	gg_digest_hex(p->sha256, hex);
	return json_pack("{s:s, s:s?, s:s?, s:I, s:s}", "sha256", hex, "path", p->source,
			 "from", p->from, "entry", (json_int_t)p->v.entry, "action",
			 gg_action_name(p->v.action));
}

/* A nullable string member: NULL stays NULL. */
static int opt_str(json_t *v, char **out)
{
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -ERANGE;
	*out = strdup(json_string_value(v));
	return *out ? 0 : -ENOMEM;
}

static int load_digest(const struct gg_compiled *c, json_t *v, size_t i, void *elem,
		       json_error_t *je)
{
	struct gg_c_exec_digest *p = elem;
	json_t *src = NULL, *from = NULL;
	const char *hex, *a;
	json_int_t e;
	int ret;

	if (json_unpack_ex(v, je, JSON_STRICT, "{s:s, s?o, s?o, s:I, s:s}", "sha256", &hex,
			   "path", &src, "from", &from, "entry", &e, "action", &a))
		return -EINVAL;
	if (gg_digest_parse(hex, p->sha256) || load_verdict(c, e, a, &p->v))
		return -ERANGE;
	ret = opt_str(src, &p->source);
	return ret ? ret : opt_str(from, &p->from);
}

static json_t *dump_prog(const struct gg_compiled *c, const void *elem)
{
	const struct gg_c_egress_prog *p = elem;

	json_t *o = json_pack("{s:s, s:I, s:b}", "name", p->name, "prog", (json_int_t)p->prog,
			      "skip_loopback", (int)!!p->skip_loopback);

	/* a combined prog: reached by identity or content, not by name */
	if (o && p->combined && json_object_set_new(o, "combined", json_true())) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

static int load_prog(const struct gg_compiled *c, json_t *v, size_t i, void *elem,
		     json_error_t *je)
{
	struct gg_c_egress_prog *p = elem;
	const char *s;
	json_int_t id;
	int skip, combined = 0;

	if (json_unpack_ex(v, je, JSON_STRICT, "{s:s, s:I, s:b, s?b}", "name", &s, "prog", &id,
			   "skip_loopback", &skip, "combined", &combined))
		return -EINVAL;
	if (load_key(s, p->name, sizeof(p->name)) || id <= 0 || id > UINT32_MAX)
		return -ERANGE;
	p->prog = id;
	p->skip_loopback = !!skip;
	p->combined = !!combined;
	return 0;
}

/* egress.program_identities and egress.program_digests: one shape. */
static json_t *dump_pfile(const struct gg_compiled *c, const void *elem, bool digest)
{
	const struct gg_c_egress_prog_file *p = elem;
	char hex[2 * GG_SHA256_LEN + 1];

	if (digest) {
		gg_digest_hex(p->sha256, hex);
		return json_pack("{s:s, s:s?, s:I, s:s?}", "sha256", hex, "path", p->source,
				 "prog", (json_int_t)p->prog, "program", prog_name(c, p->prog));
	}
	return json_pack("{s:I, s:I, s:s?, s:I, s:s?}", "dev", (json_int_t)p->dev, "ino",
			 (json_int_t)p->ino, "path", p->source, "prog", (json_int_t)p->prog,
			 "program", prog_name(c, p->prog));
}

static json_t *dump_pinode(const struct gg_compiled *c, const void *elem)
{
	return dump_pfile(c, elem, false);
}

static json_t *dump_pdigest(const struct gg_compiled *c, const void *elem)
{
	return dump_pfile(c, elem, true);
}

static int load_pfile_tail(json_t *src, json_int_t prog, struct gg_c_egress_prog_file *p)
{
	if (prog <= 0 || prog > UINT32_MAX)
		return -ERANGE;
	p->prog = prog;
	return opt_str(src, &p->source);
}

static int load_pinode(const struct gg_compiled *c, json_t *v, size_t i, void *elem,
		       json_error_t *je)
{
	struct gg_c_egress_prog_file *p = elem;
	json_int_t dev, ino, prog;
	json_t *src = NULL, *pname = NULL;

	if (json_unpack_ex(v, je, JSON_STRICT, "{s:I, s:I, s?o, s:I, s?o}", "dev", &dev, "ino",
			   &ino, "path", &src, "prog", &prog, "program", &pname))
		return -EINVAL;
	p->dev = (__u64)dev;
	p->ino = (__u64)ino;
	return load_pfile_tail(src, prog, p);
}

static int load_pdigest(const struct gg_compiled *c, json_t *v, size_t i, void *elem,
			json_error_t *je)
{
	struct gg_c_egress_prog_file *p = elem;
	json_t *src = NULL, *pname = NULL;
	json_int_t prog;
	const char *hex;

	if (json_unpack_ex(v, je, JSON_STRICT, "{s:s, s?o, s:I, s?o}", "sha256", &hex, "path",
			   &src, "prog", &prog, "program", &pname))
		return -EINVAL;
	if (gg_digest_parse(hex, p->sha256))
		return -ERANGE;
	return load_pfile_tail(src, prog, p);
}

static json_t *dump_node(const struct gg_compiled *c, const void *elem)
{
	const struct gg_c_egress *e = elem;
	char cidr[INET6_ADDRSTRLEN + 8];

	cidr_str(e->family, e->addr, e->plen, cidr, sizeof(cidr));
	return json_pack("{s:s, s:I, s:s?, s:I, s:s, s:I}", "cidr", cidr, "prog",
			 (json_int_t)e->prog, "program", prog_name(c, e->prog), "entry",
			 (json_int_t)e->val.any.entry, "action", gg_action_name(e->val.any.action),
			 "port_node", (json_int_t)e->val.port_node);
}

static int load_node(const struct gg_compiled *c, json_t *v, size_t i, void *elem,
		     json_error_t *je)
{
	struct gg_c_egress *p = elem;
	json_int_t prog, e, pn;
	struct gg_cidr cidr;
	const char *s, *a;
	json_t *pname;

	if (json_unpack_ex(v, je, JSON_STRICT, "{s:s, s:I, s:o, s:I, s:s, s:I}", "cidr", &s,
			   "prog", &prog, "program", &pname, "entry", &e, "action", &a,
			   "port_node", &pn))
		return -EINVAL;
	if (gg_cidr_parse(s, &cidr) || prog < 0 || prog > UINT32_MAX || pn < 0 ||
	    pn > UINT32_MAX || load_verdict(c, e, a, &p->val.any))
		return -ERANGE;
	p->family = cidr.family;
	memcpy(p->addr, cidr.addr, sizeof(p->addr));
	p->plen = cidr.plen;
	p->prog = prog;
	p->val.port_node = pn;
	return 0;
}

static json_t *dump_port(const struct gg_compiled *c, const void *elem)
{
	const struct gg_c_egress_port *p = elem;

	return json_pack("{s:I, s:I, s:s, s:I, s:s}", "node", (json_int_t)p->node, "port",
			 (json_int_t)p->port, "protocol", proto_name(p->proto), "entry",
			 (json_int_t)p->v.entry, "action", gg_action_name(p->v.action));
}

static int load_port(const struct gg_compiled *c, json_t *v, size_t i, void *elem,
		     json_error_t *je)
{
	struct gg_c_egress_port *p = elem;
	json_int_t node, port, e;
	const char *proto, *a;
	int pr;

	if (json_unpack_ex(v, je, JSON_STRICT, "{s:I, s:I, s:s, s:I, s:s}", "node", &node,
			   "port", &port, "protocol", &proto, "entry", &e, "action", &a))
		return -EINVAL;
	pr = proto_parse(proto);
	if (node <= 0 || node > UINT32_MAX || port < 0 || port > 65535 || pr < 0 ||
	    load_verdict(c, e, a, &p->v))
		return -ERANGE;
	p->node = node;
	p->port = port;
	p->proto = pr;
	return 0;
}

/* egress.allowlist: the lists, their CIDR nodes and port rows, and the
 * domain entries (the user-space pattern set). */
static json_t *dump_alist(const struct gg_compiled *c, const void *elem)
{
	const struct gg_c_allow_list *l = elem;

	return json_pack("{s:I, s:s, s:I, s:s}", "list", (json_int_t)(l - c->allow_lists),
			 "pack", l->pack, "entry", (json_int_t)l->v.entry, "action",
			 gg_action_name(l->v.action));
}

static int load_alist(const struct gg_compiled *c, json_t *v, size_t i, void *elem,
		      json_error_t *je)
{
	struct gg_c_allow_list *l = elem;
	const char *pack, *a;
	json_int_t list, e;

	if (json_unpack_ex(v, je, JSON_STRICT, "{s:I, s:s, s:I, s:s}", "list", &list, "pack",
			   &pack, "entry", &e, "action", &a))
		return -EINVAL;
	if (list != (json_int_t)i || i >= GG_ALLOW_LISTS || load_verdict(c, e, a, &l->v) ||
	    !l->v.entry)
		return -ERANGE;
	l->pack = strdup(pack);
	return l->pack ? 0 : -ENOMEM;
}

static json_t *dump_anode(const struct gg_compiled *c, const void *elem)
{
	const struct gg_allow_node *n = elem;
	char cidr[INET6_ADDRSTRLEN + 8];

	cidr_str(n->family, n->addr, n->plen, cidr, sizeof(cidr));
	return json_pack("{s:s, s:I, s:I}", "cidr", cidr, "lists", (json_int_t)n->any,
			 "port_node", (json_int_t)n->port_node);
}

static int load_anode(const struct gg_compiled *c, json_t *v, size_t i, void *elem,
		      json_error_t *je)
{
	struct gg_allow_node *n = elem;
	json_int_t lists, pn;
	struct gg_cidr cidr;
	const char *s;

	if (json_unpack_ex(v, je, JSON_STRICT, "{s:s, s:I, s:I}", "cidr", &s, "lists", &lists,
			   "port_node", &pn))
		return -EINVAL;
	if (gg_cidr_parse(s, &cidr) || lists < 0 || lists > UINT32_MAX || pn < 0 ||
	    pn > UINT32_MAX)
		return -ERANGE;
	n->family = cidr.family;
	memcpy(n->addr, cidr.addr, sizeof(n->addr));
	n->plen = cidr.plen;
	n->any = lists;
	n->port_node = pn;
	return 0;
}

static json_t *dump_aport(const struct gg_compiled *c, const void *elem)
{
	const struct gg_allow_port *p = elem;

	return json_pack("{s:I, s:I, s:s, s:I}", "node", (json_int_t)p->node, "port",
			 (json_int_t)p->port, "protocol", proto_name(p->proto), "lists",
			 (json_int_t)p->lists);
}

static int load_aport(const struct gg_compiled *c, json_t *v, size_t i, void *elem,
		      json_error_t *je)
{
	struct gg_allow_port *p = elem;
	json_int_t node, port, lists;
	const char *proto;
	int pr;

	if (json_unpack_ex(v, je, JSON_STRICT, "{s:I, s:I, s:s, s:I}", "node", &node, "port",
			   &port, "protocol", &proto, "lists", &lists))
		return -EINVAL;
	pr = proto_parse(proto);
	if (node <= 0 || node > UINT32_MAX || port < 0 || port > 65535 || pr < 0 || lists < 0 ||
	    lists > UINT32_MAX)
		return -ERANGE;
	p->node = node;
	p->port = port;
	p->proto = pr;
	p->lists = lists;
	return 0;
}

static json_t *ports_json(const __u16 *ports, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (!push(a, json_integer(ports[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *dump_adomain(const struct gg_compiled *c, const void *elem)
{
	const struct gg_c_allow_domain *d = elem;

	return json_pack("{s:s, s:I, s:o, s:s}", "domain", d->pattern, "list",
			 (json_int_t)d->list, "ports", ports_json(d->ports, d->n_ports),
			 "protocol", proto_name(d->proto));
}

static int load_adomain(const struct gg_compiled *c, json_t *v, size_t i, void *elem,
			json_error_t *je)
{
	struct gg_c_allow_domain *d = elem;
	const char *pat, *proto;
	json_int_t list;
	json_t *ports;
	int pr;

	if (json_unpack_ex(v, je, JSON_STRICT, "{s:s, s:I, s:o, s:s}", "domain", &pat, "list",
			   &list, "ports", &ports, "protocol", &proto))
		return -EINVAL;
	pr = proto_parse(proto);
	if (list < 0 || list >= GG_ALLOW_LISTS || pr < 0 || !json_is_array(ports))
		return -ERANGE;
	d->list = list;
	d->proto = pr;
	d->pattern = strdup(pat);
	d->ports = calloc(json_array_size(ports) + 1, sizeof(*d->ports));
	if (!d->pattern || !d->ports)
		return -ENOMEM;
	for (size_t k = 0; k < json_array_size(ports); k++) {
		json_int_t port = json_integer_value(json_array_get(ports, k));

		if (port < 1 || port > 65535)
			return -ERANGE;
		d->ports[d->n_ports++] = port;
	}
	return 0;
}

/* One table of the record: where it is, where it goes, how to write and
 * read a row. */
struct table_desc {
	const char *where; /* for errors: "exec.paths" */
	size_t base; /* offsetof the table pointer in struct gg_compiled */
	size_t count; /* offsetof its length */
	size_t size; /* of one element */
	dump_fn dump;
	load_fn load;
};

#define TABLE(where, field, nfield, name)                                                   \
	{ where, offsetof(struct gg_compiled, field), offsetof(struct gg_compiled, nfield), \
	  sizeof(*((struct gg_compiled *)0)->field), dump_##name, load_##name }

/* In load order: refs, then entries (verdicts check entry ids against them),
 * then the tables that point at entries. */
enum {
	T_REFS,
	T_ENTRIES,
	T_PATHS,
	T_NAMES,
	T_INODES,
	T_DIGESTS,
	T_PROGS,
	T_PINODES,
	T_PDIGESTS,
	T_NODES,
	T_PORTS,
	T_ALISTS,
	T_ANODES,
	T_APORTS,
	T_ADOMAINS,
	T_COUNT
};

static const struct table_desc tables[T_COUNT] = {
	[T_REFS] = TABLE("refs", refs, n_refs, ref),
	[T_ENTRIES] = TABLE("entries", entries, n_entries, entry_row),
	[T_PATHS] = TABLE("exec.paths", exec_paths, n_exec_paths, path),
	[T_NAMES] = TABLE("exec.basenames", exec_names, n_exec_names, name),
	[T_INODES] = TABLE("exec.identities", exec_inodes, n_exec_inodes, inode),
	[T_DIGESTS] = TABLE("exec.digests", exec_digests, n_exec_digests, digest),
	[T_PROGS] = TABLE("egress.programs", egress_progs, n_egress_progs, prog),
	[T_PINODES] = TABLE("egress.program_identities", egress_prog_inodes,
			    n_egress_prog_inodes, pinode),
	[T_PDIGESTS] = TABLE("egress.program_digests", egress_prog_digests,
			     n_egress_prog_digests, pdigest),
	[T_NODES] = TABLE("egress.nodes", egress, n_egress, node),
	[T_PORTS] = TABLE("egress.ports", egress_ports, n_egress_ports, port),
	[T_ALISTS] = TABLE("egress.allowlist.lists", allow_lists, n_allow_lists, alist),
	[T_ANODES] = TABLE("egress.allowlist.nodes", allow_nodes, n_allow_nodes, anode),
	[T_APORTS] = TABLE("egress.allowlist.ports", allow_ports, n_allow_ports, aport),
	[T_ADOMAINS] = TABLE("egress.allowlist.domains", allow_domains, n_allow_domains,
			     adomain),
};

static json_t *table_json(const struct gg_compiled *c, const struct table_desc *t)
{
	const char *base = *(void *const *)((const char *)c + t->base);
	size_t n = *(const size_t *)((const char *)c + t->count);
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		if (!push(a, t->dump(c, base + i * t->size))) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

/* egress.sockets: {"raw": {"entry", "action"}, "packet": {...}, "other": {...}} */
static json_t *sockets_json(const struct gg_compiled *c)
{
	return json_pack("{s:{s:I, s:s}, s:{s:I, s:s}, s:{s:I, s:s}}", "raw", "entry",
			 (json_int_t)c->sockets[GG_SOCK_RAW].entry, "action",
			 gg_action_name(c->sockets[GG_SOCK_RAW].action), "packet", "entry",
			 (json_int_t)c->sockets[GG_SOCK_PACKET].entry, "action",
			 gg_action_name(c->sockets[GG_SOCK_PACKET].action), "other", "entry",
			 (json_int_t)c->sockets[GG_SOCK_OTHER].entry, "action",
			 gg_action_name(c->sockets[GG_SOCK_OTHER].action));
}

/* Trust lists, only in a policy that has them (records stay as they were
 * without): exec.trust_lists [{entry, action}] in list order, exec.trusted
 * [{sha256, lists}] (lists: a bit per list). */
static int trust_to_json(const struct gg_compiled *c, json_t *doc)
{
	json_t *exec = json_object_get(doc, "exec"), *lists = json_array(), *rows = json_array();
	bool ok = exec && lists && rows;

	for (size_t i = 0; ok && i < c->n_trust_lists; i++)
		ok = !json_array_append_new(lists, json_pack("{s:I, s:s}", "entry",
							     (json_int_t)c->trust_lists[i].entry,
							     "action",
							     gg_action_name(c->trust_lists[i].action)));
	for (size_t i = 0; ok && i < c->n_exec_trust; i++) {
		char hex[2 * GG_SHA256_LEN + 1];

		gg_digest_hex(c->exec_trust[i].sha256, hex);
		ok = !json_array_append_new(rows, json_pack("{s:s, s:I}", "sha256", hex, "lists",
							    (json_int_t)c->exec_trust[i].lists));
	}
	ok = ok && !json_object_set(exec, "trust_lists", lists) &&
	     !json_object_set(exec, "trusted", rows);
	json_decref(lists);
	json_decref(rows);
	return ok ? 0 : -ENOMEM;
}

static int trust_list_from_json(struct gg_compiled *c, json_t *v, json_error_t *je)
{
	json_int_t e;
	const char *a;

	if (json_unpack_ex(v, je, JSON_STRICT, "{s:I, s:s}", "entry", &e, "action", &a))
		return -EINVAL;
	if (load_verdict(c, e, a, &c->trust_lists[c->n_trust_lists]) ||
	    !c->trust_lists[c->n_trust_lists].entry)
		return -ERANGE;
	c->n_trust_lists++;
	return 0;
}

static int trust_row_from_json(struct gg_compiled *c, json_t *v, json_error_t *je)
{
	struct gg_c_exec_trust *t = &c->exec_trust[c->n_exec_trust];
	json_int_t lists;
	const char *hex;

	if (json_unpack_ex(v, je, JSON_STRICT, "{s:s, s:I}", "sha256", &hex, "lists", &lists))
		return -EINVAL;
	if (gg_digest_parse(hex, t->sha256) || lists <= 0 ||
	    lists >= (json_int_t)1 << c->n_trust_lists)
		return -ERANGE;
	t->lists = lists;
	c->n_exec_trust++;
	return 0;
}

/* After the entries: every list's verdict points at one. */
static int trust_from_json(struct gg_compiled *c, json_t *lists, json_t *rows, json_error_t *je)
{
	int ret = 0;

	if (!lists && !rows)
		return 0;
	if (!json_is_array(lists) || !json_is_array(rows) ||
	    json_array_size(lists) > GG_TRUST_LISTS_MAX) {
		snprintf(je->text, sizeof(je->text), "exec.trust_lists and exec.trusted must be "
			 "arrays, at most %d lists", GG_TRUST_LISTS_MAX);
		return -EINVAL;
	}
	c->exec_trust = calloc(json_array_size(rows) + 1, sizeof(*c->exec_trust));
	if (!c->exec_trust)
		return -ENOMEM;
	for (size_t i = 0; !ret && i < json_array_size(lists); i++)
		ret = trust_list_from_json(c, json_array_get(lists, i), je);
	for (size_t i = 0; !ret && i < json_array_size(rows); i++)
		ret = trust_row_from_json(c, json_array_get(rows, i), je);
	return ret;
}

static json_t *compiled_to_json(const struct gg_compiled *c);

json_t *gg_compiled_to_json(const struct gg_compiled *c)
{
	json_t *doc = compiled_to_json(c);

	if (doc && c->n_trust_lists && trust_to_json(c, doc)) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

static json_t *compiled_to_json(const struct gg_compiled *c)
{
	json_t *arr[T_COUNT];
	bool ok = true;

	for (int t = 0; t < T_COUNT; t++) {
		arr[t] = table_json(c, &tables[t]);
		ok = ok && arr[t];
	}
	if (!ok) {
		for (int t = 0; t < T_COUNT; t++)
			json_decref(arr[t]);
		return NULL;
	}
	/* json_pack steals every "o" even when it fails */
	return json_pack("{s:o, s:o, s:{s:o, s:o, s:o, s:o}, s:{s:o, s:o, s:o, s:o, s:o, s:o, "
			 "s:{s:o, s:o, s:o, s:o}}, s:{s:I, s:s}, s:{s:I, s:s}}",
			 "refs", arr[T_REFS], "entries", arr[T_ENTRIES], "exec", "paths",
			 arr[T_PATHS], "basenames", arr[T_NAMES], "identities", arr[T_INODES],
			 "digests", arr[T_DIGESTS],
			 "egress", "programs", arr[T_PROGS], "program_identities", arr[T_PINODES],
			 "program_digests", arr[T_PDIGESTS], "nodes", arr[T_NODES], "ports",
			 arr[T_PORTS], "sockets", sockets_json(c), "allowlist", "lists",
			 arr[T_ALISTS], "nodes", arr[T_ANODES], "ports", arr[T_APORTS], "domains",
			 arr[T_ADOMAINS], "module", "entry",
			 (json_int_t)c->module.entry, "action", gg_action_name(c->module.action),
			 "kexec", "entry", (json_int_t)c->kexec.entry, "action",
			 gg_action_name(c->kexec.action));
}

static int load_table(struct gg_compiled *c, const struct table_desc *t, json_t *arr,
		      json_error_t *je)
{
	void **base = (void **)((char *)c + t->base);
	size_t *count = (size_t *)((char *)c + t->count);
	int ret;

	*base = calloc(json_array_size(arr) + 1, t->size);
	if (!*base)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		/* counted before loading: a half-loaded row is freed too */
		*count = i + 1;
		ret = t->load(c, json_array_get(arr, i), i, (char *)*base + i * t->size, je);
		if (ret)
			return ret;
	}
	return 0;
}

static int from_json(const json_t *doc, struct gg_compiled *c, json_error_t *je,
		     const char **where)
{
	json_t *arr[T_COUNT], *tlists = NULL, *trows = NULL;
	json_int_t mentry, kentry = 0, sentry[GG_SOCK_KINDS] = {};
	const char *maction, *kaction = "allow", *saction[GG_SOCK_KINDS] = { "allow", "allow", "allow" };
	int ret;

	*where = "";
	/* kexec, digests, egress.sockets and the program files are absent
	 * from the records of builds before them. */
	arr[T_DIGESTS] = arr[T_PINODES] = arr[T_PDIGESTS] = NULL;
	arr[T_ALISTS] = arr[T_ANODES] = arr[T_APORTS] = arr[T_ADOMAINS] = NULL;
	if (json_unpack_ex((json_t *)doc, je, JSON_STRICT,
			   "{s:o, s:o, s:{s:o, s:o, s:o, s?o, s?o, s?o}, s:{s:o, s?o, s?o, s:o, s:o, "
			   "s?{s:{s:I, s:s}, s:{s:I, s:s}, s?{s:I, s:s}}, s?{s:o, s:o, s:o, s:o}}, "
			   "s:{s:I, s:s}, "
			   "s?{s:I, s:s}}",
			   "refs", &arr[T_REFS], "entries", &arr[T_ENTRIES], "exec", "paths",
			   &arr[T_PATHS], "basenames", &arr[T_NAMES], "identities",
			   &arr[T_INODES], "digests", &arr[T_DIGESTS], "trust_lists", &tlists,
			   "trusted", &trows, "egress", "programs",
			   &arr[T_PROGS], "program_identities", &arr[T_PINODES],
			   "program_digests", &arr[T_PDIGESTS], "nodes", &arr[T_NODES], "ports", &arr[T_PORTS], "sockets", "raw", "entry",
			   &sentry[GG_SOCK_RAW], "action", &saction[GG_SOCK_RAW], "packet", "entry",
			   &sentry[GG_SOCK_PACKET], "action", &saction[GG_SOCK_PACKET], "other", "entry",
			   &sentry[GG_SOCK_OTHER], "action", &saction[GG_SOCK_OTHER], "allowlist",
			   "lists", &arr[T_ALISTS], "nodes", &arr[T_ANODES], "ports", &arr[T_APORTS],
			   "domains", &arr[T_ADOMAINS], "module",
			   "entry", &mentry, "action", &maction, "kexec", "entry", &kentry, "action",
			   &kaction))
		return -EINVAL;
	for (int t = 0; t < T_COUNT; t++) {
		/* a NULL table loads as empty (json_array_size(NULL) is 0) */
		bool optional = t == T_DIGESTS || t == T_PINODES || t == T_PDIGESTS ||
				t >= T_ALISTS;

		if (!json_is_array(arr[t]) && !(optional && !arr[t])) {
			snprintf(je->text, sizeof(je->text), "every table must be an array");
			return -EINVAL;
		}
	}
	for (int t = 0; t < T_COUNT; t++) {
		*where = tables[t].where;
		ret = load_table(c, &tables[t], arr[t], je);
		if (!ret && t == T_ENTRIES) {
			*where = "module";
			ret = load_verdict(c, mentry, maction, &c->module) ? -ERANGE : 0;
			if (!ret) {
				*where = "kexec";
				ret = load_verdict(c, kentry, kaction, &c->kexec) ? -ERANGE : 0;
			}
			for (int k = 0; !ret && k < GG_SOCK_KINDS; k++) {
				*where = "egress.sockets";
				ret = load_verdict(c, sentry[k], saction[k], &c->sockets[k]) ?
					      -ERANGE : 0;
			}
			if (!ret) {
				*where = "exec.trusted";
				ret = trust_from_json(c, tlists, trows, je);
			}
		}
		if (ret == -ERANGE) {
			snprintf(je->text, sizeof(je->text), "value out of range (key, entry, "
				 "action, prog, port or protocol)");
			return -EINVAL;
		}
		if (ret)
			return ret;
	}
	return 0;
}

int gg_compiled_from_json(const json_t *doc, struct gg_compiled **out, struct gg_err *err)
{
	struct gg_compiled *c;
	const char *where = "";
	json_error_t je = {};
	int ret;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return gg_errf(err, -ENOMEM, "compiled policy: out of memory");
	ret = from_json(doc, c, &je, &where);
	if (ret) {
		gg_compiled_free(c);
		if (ret == -ENOMEM)
			return gg_errf(err, ret, "compiled policy: out of memory");
		return gg_errf(err, ret, "compiled policy: %s%s%s", where, *where ? ": " : "",
			       je.text);
	}
	*out = c;
	return 0;
}
