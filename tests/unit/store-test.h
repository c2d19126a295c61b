/* SPDX-License-Identifier: MIT */
/*
 * Shared fixture of the store tests: every test gets a fresh private
 * directory (mkdtemp) with a store opened on `<dir>/data/clover.db` (the
 * missing `data` directory proves the store creates it), and the directory is
 * removed, with everything in it, at teardown. Include after cmocka.h.
 */
#ifndef CLOVER_TESTS_STORE_TEST_H
#define CLOVER_TESTS_STORE_TEST_H

#include "store/store.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fx {
	char dir[64];
	char path[128];
	struct store_options opt;
	struct store *s;
};

static int fx_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* Opens (or reopens) the fixture's store with its current options. */
static void fx_open(struct fx *f)
{
	struct error_info e = {0};
	int rc = store_open(&f->opt, &f->s, &e);

	if (rc)
		fprintf(stderr, "store_open: %s: %s\n", clover_errname(rc), e.message);
	assert_int_equal(rc, 0);
	assert_non_null(f->s);
}

static void fx_reopen(struct fx *f)
{
	store_close(f->s);
	f->s = NULL;
	fx_open(f);
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/clover-store-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/data/clover.db", f->dir);
	f->opt.path = f->path;
	f->opt.batch_delay_ms = 1;
	fx_open(f);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	nftw(f->dir, fx_rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

#define fx_test(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

#endif
