/* SPDX-License-Identifier: MIT */
/*
 * Time-zone database reader; see tz.h for the contract and tz-impl.h for the
 * in-memory shape.
 *
 * A TZif file (RFC 8536) holds a header, a version-1 data block with 32-bit
 * transition times, and (version 2 and later) a second header, a data block
 * with 64-bit times and a footer: a POSIX TZ string ("EST5EDT,M3.2.0,M11.1.0")
 * that gives the offsets after the last transition. We read the 64-bit block
 * when there is one, keep only the transitions that change the UTC offset, and
 * expand the footer rule into the table up to 2202 so that the cron engine
 * never has to evaluate a rule; later instants evaluate the rule directly.
 *
 * The cache is a hash map from name to zone behind one mutex. Zones are never
 * freed before tz_cleanup(), so a pointer handed out stays valid without any
 * reference counting.
 */
#include "cron/tz.h"
#include "cron/tz-impl.h"

#include "base/hash.h"
#include "base/time.h"
#include "clover.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_DIR "/usr/share/zoneinfo"
/* Offsets beyond +-25h are not time zones; real ones stay within +-16h. */
#define OFF_MAX (25 * 3600)
/* Local time is within this many seconds of UTC, so a window this wide finds it. */
#define WINDOW (26 * 3600)
/* Transition times beyond +-2^59 s (tzdata's "big bang" sentinel) are refused. */
#define TIME_LIMIT (1LL << 59)
/* More transitions than any real zone has (the largest have a few hundred). */
#define TRANS_MAX 100000
/* The expanded table starts the footer rule no earlier than this year. */
#define RULE_FIRST_YEAR 1900
#define RULE_LAST_YEAR 2201

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hmap cache;
static char *dir_override;

static int64_t floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* ---- POSIX TZ rules ------------------------------------------------------ */

/* Skips a zone abbreviation: "EST" (3+ letters) or "<+0530>". */
static const char *rule_name(const char *p)
{
	const char *q;

	if (*p == '<') {
		q = ++p;
		while (isalnum((unsigned char)*q) || *q == '+' || *q == '-')
			q++;
		if (*q != '>' || q == p)
			return NULL;
		return q + 1;
	}
	q = p;
	while (isalpha((unsigned char)*q))
		q++;
	return q - p >= 3 ? q : NULL;
}

/* Reads 1 to `maxd` digits into *v; returns the end or NULL. */
static const char *rule_num(const char *p, int maxd, int *v)
{
	int n = 0, x = 0;

	while (isdigit((unsigned char)*p) && n < maxd) {
		x = x * 10 + (*p - '0');
		p++;
		n++;
	}
	if (n == 0 || isdigit((unsigned char)*p))
		return NULL;
	*v = x;
	return p;
}

/* Reads [+-]hh[:mm[:ss]] with hh <= maxh into signed seconds. */
static const char *rule_hms(const char *p, int maxh, int32_t *out)
{
	int sign = 1, h, m = 0, s = 0;

	if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
	}
	if ((p = rule_num(p, 3, &h)) == NULL || h > maxh)
		return NULL;
	if (*p == ':') {
		if ((p = rule_num(p + 1, 2, &m)) == NULL || m > 59)
			return NULL;
		if (*p == ':') {
			if ((p = rule_num(p + 1, 2, &s)) == NULL || s > 59)
				return NULL;
		}
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return p;
}

