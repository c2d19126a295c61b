/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the coordination tree (src/coord): path rules and caps,
 * create / get / set / delete with versions, ephemeral nodes and their
 * owners' sessions, and concurrent writers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "coord/coord.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int setup(void **state)
{
	struct coord *c;

	if (coord_open_local(&c))
		return -1;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	coord_close(*state);
	return 0;
}

static void paths_are_checked_with_caps(void **state)
{
	char long_name[COORD_NAME_MAX + 3], deep[COORD_PATH_MAX];
	struct error_info e;
	size_t n = 0;

	(void)state;
	assert_true(coord_path_valid("/", NULL, NULL));
	assert_true(coord_path_valid("/clover/executors/w-1.example:7070", NULL, NULL));
	assert_true(coord_path_valid("/a/b@c/_d", NULL, NULL));
	assert_false(coord_path_valid("", "path", &e));
	assert_string_equal(e.field, "path");
	assert_false(coord_path_valid("clover", NULL, &e));
	assert_false(coord_path_valid("/clover/", NULL, &e));
	assert_non_null(strstr(e.message, "empty name"));
	assert_false(coord_path_valid("/a//b", NULL, NULL));
	assert_false(coord_path_valid("/a/./b", NULL, NULL));
	assert_false(coord_path_valid("/a/..", NULL, NULL));
	assert_false(coord_path_valid("/a b", NULL, &e));
	assert_non_null(strstr(e.message, "letters, digits"));
	assert_false(coord_path_valid("/a/\xc3\xa9", NULL, NULL));
	long_name[0] = '/';
	memset(long_name + 1, 'x', COORD_NAME_MAX + 1);
	long_name[COORD_NAME_MAX + 2] = '\0';
	assert_false(coord_path_valid(long_name, NULL, &e));
	long_name[COORD_NAME_MAX + 1] = '\0';
	assert_true(coord_path_valid(long_name, NULL, NULL));
	for (int i = 0; i <= COORD_DEPTH_MAX; i++)
		n += (size_t)snprintf(deep + n, sizeof(deep) - n, "/d");
	assert_false(coord_path_valid(deep, NULL, &e));
	assert_non_null(strstr(e.message, "deeper"));
	deep[n - 2] = '\0';
	assert_true(coord_path_valid(deep, NULL, NULL));
}

static void nodes_are_created_read_and_listed(void **state)
{
	struct coord *c = *state;
	struct coord_node nd;
	struct error_info e;

	assert_int_equal(
	    coord_create(c, "/clover/leader", "x", 1, COORD_PERSISTENT, NULL, false, &e),
	    CLOVER_ENOENT);
	assert_non_null(strstr(e.message, "/clover"));
	assert_int_equal(coord_create(c, "/clover", NULL, 0, COORD_PERSISTENT, NULL, false, &e), 0);
	assert_int_equal(
	    coord_create(c, "/clover/b", "{\"b\":1}", 7, COORD_PERSISTENT, NULL, false, &e), 0);
	assert_int_equal(
	    coord_create(c, "/clover/a/x/y", "deep", 4, COORD_PERSISTENT, NULL, true, &e), 0);
	assert_int_equal(coord_create(c, "/clover/b", "", 0, COORD_PERSISTENT, NULL, false, &e),
	                 CLOVER_EEXIST);
	assert_int_equal(coord_create(c, "/", NULL, 0, COORD_PERSISTENT, NULL, false, &e),
	                 CLOVER_EEXIST);

	assert_int_equal(coord_get(c, "/clover", &nd, &e), 0);
	assert_null(nd.data);
	assert_int_equal(nd.nchildren, 2);
	assert_string_equal(nd.children[0], "a");
	assert_string_equal(nd.children[1], "b");
	assert_int_equal(nd.st.nchildren, 2);
	assert_int_equal(nd.st.version, 0);
	assert_false(nd.st.ephemeral);
	assert_true(nd.st.created_at > 0);
	coord_node_clear(&nd);

	assert_int_equal(coord_get(c, "/clover/b", &nd, &e), 0);
	assert_string_equal(nd.data, "{\"b\":1}");
	assert_int_equal(nd.st.data_len, 7);
	assert_int_equal(nd.nchildren, 0);
	coord_node_clear(&nd);
	assert_int_equal(coord_get(c, "/clover/a/x/y", &nd, &e), 0);
	assert_string_equal(nd.data, "deep");
	coord_node_clear(&nd);
	assert_int_equal(coord_get(c, "/", &nd, &e), 0);
	assert_int_equal(nd.nchildren, 1);
	coord_node_clear(&nd);
	assert_int_equal(coord_get(c, "/nope", &nd, &e), CLOVER_ENOENT);
	assert_string_equal(e.field, "path");
	coord_node_clear(NULL);
}

