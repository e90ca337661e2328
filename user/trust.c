// SPDX-License-Identifier: GPL-2.0
/* govgate trust snapshot: the trust list of a golden image. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "compile.h"
#include "config.h"
#include "gates.h"
#include "policy.h"
#include "trust.h"

struct digest_vec {
	__u8 (*v)[GG_SHA256_LEN];
	size_t n, cap;
	int err; /* first error, as a negative errno */
	char where[512];
};

/* nftw has no context argument: one walk at a time. */
static struct digest_vec *walk;

/* Executables and libraries: any x bit, or an ELF file (Debian installs
 * shared libraries 0644). */
static bool is_code(const char *path, const struct stat *st)
{
	char magic[4];
	bool elf;
	int fd;

	if (!S_ISREG(st->st_mode))
		return false;
	if (st->st_mode & 0111)
		return true;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return false;
	elf = read(fd, magic, 4) == 4 && !memcmp(magic, "\x7f" "ELF", 4);
	close(fd);
	return elf;
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	struct stat target;
	__u8(*p)[GG_SHA256_LEN];
	int ret;

	/* a symlink to a regular file: the file, hashed through the link */
	if (type == FTW_SL) {
		if (stat(path, &target))
			return 0; /* dangling */
		st = &target;
	} else if (type != FTW_F) {
		return 0;
	}
	if (!is_code(path, st))
		return 0;
	if (walk->n == walk->cap) {
		walk->cap = walk->cap ? walk->cap * 2 : 1024;
		p = realloc(walk->v, walk->cap * sizeof(*p));
		if (!p) {
			walk->err = -ENOMEM;
			return 1;
		}
		walk->v = p;
	}
	ret = gg_file_sha256(path, walk->v[walk->n]);
	if (ret) {
		walk->err = ret;
		snprintf(walk->where, sizeof(walk->where), "%s", path);
		return 1;
	}
	walk->n++;
	return 0;
}

static int digest_cmp(const void *a, const void *b)
{
	return memcmp(a, b, GG_SHA256_LEN);
}

static json_t *trust_pack(const struct digest_vec *d, const struct gg_trust_opts *opts,
			  const char *dirs)
{
	json_t *list = json_array(), *pack;
	char hex[2 * GG_SHA256_LEN + 1];

	for (size_t i = 0; list && i < d->n; i++) {
		if (i && !memcmp(d->v[i - 1], d->v[i], GG_SHA256_LEN))
			continue;
		gg_digest_hex(d->v[i], hex);
		if (json_array_append_new(list, json_string(hex))) {
			json_decref(list);
			return NULL;
		}
	}
	pack = json_pack("{s:s, s:s, s:s+, s:{s:s, s:s}, s:[{s:s, s:s, s:s}], "
			 "s:[{s:s, s:s, s:[s], s:s, s:{s:o}}]}",
			 "name", opts->name, "version", opts->version, "description",
			 "Trusted executables: the executables and shared libraries found under ",
			 dirs, "framework", "id", "govgate-trust", "title",
			 "govgate trusted executables", "controls", "id", "TRUST-EXEC", "title",
			 "Only trusted executables and libraries run", "status", "enforced",
			 "rules", "id", "trusted-executables", "gate", "cmd.exec", "controls",
			 "TRUST-EXEC", "description",
			 "Executing or mapping executable any file whose SHA-256 is not listed is "
			 "denied (enforce) or recorded (observe).",
			 "match", "trusted", list);
	return pack;
}

int gg_trust_snapshot(const char *const *dirs, size_t n_dirs, const struct gg_trust_opts *opts,
		      json_t **pack, size_t *n_files, struct gg_err *err)
{
	struct digest_vec d = {};
	char *all = NULL;
	size_t len = 0;
	FILE *f;
	int ret = 0;

	*pack = NULL;
	walk = &d;
	for (size_t i = 0; !ret && i < n_dirs; i++) {
		if (nftw(dirs[i], visit, 32, FTW_PHYS) && !d.err)
			ret = gg_errf(err, -errno, "trust snapshot: %s: %s", dirs[i],
				      strerror(errno));
		else if (d.err)
			ret = gg_errf(err, d.err, "trust snapshot: %s: %s",
				      d.where[0] ? d.where : dirs[i], strerror(-d.err));
	}
	walk = NULL;
	if (ret)
		goto cleanup;
	qsort(d.v, d.n, GG_SHA256_LEN, digest_cmp);
	f = open_memstream(&all, &len);
	for (size_t i = 0; f && i < n_dirs; i++)
		fprintf(f, "%s%s", i ? ", " : "", dirs[i]);
	if (!f || fclose(f) || !(*pack = trust_pack(&d, opts, all))) {
		ret = gg_errf(err, -ENOMEM, "trust snapshot: out of memory");
		goto cleanup;
	}
	*n_files = d.n;
cleanup:
	free(all);
	free(d.v);
	return ret;
}

const char *gg_trust_unenforced(const struct gg_config *cfg, __u64 generation)
{
	struct gg_gate_state state[GG_GATE_COUNT];
	struct gg_policy_status st = {};
	struct gg_exec_trust_cfg tc = {};
	struct gg_err err;
	int fd;

	/* the pinned map: what the kernel was given */
	if (gg_policy_generation(cfg->pin_dir, &st, &err) || st.generation != generation)
		return NULL;
	fd = gg_pinned_fd_ro(cfg->pin_dir, GG_MAP_EXEC_TRUST_CFG, &err);
	if (fd < 0)
		return NULL;
	if (bpf_map_lookup_elem(fd, &st.active_slot, &tc))
		tc.n_lists = 0;
	close(fd);
	if (!tc.n_lists)
		return NULL;
	gg_gates_inspect(cfg->pin_dir, state);
	if (state[GG_GATE_EXEC].mech == GG_MECH_LSM)
		return NULL;
	return "warning: the trust lists are not enforced: cmd.exec runs on the fallback "
	       "path, which cannot hash a file (no sleepable hook) nor see executable "
	       "mappings; only the LSM path enforces trusted-executables mode";
}