/* Reads ",date[/time]" (the comma already skipped). */
static const char *rule_date(const char *p, struct tz_rule_date *d)
{
	d->time = 2 * 3600;
	if (*p == 'J') {
		d->kind = 'J';
		if ((p = rule_num(p + 1, 3, &d->a)) == NULL || d->a < 1 || d->a > 365)
			return NULL;
	} else if (*p == 'M') {
		d->kind = 'M';
		if ((p = rule_num(p + 1, 2, &d->a)) == NULL || d->a < 1 || d->a > 12 || *p != '.')
			return NULL;
		if ((p = rule_num(p + 1, 1, &d->b)) == NULL || d->b < 1 || d->b > 5 || *p != '.')
			return NULL;
		if ((p = rule_num(p + 1, 1, &d->c)) == NULL || d->c > 6)
			return NULL;
	} else {
		d->kind = 'D';
		if ((p = rule_num(p, 3, &d->a)) == NULL || d->a > 365)
			return NULL;
	}
	if (*p == '/') {
		/* RFC 8536 version 3 allows -167..167 hours here. */
		if ((p = rule_hms(p + 1, 167, &d->time)) == NULL)
			return NULL;
	}
	return p;
}

/* Parses a POSIX TZ string; returns 0 or -1. */
static int rule_parse(const char *s, struct tz_rule *r)
{
	const char *p = s;
	int32_t v;

	memset(r, 0, sizeof(*r));
	if ((p = rule_name(p)) == NULL || (p = rule_hms(p, 24, &v)) == NULL)
		return -1;
	r->std_off = -v; /* POSIX counts west as positive */
	if (*p == '\0')
		return 0;
	if ((p = rule_name(p)) == NULL)
		return -1;
	r->has_dst = true;
	r->dst_off = r->std_off + 3600;
	if (*p != ',' && *p != '\0') {
		if ((p = rule_hms(p, 24, &v)) == NULL)
			return -1;
		r->dst_off = -v;
	}
	if (*p == '\0') {
		/* No dates: POSIX leaves it to the implementation; tzcode uses US rules. */
		r->start = (struct tz_rule_date){'M', 3, 2, 0, 7200};
		r->end = (struct tz_rule_date){'M', 11, 1, 0, 7200};
		return 0;
	}
	if (*p != ',' || (p = rule_date(p + 1, &r->start)) == NULL || *p != ',' ||
	    (p = rule_date(p + 1, &r->end)) == NULL || *p != '\0')
		return -1;
	return 0;
}

/* Days since the epoch of a rule date in year y. */
static int64_t rule_date_days(const struct tz_rule_date *d, int64_t y)
{
	int64_t first;
	int day;

	switch (d->kind) {
	case 'J':
		return time_days_from_civil(y, 1, 1) + d->a - 1 + (time_is_leap(y) && d->a >= 60);
	case 'D':
		return time_days_from_civil(y, 1, 1) + d->a;
	default:
		first = time_days_from_civil(y, d->a, 1);
		day = (d->c - time_weekday(first) + 7) % 7 + 7 * (d->b - 1);
		while (day >= time_days_in_month(y, d->a))
			day -= 7;
		return first + day;
	}
}

/* The two transitions of year y in time order and the offsets they switch to. */
static void rule_year(const struct tz_rule *r, int64_t y, int64_t t[2], int32_t o[2])
{
	int64_t s = rule_date_days(&r->start, y) * 86400 + r->start.time - r->std_off;
	int64_t e = rule_date_days(&r->end, y) * 86400 + r->end.time - r->dst_off;

	if (s <= e) {
		t[0] = s, o[0] = r->dst_off, t[1] = e, o[1] = r->std_off;
	} else {
		t[0] = e, o[0] = r->std_off, t[1] = s, o[1] = r->dst_off;
	}
}

/*
 * Appends a transition to (trans, off, *n), keeping the table strictly
 * ascending and free of transitions that change nothing. At equal instants
 * the later call wins, which is how a rule with DST all year ("0/0,J365/25")
 * ends up with no transitions at all. Earlier instants are ignored: the
 * explicit table is authoritative up to its end. Capacity is the caller's.
 */
static void table_append(int64_t *trans, int32_t *off, size_t *n, int64_t t, int32_t o)
{
	if (*n > 0 && t <= trans[*n - 1]) {
		if (t < trans[*n - 1])
			return;
		off[*n] = o;
		if (off[*n] == off[*n - 1])
			(*n)--;
		return;
	}
	if (o == off[*n])
		return;
	trans[*n] = t;
	off[*n + 1] = o;
	(*n)++;
}

