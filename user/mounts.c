// SPDX-License-Identifier: GPL-2.0
/* The mounts over the files a locked restart reads (user/mounts.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mounts.h"

/* mountinfo escapes space, tab, newline and backslash as \ooo: undone in
 * place. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* Is mount point mp path itself or below it? */
static int at_or_below(const char *mp, const char *path)
{
	size_t n = strlen(path);

	while (n > 1 && path[n - 1] == '/')
		n--;
	return !strncmp(mp, path, n) && (mp[n] == '\0' || mp[n] == '/');
}

char *gg_mounts_under(const char *mountinfo, const char *const *paths, size_t n)
{
	FILE *f = fopen(mountinfo, "re"), *out;
	char *line = NULL, *buf = NULL;
	size_t cap = 0, len = 0;

	if (!f)
		return NULL;
	out = open_memstream(&buf, &len);
	if (!out) {
		fclose(f);
		return NULL;
	}
	while (getline(&line, &cap, f) > 0) {
		char root[4096], mp[4096], dev[32], fstype[256], source[4096];
		char *sep = strstr(line, " - ");
		int hit = 0;

		if (!sep || sscanf(line, "%*d %*d %31s %4095s %4095s", dev, root, mp) != 3 ||
		    sscanf(sep + 3, "%255s %4095s", fstype, source) != 2)
			continue;
		unescape(root);
		unescape(mp);
		for (size_t i = 0; i < n && !hit; i++)
			hit = paths[i] && paths[i][0] == '/' && at_or_below(mp, paths[i]);
		if (hit)
			fprintf(out, "%s %s %s %s %s\n", mp, root, dev, fstype, source);
	}
	free(line);
	fclose(f);
	fclose(out);
	return buf;
}
