/* SPDX-License-Identifier: MIT */
/*
 * CURVE keys (docs/protocol.md "Keys"): generation through libzmq, Z85
 * validation, key files. A key file is text: one 40-character Z85 key per
 * line, optionally followed by blanks and a comment; `#` lines and blank
 * lines are skipped. Secret key files are written with mode 0600 through a
 * temporary file that is linked (or, with --force, renamed) into place, so a
 * reader never sees half a key and an existing key is never clobbered by
 * accident.
 */
#include "proto/zmq.h"

#include "base/buf.h"
#include "clover.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define KEYFILE_MAX (4u * 1024 * 1024)

static const char z85_chars[] = "0123456789abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

int proto_keygen(struct proto_keypair *out)
{
	memset(out, 0, sizeof(*out));
	if (zmq_curve_keypair(out->pub.z85, out->sec.z85) != 0)
		return errno == ENOTSUP ? CLOVER_ENOTSUP : CLOVER_ESYS;
	return 0;
}

int proto_key_parse(const char *text, size_t len, struct proto_key *out, struct error_info *e)
{
	if (len != PROTO_KEY_Z85_LEN)
		return error_set(e, CLOVER_EINVAL, "key", "a key is %d Z85 characters, not %zu",
		                 PROTO_KEY_Z85_LEN, len);
	for (size_t g = 0; g < PROTO_KEY_Z85_LEN; g += 5) {
		uint64_t v = 0;

		for (size_t i = g; i < g + 5; i++) {
			const char *at = text[i] ? strchr(z85_chars, text[i]) : NULL;

			if (at == NULL)
				return error_set(e, CLOVER_EINVAL, "key",
				                 "character %zu ('%c') is not Z85", i + 1,
				                 text[i] >= 0x20 && text[i] < 0x7f ? text[i] : '?');
			v = v * 85 + (uint64_t)(at - z85_chars);
		}
		if (v > UINT32_MAX)
			return error_set(e, CLOVER_EINVAL, "key",
			                 "characters %zu-%zu do not encode 4 bytes", g + 1, g + 5);
	}
	memcpy(out->z85, text, PROTO_KEY_Z85_LEN);
	out->z85[PROTO_KEY_Z85_LEN] = '\0';
	return 0;
}

int proto_key_public(const struct proto_key *secret, struct proto_key *pub)
{
	struct proto_key chk;

	if (proto_key_parse(secret->z85, strnlen(secret->z85, sizeof(secret->z85)), &chk, NULL) !=
	    0)
		return CLOVER_EINVAL;
	memset(pub, 0, sizeof(*pub));
	if (zmq_curve_public(pub->z85, secret->z85) != 0)
		return errno == ENOTSUP ? CLOVER_ENOTSUP : CLOVER_EINVAL;
	return 0;
}

static int read_file(const char *path, struct buf *b, struct error_info *e)
{
	char chunk[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return error_set(e, CLOVER_EIO, "path", "%s: %s", path, strerror(errno));
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = error_set(e, CLOVER_EIO, "path", "%s: %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if ((rc = buf_append(b, chunk, (size_t)n)) != 0) {
			rc = rc == CLOVER_ETOOBIG
			         ? error_set(e, rc, "path", "%s: larger than %u bytes", path,
			                     KEYFILE_MAX)
			         : error_set(e, rc, "path", "%s: out of memory", path);
			break;
		}
	}
	close(fd);
	return rc;
}

int proto_keys_read(const char *path, struct proto_key *keys, size_t max, size_t *n,
                    struct error_info *e)
{
	struct buf b;
	const char *p, *end;
	unsigned line = 0;
	int rc;

	*n = 0;
	buf_init(&b, KEYFILE_MAX);
	if ((rc = read_file(path, &b, e)) != 0)
		goto out;
	p = b.data ? b.data : "";
	end = p + b.len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *q, *tok;
		struct error_info ke;

		if (eol == NULL)
			eol = end;
		line++;
		for (q = p; q < eol && (*q == ' ' || *q == '\t'); q++)
			;
		if (q == eol || (*q == '\r' && q + 1 == eol)) {
			p = eol + 1;
			continue;
		}
		for (tok = q; q < eol && *q != ' ' && *q != '\t' && *q != '\r'; q++)
			;
		/*
		 * '#' is a Z85 digit too, but no key starts with it: a group
		 * starting with '#' (84) is over 2^32.
		 */
		if (*tok == '#') {
			p = eol + 1;
			continue;
		}
		if (*n >= max) {
			rc = error_set(e, CLOVER_ETOOBIG, "path", "%s: more than %zu keys", path,
			               max);
			goto out;
		}
		if (proto_key_parse(tok, (size_t)(q - tok), &keys[*n], &ke) != 0) {
			rc = error_set(e, CLOVER_EINVAL, "path", "%s:%u: %s", path, line,
			               ke.message);
			goto out;
		}
		(*n)++;
		p = eol + 1;
	}
	if (*n == 0)
		rc = error_set(e, CLOVER_EINVAL, "path", "%s: no key in the file", path);