static void data_must_be_text_within_the_cap(void **state)
{
	struct coord *c = *state;
	char *big = malloc(COORD_DATA_MAX + 1);
	struct error_info e;

	assert_non_null(big);
	memset(big, 'a', COORD_DATA_MAX + 1);
	assert_int_equal(
	    coord_create(c, "/big", big, COORD_DATA_MAX + 1, COORD_PERSISTENT, NULL, false, &e),
	    CLOVER_ETOOBIG);
	assert_string_equal(e.field, "data");
	assert_int_equal(
	    coord_create(c, "/big", big, COORD_DATA_MAX, COORD_PERSISTENT, NULL, false, &e), 0);
	assert_int_equal(coord_create(c, "/bin", "a\0b", 3, COORD_PERSISTENT, NULL, false, &e),
	                 CLOVER_EINVAL);
	assert_int_equal(coord_create(c, "/bin", "\xc3(", 2, COORD_PERSISTENT, NULL, false, &e),
	                 CLOVER_EINVAL);
	assert_int_equal(
	    coord_create(c, "/bin", "\xed\xa0\x80", 3, COORD_PERSISTENT, NULL, false, &e),
	    CLOVER_EINVAL);
	assert_int_equal(coord_create(c, "/bin", "caf\xc3\xa9 \xf0\x9f\x8d\x80", 10,
	                              COORD_PERSISTENT, NULL, false, &e),
	                 0);
	free(big);
}

static void set_and_delete_check_versions(void **state)
{
	struct coord *c = *state;
	struct coord_node nd;
	struct error_info e;
	int64_t v = -5;

	assert_int_equal(coord_create(c, "/n", "1", 1, COORD_PERSISTENT, NULL, false, &e), 0);
	assert_int_equal(coord_set(c, "/n", "2", 1, 1, &v, &e), CLOVER_ECONFLICT);
	assert_string_equal(e.field, "version");
	assert_int_equal(coord_set(c, "/n", "2", 1, 0, &v, &e), 0);
	assert_int_equal(v, 1);
	assert_int_equal(coord_set(c, "/n", "three", 5, COORD_ANY_VERSION, &v, &e), 0);
	assert_int_equal(v, 2);
	assert_int_equal(coord_set(c, "/n", "x", 1, -7, &v, &e), CLOVER_EINVAL);
	assert_int_equal(coord_set(c, "/none", "x", 1, COORD_ANY_VERSION, &v, &e), CLOVER_ENOENT);
	assert_int_equal(coord_get(c, "/n", &nd, &e), 0);
	assert_string_equal(nd.data, "three");
	assert_int_equal(nd.st.version, 2);
	assert_true(nd.st.modified_at >= nd.st.created_at);
	coord_node_clear(&nd);
	assert_int_equal(coord_set(c, "/n", NULL, 0, 2, &v, &e), 0);
	assert_int_equal(coord_get(c, "/n", &nd, &e), 0);
	assert_null(nd.data);
	coord_node_clear(&nd);

	assert_int_equal(coord_create(c, "/n/kid", NULL, 0, COORD_PERSISTENT, NULL, false, &e), 0);
	assert_int_equal(coord_delete(c, "/n", COORD_ANY_VERSION, &e), CLOVER_ESTATE);
	assert_non_null(strstr(e.message, "children"));
	assert_int_equal(coord_delete(c, "/n/kid", 4, &e), CLOVER_ECONFLICT);
	assert_int_equal(coord_delete(c, "/n/kid", 0, &e), 0);
	assert_int_equal(coord_delete(c, "/n/kid", 0, &e), CLOVER_ENOENT);
	assert_int_equal(coord_delete(c, "/n", 3, &e), 0);
	assert_int_equal(coord_delete(c, "/", COORD_ANY_VERSION, &e), CLOVER_EINVAL);
	assert_int_equal(coord_get(c, "/", &nd, &e), 0);
	assert_int_equal(nd.nchildren, 0);
	assert_true(nd.st.cversion >= 2);
	coord_node_clear(&nd);
}

static void put_creates_or_replaces(void **state)
{
	struct coord *c = *state;
	struct coord_node nd;
	struct error_info e;

	assert_int_equal(coord_put(c, "/clover/leader", "a", 1, COORD_PERSISTENT, NULL, &e), 0);
	assert_int_equal(coord_put(c, "/clover/leader", "bb", 2, COORD_PERSISTENT, NULL, &e), 0);
	assert_int_equal(coord_get(c, "/clover/leader", &nd, &e), 0);
	assert_string_equal(nd.data, "bb");
	assert_int_equal(nd.st.version, 1);
	coord_node_clear(&nd);
	assert_int_equal(coord_put(c, "/", "root", 4, COORD_PERSISTENT, NULL, &e), 0);
}