/* Builds in (t, o, *n) the transitions of years y-1..y+1, starting state from y-2. */
static void rule_view(const struct tz_rule *r, int64_t y, int64_t t[8], int32_t o[9], size_t *n)
{
	int64_t yt[2];
	int32_t yo[2];

	rule_year(r, y - 2, yt, yo);
	*n = 0;
	o[0] = yo[1];
	for (int64_t k = y - 1; k <= y + 1; k++) {
		rule_year(r, k, yt, yo);
		table_append(t, o, n, yt[0], yo[0]);
		table_append(t, o, n, yt[1], yo[1]);
	}
}

/* ---- lookups ------------------------------------------------------------- */

static size_t view_period(const int64_t *trans, size_t n, int64_t t)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (trans[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool beyond_table(const struct tz *z, int64_t t)
{
	return z->has_rule && t >= TZ_TABLE_END && (z->n == 0 || t > z->trans[z->n - 1]);
}

/* Offset in seconds at instant t (seconds). */
static int32_t offset_sec(const struct tz *z, int64_t t)
{
	if (beyond_table(z, t)) {
		int64_t vt[8], y, days = floordiv(t, 86400);
		int32_t vo[9];
		size_t vn;
		int m, d;

		time_civil_from_days(days, &y, &m, &d);
		rule_view(&z->rule, y, vt, vo, &vn);
		return vo[view_period(vt, vn, t)];
	}
	return z->off[tz__period(z, t)];
}

const char *tz_name(const struct tz *z)
{
	return z->name;
}

int64_t tz_offset_at(const struct tz *z, int64_t utc_ms)
{
	return (int64_t)offset_sec(z, floordiv(utc_ms, 1000)) * 1000;
}

int64_t tz_local_at(const struct tz *z, int64_t utc_ms)
{
	return utc_ms + tz_offset_at(z, utc_ms);
}

/* Resolves local second L against one transition view. */
static void view_resolve(const int64_t *trans, const int32_t *off, size_t n, int64_t L,
			 struct tz_local *out)
{
	size_t k0 = view_period(trans, n, L - WINDOW), k1 = view_period(trans, n, L + WINDOW);
	bool found = false;

	for (size_t k = k0; k <= k1; k++) {
		int64_t u = L - off[k];

		if ((k > 0 && u < trans[k - 1]) || (k < n && u >= trans[k]))
			continue;
		if (!found) {
			out->kind = TZ_LOCAL_UNIQUE;
			out->utc = out->utc_later = u;
			out->transition = 0;
			found = true;
		} else {
			out->kind = TZ_LOCAL_OVERLAP;
			out->utc_later = u;
			out->transition = trans[k - 1];
		}
	}
	if (found)
		return;
	for (size_t k = k0 > 0 ? k0 : 1; k <= k1; k++) {
		if (trans[k - 1] + off[k - 1] <= L && L < trans[k - 1] + off[k]) {
			out->kind = TZ_LOCAL_GAP;
			out->utc = out->utc_later = L - off[k - 1];
			out->transition = trans[k - 1];
			return;
		}
	}
	/* Unreachable with sane data; answer something monotonic anyway. */
	out->kind = TZ_LOCAL_UNIQUE;
	out->utc = out->utc_later = L - off[view_period(trans, n, L)];
	out->transition = 0;
}

void tz_local_to_utc(const struct tz *z, int64_t local_ms, struct tz_local *out)
{
	const int64_t lim = 1LL << 62;
	int64_t L, rem;

	if (local_ms > lim)
		local_ms = lim;
	if (local_ms < -lim)
		local_ms = -lim;
	L = floordiv(local_ms, 1000);
	rem = local_ms - L * 1000;
	if (beyond_table(z, L - 2 * WINDOW)) {
		int64_t vt[8], y;
		int32_t vo[9];
		size_t vn;
		int m, d;

		time_civil_from_days(floordiv(L, 86400), &y, &m, &d);
		rule_view(&z->rule, y, vt, vo, &vn);
		view_resolve(vt, vo, vn, L, out);
	} else {
		view_resolve(z->trans, z->off, z->n, L, out);
	}
	out->utc = out->utc * 1000 + rem;
	out->utc_later = out->utc_later * 1000 + rem;
	out->transition *= 1000;
}

/* ---- TZif parsing -------------------------------------------------------- */

struct tzif_hdr {
	char version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Reads a header; `strict` for the one whose data block we use. */
static int read_hdr(const uint8_t *d, size_t len, size_t pos, bool strict, struct tzif_hdr *h)
{
	if (len < pos || len - pos < 44 || memcmp(d + pos, "TZif", 4) != 0)
		return -1;
	h->version = (char)d[pos + 4];
	h->isutcnt = be32(d + pos + 20);
	h->isstdcnt = be32(d + pos + 24);
	h->leapcnt = be32(d + pos + 28);
	h->timecnt = be32(d + pos + 32);
	h->typecnt = be32(d + pos + 36);
	h->charcnt = be32(d + pos + 40);
	if (h->timecnt > TRANS_MAX || h->typecnt > 256 || h->charcnt > 65536 ||
	    h->leapcnt > 65536 || (strict && (h->typecnt == 0 || h->charcnt == 0)) ||
	    (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
	    (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
		return -1;
	return 0;
}

static size_t block_size(const struct tzif_hdr *h, size_t tsize)
{
	return (size_t)h->timecnt * tsize + h->timecnt + (size_t)h->typecnt * 6 + h->charcnt +
	       (size_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

static int bad(struct error_info *e, const char *name, const char *why)
{
	return error_set(e, CLOVER_EPARSE, "timezone", "time zone '%s': not a valid TZif file (%s)",
			 name, why);
}

/* Fills z (name already set) from a TZif image. */
static int parse_tzif(struct tz *z, const uint8_t *d, size_t len, struct error_info *e)
{
	struct tzif_hdr h;
	size_t pos = 44, tsize = 4, cap, n = 0;
	const uint8_t *times, *idx, *types;
	int64_t prev = INT64_MIN;

	if (read_hdr(d, len, 0, false, &h))
		return bad(e, z->name, "bad header");
	if (h.version < '2' && (h.typecnt == 0 || h.charcnt == 0))
		return bad(e, z->name, "no local time types");
	if (h.version >= '2') {
		pos += block_size(&h, 4);
		if (pos > len || read_hdr(d, len, pos, true, &h))
			return bad(e, z->name, "bad second header");
		pos += 44;
		tsize = 8;
	}
	if (block_size(&h, tsize) > len - pos)
		return bad(e, z->name, "truncated");
	if (h.leapcnt > 0)
		return error_set(e, CLOVER_ENOTSUP, "timezone",
				 "time zone '%s' counts leap seconds (a \"right/\" zone); use the "
				 "plain zone of the same name",
				 z->name);
	times = d + pos;
	idx = times + (size_t)h.timecnt * tsize;
	types = idx + h.timecnt;
	for (uint32_t i = 0; i < h.typecnt; i++) {
		int32_t o = (int32_t)be32(types + 6 * i);

		if (o < -OFF_MAX || o > OFF_MAX || types[6 * i + 4] > 1 ||
		    types[6 * i + 5] >= h.charcnt)
			return bad(e, z->name, "bad local time type");
	}
	cap = (size_t)h.timecnt + 2 * (RULE_LAST_YEAR - RULE_FIRST_YEAR + 2) + 2;
	z->trans = malloc(cap * sizeof(*z->trans));
	z->off = malloc((cap + 1) * sizeof(*z->off));
	if (z->trans == NULL || z->off == NULL)
		return error_set(e, CLOVER_ENOMEM, "timezone", "out of memory loading '%s'",
				 z->name);
	z->off[0] = (int32_t)be32(types);
	for (uint32_t i = 0; i < h.timecnt; i++) {
		int64_t t = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);

		if (t <= prev || t < -TIME_LIMIT || t > TIME_LIMIT)
			return bad(e, z->name, "transition times out of order");
		if (idx[i] >= h.typecnt)
			return bad(e, z->name, "bad type index");
		prev = t;
		table_append(z->trans, z->off, &n, t, (int32_t)be32(types + 6 * idx[i]));
	}
	pos += block_size(&h, tsize);
	if (tsize == 8) {
		const char *s, *nl;
		char buf[256];

		if (pos >= len || d[pos] != '\n')
			return bad(e, z->name, "no footer");
		s = (const char *)d + pos + 1;
		nl = memchr(s, '\n', len - pos - 1);
		if (nl == NULL || (size_t)(nl - s) >= sizeof(buf))
			return bad(e, z->name, "bad footer");
		memcpy(buf, s, (size_t)(nl - s));
		buf[nl - s] = '\0';
		if (buf[0] != '\0' && rule_parse(buf, &z->rule) != 0)
			return bad(e, z->name, "bad TZ rule in footer");
		if (buf[0] != '\0' && (z->rule.std_off < -OFF_MAX || z->rule.std_off > OFF_MAX ||
				       z->rule.dst_off < -OFF_MAX || z->rule.dst_off > OFF_MAX))
			return bad(e, z->name, "offset out of range in footer");
		z->has_rule = buf[0] != '\0' && z->rule.has_dst;
		if (buf[0] != '\0' && !z->rule.has_dst && n == 0)
			z->off[0] = z->rule.std_off;
	}
	if (z->has_rule) {
		int64_t y0 = RULE_FIRST_YEAR, y;
		int m, dd;

		if (n > 0) {
			time_civil_from_days(floordiv(z->trans[n - 1], 86400), &y, &m, &dd);
			if (y > y0)
				y0 = y;
		}
		for (y = y0; y <= RULE_LAST_YEAR; y++) {
			int64_t t[2];
			int32_t o[2];

			rule_year(&z->rule, y, t, o);
			table_append(z->trans, z->off, &n, t[0], o[0]);
			table_append(z->trans, z->off, &n, t[1], o[1]);
		}
	}
	z->n = n;
	z->monotone = true;
	for (size_t k = 2; k <= n; k++) {
		if (tz__wall_lo(z, k) < tz__wall_lo(z, k - 1) ||
		    (k < n && tz__wall_end(z, k) < tz__wall_end(z, k - 1)))
			z->monotone = false;
	}
	return 0;
}

static struct tz *tz_alloc(const char *name)
{
	struct tz *z = calloc(1, sizeof(*z));

	if (z == NULL)
		return NULL;
	z->name = strdup(name);
	if (z->name == NULL) {
		free(z);
		return NULL;
	}
	return z;
}

void tz_free(struct tz *z)
{
	if (z == NULL)
		return;
	free(z->name);
	free(z->trans);
	free(z->off);
	free(z);
}

int tz_load_buffer(const char *name, const void *data, size_t len, struct tz **out,
		   struct error_info *e)
{
	struct tz *z;
	int rc;

	if (len > TZ_FILE_MAX)
		return error_set(e, CLOVER_ETOOBIG, "timezone", "time zone '%s': file too large",
				 name);
	z = tz_alloc(name);
	if (z == NULL)
		return error_set(e, CLOVER_ENOMEM, "timezone", "out of memory");
	rc = parse_tzif(z, data, len, e);
	if (rc != 0) {
		tz_free(z);
		return rc;
	}
	*out = z;
	return 0;
}

/* A relative path of letters, digits and "._+-" parts, none of them "." or "..". */
static bool name_ok(const char *name)
{
	size_t len = strlen(name);
	const char *part = name;

	if (len == 0 || len > TZ_NAME_MAX || name[0] == '/')
		return false;
	for (const char *p = name;; p++) {
		if (*p == '/' || *p == '\0') {
			size_t pl = (size_t)(p - part);

			if (pl == 0 || (pl == 1 && part[0] == '.') ||
			    (pl == 2 && part[0] == '.' && part[1] == '.'))
				return false;
			if (*p == '\0')
				return true;
			part = p + 1;
		} else if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '+' &&
			   *p != '.') {
			return false;
		}
	}
}

static int unknown(struct error_info *e, const char *name)
{
	return error_set(e, CLOVER_ENOENT, "timezone", "unknown time zone '%s'", name);
}

/* Reads <dir>/<name> into a new zone. Called with the cache lock held. */
static int load_file(const char *name, struct tz **out, struct error_info *e)
{
	const char *dir = dir_override ? dir_override : getenv("CLOVER_ZONEINFO");
	char path[4096];
	struct stat st;
	uint8_t *data = NULL;
	size_t got = 0;
	int fd, rc;

	if (dir == NULL || dir[0] == '\0')
		dir = DEFAULT_DIR;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return unknown(e, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR)
			return unknown(e, name);
		return error_set(e, error_from_errno(errno), "timezone",
				 "time zone '%s': cannot open %s: %s", name, path, strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return unknown(e, name);
	}
	if (st.st_size > TZ_FILE_MAX) {
		close(fd);
		return error_set(e, CLOVER_ETOOBIG, "timezone", "time zone '%s': %s is too large",
				 name, path);
	}
	data = malloc((size_t)st.st_size + 1);
	if (data == NULL) {
		close(fd);
		return error_set(e, CLOVER_ENOMEM, "timezone", "out of memory");
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, data + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got != (size_t)st.st_size) {
		free(data);
		return error_set(e, CLOVER_EIO, "timezone", "time zone '%s': cannot read %s", name,
				 path);
	}
	rc = tz_load_buffer(name, data, got, out, e);
	free(data);
	return rc;
}

static struct tz *make_utc(void)
{
	struct tz *z = tz_alloc("UTC");

	if (z == NULL)
		return NULL;
	z->off = calloc(1, sizeof(*z->off));
	if (z->off == NULL) {
		tz_free(z);
		return NULL;
	}
	return z;
}

int tz_get(const char *name, const struct tz **out, struct error_info *e)
{
	struct tz *z;
	int rc = 0;

	if (name == NULL || !name_ok(name))
		return unknown(e, name ? name : "(null)");
	pthread_mutex_lock(&cache_lock);
	z = hmap_get(&cache, name);
	if (z == NULL) {
		if (strcmp(name, "UTC") == 0) {
			z = make_utc();
			if (z == NULL)
				rc = error_set(e, CLOVER_ENOMEM, "timezone", "out of memory");
		} else {
			rc = load_file(name, &z, e);
		}
		if (rc == 0 && hmap_put(&cache, z->name, z) != 0) {
			tz_free(z);
			rc = error_set(e, CLOVER_ENOMEM, "timezone", "out of memory");
		}
	}
	pthread_mutex_unlock(&cache_lock);
	if (rc == 0)
		*out = z;
	return rc;
}

void tz_set_dir(const char *dir)
{
	char *copy = dir ? strdup(dir) : NULL;

	if (dir != NULL && copy == NULL)
		return; /* out of memory: keep the previous setting */
	pthread_mutex_lock(&cache_lock);
	free(dir_override);
	dir_override = copy;
	pthread_mutex_unlock(&cache_lock);
}

void tz_cleanup(void)
{
	const char *k;
	void *v;

	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; hmap_next(&cache, &i, &k, &v);)
		tz_free(v);
	hmap_free(&cache);
	free(dir_override);
	dir_override = NULL;
	pthread_mutex_unlock(&cache_lock);
}