out:
	buf_free(&b);
	if (rc != 0)
		*n = 0;
	return rc;
}

/* Writes `text` to a new temporary file next to `path`; its name goes to tmp. */
static int write_temp(const char *path, const char *text, mode_t mode, char *tmp, size_t tmpn,
                      struct error_info *e)
{
	size_t len = strlen(text), off = 0;
	int fd;

	if ((size_t)snprintf(tmp, tmpn, "%s.XXXXXX", path) >= tmpn)
		return error_set(e, CLOVER_EINVAL, "path", "%s: path too long", path);
	fd = mkstemp(tmp); /* mode 0600 */
	if (fd < 0) {
		int err = errno;

		tmp[0] = '\0';
		return error_set(e, error_from_errno(err), "path", "%s: %s", path, strerror(err));
	}
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
		off += (size_t)w;
	}
	if (off < len || fchmod(fd, mode) != 0 || fsync(fd) != 0) {
		int err = errno;

		close(fd);
		unlink(tmp);
		tmp[0] = '\0';
		return error_set(e, CLOVER_EIO, "path", "%s: %s", path, strerror(err));
	}
	close(fd);
	return 0;
}

/* Puts temporary file `tmp` in place at `path`: link (no replacing) or rename. */
static int place(const char *tmp, const char *path, bool force, struct error_info *e)
{
	int err;

	if (force ? rename(tmp, path) == 0 : link(tmp, path) == 0)
		return 0;
	err = errno;
	if (err == EEXIST)
		return error_set(e, CLOVER_EEXIST, "path",
		                 "%s already exists (use --force to replace it)", path);
	return error_set(e, error_from_errno(err), "path", "%s: %s", path, strerror(err));
}

int proto_keypair_write(const char *base, const struct proto_keypair *kp, bool force,
                        struct error_info *e)
{
	char key_path[PATH_MAX], pub_path[PATH_MAX], key_tmp[PATH_MAX + 8] = "",
	                                                                pub_tmp[PATH_MAX + 8] = "";
	char sec_text[256], pub_text[PATH_MAX + 64];
	const char *name = strrchr(base, '/');
	int rc;

	name = name ? name + 1 : base;
	if (name[0] == '\0')
		return error_set(e, CLOVER_EINVAL, "name", "'%s' does not end in a name", base);
	if ((size_t)snprintf(key_path, sizeof(key_path), "%s.key", base) >= sizeof(key_path) ||
	    (size_t)snprintf(pub_path, sizeof(pub_path), "%s.pub", base) >= sizeof(pub_path))
		return error_set(e, CLOVER_EINVAL, "name", "'%s' is too long", base);
	snprintf(sec_text, sizeof(sec_text),
	         "# clover CURVE secret key of %.64s; keep it private\n%s\n", name, kp->sec.z85);
	snprintf(pub_text, sizeof(pub_text), "%s %s\n", kp->pub.z85, name);

	if (!force && (access(key_path, F_OK) == 0 || access(pub_path, F_OK) == 0))
		return error_set(e, CLOVER_EEXIST, "path",
		                 "%s already exists (use --force to replace it)",
		                 access(key_path, F_OK) == 0 ? key_path : pub_path);
	if ((rc = write_temp(key_path, sec_text, 0600, key_tmp, sizeof(key_tmp), e)) != 0)
		goto out;
	if ((rc = write_temp(pub_path, pub_text, 0644, pub_tmp, sizeof(pub_tmp), e)) != 0)
		goto out;
	if ((rc = place(key_tmp, key_path, force, e)) != 0)
		goto out;
	if (force)
		key_tmp[0] = '\0'; /* renamed away */
	if ((rc = place(pub_tmp, pub_path, force, e)) != 0) {
		if (!force)
			unlink(key_path); /* the one we just linked */
		goto out;
	}
	if (force)
		pub_tmp[0] = '\0';
out:
	if (key_tmp[0])
		unlink(key_tmp);
	if (pub_tmp[0])
		unlink(pub_tmp);
	return rc;
}