static void ephemeral_nodes_end_with_their_owner(void **state)
{
	struct coord *c = *state;
	struct coord_node nd;
	struct error_info e;

	assert_int_equal(coord_create(c, "/x/e1", "{}", 2, COORD_EPHEMERAL, NULL, true, &e),
	                 CLOVER_EINVAL);
	assert_string_equal(e.field, "owner");
	assert_int_equal(coord_create(c, "/x/e1", "{}", 2, COORD_EPHEMERAL, "bad owner", true, &e),
	                 CLOVER_EINVAL);
	assert_int_equal(
	    coord_create(c, "/x/e1", "{}", 2, COORD_EPHEMERAL, "executor:w1", true, &e), 0);
	assert_int_equal(
	    coord_create(c, "/x/e2", "{}", 2, COORD_EPHEMERAL, "executor:w1", true, &e), 0);
	assert_int_equal(
	    coord_create(c, "/y/z/e3", NULL, 0, COORD_EPHEMERAL, "executor:w1", true, &e), 0);
	assert_int_equal(
	    coord_create(c, "/x/e4", NULL, 0, COORD_EPHEMERAL, "executor:w2", true, &e), 0);
	assert_int_equal(coord_create(c, "/x/e1/kid", NULL, 0, COORD_PERSISTENT, NULL, false, &e),
	                 CLOVER_ESTATE);
	assert_non_null(strstr(e.message, "ephemeral"));
	assert_int_equal(coord_get(c, "/x/e1", &nd, &e), 0);
	assert_true(nd.st.ephemeral);
	assert_string_equal(nd.st.owner, "executor:w1");
	coord_node_clear(&nd);

	assert_int_equal(coord_expire(c, "executor:w1"), 3);
	assert_int_equal(coord_expire(c, "executor:w1"), 0);
	assert_int_equal(coord_get(c, "/x", &nd, &e), 0);
	assert_int_equal(nd.nchildren, 1);
	assert_string_equal(nd.children[0], "e4");
	coord_node_clear(&nd);
	assert_int_equal(coord_get(c, "/y/z", &nd, &e), 0); /* parents are persistent */
	assert_int_equal(nd.nchildren, 0);
	coord_node_clear(&nd);
	assert_int_equal(coord_expire(c, NULL), 0);
}

static void many_owners_expire_in_one_call(void **state)
{
	struct coord *c = *state;
	char path[64];
	struct coord_node nd;

	for (int i = 0; i < 500; i++) {
		snprintf(path, sizeof(path), "/m/n%d", i);
		assert_int_equal(coord_create(c, path, NULL, 0, COORD_EPHEMERAL,
		                              i % 2 ? "s:odd" : "s:even", true, NULL),
		                 0);
	}
	assert_int_equal(coord_expire(c, "s:odd"), 250);
	assert_int_equal(coord_get(c, "/m", &nd, NULL), 0);
	assert_int_equal(nd.nchildren, 250);
	assert_int_equal(nd.st.cversion, 750);
	coord_node_clear(&nd);
}

struct writer {
	struct coord *c;
	int id;
};

static void *write_many(void *arg)
{
	struct writer *w = arg;
	char path[64], data[32];

	for (int i = 0; i < 2000; i++) {
		snprintf(path, sizeof(path), "/t/w%d/n%d", w->id, i % 50);
		snprintf(data, sizeof(data), "%d", i);
		if (coord_put(w->c, path, data, strlen(data), COORD_PERSISTENT, NULL, NULL))
			return (void *)1;
		if (coord_set(w->c, "/t/shared", data, strlen(data), COORD_ANY_VERSION, NULL, NULL))
			return (void *)1;
	}
	return NULL;
}

static void concurrent_writers_keep_the_tree_whole(void **state)
{
	struct coord *c = *state;
	struct writer w[4];
	pthread_t th[4];
	struct coord_node nd;

	assert_int_equal(coord_create(c, "/t/shared", NULL, 0, COORD_PERSISTENT, NULL, true, NULL),
	                 0);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct writer){c, i};
		assert_int_equal(pthread_create(&th[i], NULL, write_many, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		void *r;

		pthread_join(th[i], &r);
		assert_null(r);
	}
	assert_int_equal(coord_get(c, "/t/shared", &nd, NULL), 0);
	assert_int_equal(nd.st.version, 8000);
	coord_node_clear(&nd);
	assert_int_equal(coord_get(c, "/t/w3", &nd, NULL), 0);
	assert_int_equal(nd.nchildren, 50);
	coord_node_clear(&nd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(paths_are_checked_with_caps),
	    cmocka_unit_test_setup_teardown(nodes_are_created_read_and_listed, setup, teardown),
	    cmocka_unit_test_setup_teardown(data_must_be_text_within_the_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(set_and_delete_check_versions, setup, teardown),
	    cmocka_unit_test_setup_teardown(put_creates_or_replaces, setup, teardown),
	    cmocka_unit_test_setup_teardown(ephemeral_nodes_end_with_their_owner, setup, teardown),
	    cmocka_unit_test_setup_teardown(many_owners_expire_in_one_call, setup, teardown),
	    cmocka_unit_test_setup_teardown(concurrent_writers_keep_the_tree_whole, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
