/*
 * test_error.c: every kfk_err_t has a name and a message, and the lookup
 * functions are total: an application may print whatever code a broker
 * sends, including ones this build has never heard of, so no value may give
 * NULL or crash.
 */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "common/error.h"

/* Wide enough to cover every Kafka code and every local code with room on
 * both sides, so unknown neighbours are exercised too. */
#define SCAN_LO (KFK_ERR__LOCAL_END - 30)
#define SCAN_HI 200

static int in_list(int code)
{
    size_t n;
    const kfk__err_desc *list = kfk__err_desc_list(&n);
    for (size_t i = 0; i < n; i++)
        if (list[i].code == code)
            return 1;
    return 0;
}

/* What the brief promises: Kafka codes -1..200 and the local range with one
 * past its end never give NULL. */
START_TEST(total_functions)
{
    for (int c = SCAN_LO; c <= SCAN_HI; c++) {
        kfk_err_t e = (kfk_err_t)c;
        const char *name = kfk_err_name(e);
        const char *str = kfk_err_str(e);
        ck_assert_msg(name != NULL, "kfk_err_name(%d) is NULL", c);
        ck_assert_msg(str != NULL, "kfk_err_str(%d) is NULL", c);
        ck_assert_msg(str[0] != '\0', "kfk_err_str(%d) is empty", c);
        int r = kfk_err_is_retriable(e);
        ck_assert_msg(r == 0 || r == 1, "retriable(%d) = %d", c, r);
    }
    /* Far outside any range, including the enum's extremes. */
    static const int far[] = {INT32_MIN, -1000, 1000, 32767, INT32_MAX};
    for (size_t i = 0; i < sizeof(far) / sizeof(far[0]); i++) {
        kfk_err_t e = (kfk_err_t)far[i];
        ck_assert_str_eq(kfk_err_name(e), "?");
        ck_assert_ptr_nonnull(kfk_err_str(e));
        ck_assert_int_eq(kfk_err_is_retriable(e), 0);
        ck_assert_ptr_null(kfk__err_desc_get(e));
    }
}
END_TEST

/* The list and the lookup agree, and only defined codes have a name. */
START_TEST(defined_iff_named)
{
    for (int c = SCAN_LO; c <= SCAN_HI; c++) {
        kfk_err_t e = (kfk_err_t)c;
        const kfk__err_desc *d = kfk__err_desc_get(e);
        ck_assert_msg((d != NULL) == in_list(c), "code %d: get vs list", c);
        if (d) {
            ck_assert_int_eq(d->code, c);
            ck_assert_ptr_eq(kfk_err_name(e), d->name);
            ck_assert_ptr_eq(kfk_err_str(e), d->message);
            ck_assert_int_eq(kfk_err_is_retriable(e), d->retriable);
        } else {
            ck_assert_msg(strcmp(kfk_err_name(e), "?") == 0,
                          "undefined code %d named %s", c, kfk_err_name(e));
            ck_assert_int_eq(kfk_err_is_retriable(e), 0);
        }
    }
}
END_TEST

static int is_name_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

/* Every entry: a real, well-formed name, a message, a unique code; Kafka's
 * names plain, local names with a leading underscore. */
START_TEST(every_entry)
{
    size_t n;
    const kfk__err_desc *list = kfk__err_desc_list(&n);
    ck_assert_uint_gt(n, 100);
    for (size_t i = 0; i < n; i++) {
        const kfk__err_desc *d = &list[i];
        ck_assert_ptr_nonnull(d->name);
        ck_assert_ptr_nonnull(d->message);
        ck_assert_msg(strcmp(d->name, "?") != 0 && d->name[0] != '\0',
                      "code %d has no name", d->code);
        ck_assert_msg(d->message[0] != '\0', "code %d has no message", d->code);
        for (const char *p = d->name; *p; p++)
            ck_assert_msg(is_name_char(*p), "code %d: bad name %s", d->code,
                          d->name);
        ck_assert_msg(d->retriable == 0 || d->retriable == 1, "code %d",
                      d->code);
        if (d->code >= -1) {
            ck_assert_msg(d->name[0] != '_', "Kafka code %d named %s", d->code,
                          d->name);
        } else {
            ck_assert_msg(d->code <= KFK_ERR__MALFORMED &&
                              d->code > KFK_ERR__LOCAL_END,
                          "code %d outside both ranges", d->code);
            ck_assert_msg(d->name[0] == '_' && d->name[1] >= 'A' &&
                              d->name[1] <= 'Z',
                          "local code %d named %s", d->code, d->name);
        }
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(list[j].code != d->code, "code %d listed twice",
                          d->code);
        ck_assert_ptr_eq(kfk__err_desc_get((kfk_err_t)d->code), d);
    }
}
END_TEST

/* A local code added to the enum without a table entry fails here. */
START_TEST(local_range_complete)
{
    for (int c = KFK_ERR__MALFORMED; c > KFK_ERR__LOCAL_END; c--)
        ck_assert_msg(kfk__err_desc_get((kfk_err_t)c) != NULL,
                      "local code %d has no entry", c);
    ck_assert_ptr_null(kfk__err_desc_get(KFK_ERR__LOCAL_END));
    ck_assert_str_eq(kfk_err_name(KFK_ERR__LOCAL_END), "?");
    ck_assert_ptr_null(kfk__err_desc_get((kfk_err_t)(KFK_ERR__MALFORMED + 1)));
    ck_assert_ptr_null(kfk__err_desc_get((kfk_err_t)-2));
}
END_TEST

START_TEST(spot_values)
{
    ck_assert_int_eq(KFK_ERR_NONE, 0);
    ck_assert_str_eq(kfk_err_name(KFK_ERR_NONE), "NONE");
    ck_assert_int_eq(kfk_err_is_retriable(KFK_ERR_NONE), 0);

    ck_assert_int_eq(KFK_ERR_UNKNOWN_SERVER_ERROR, -1);
    ck_assert_str_eq(kfk_err_name(KFK_ERR_UNKNOWN_SERVER_ERROR),
                     "UNKNOWN_SERVER_ERROR");

    ck_assert_int_eq(KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION, 3);
    ck_assert_str_eq(kfk_err_name(KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION),
                     "UNKNOWN_TOPIC_OR_PARTITION");
    ck_assert_int_eq(kfk_err_is_retriable(KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION),
                     1);
    const kfk__err_desc *d =
        kfk__err_desc_get(KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(d->code, 3);
    ck_assert_int_eq(d->retriable, 1);

    /* Retriable as the Java client classifies them. */
    ck_assert_int_eq(kfk_err_is_retriable(KFK_ERR_NOT_LEADER_OR_FOLLOWER), 1);
    ck_assert_int_eq(kfk_err_is_retriable(KFK_ERR_REQUEST_TIMED_OUT), 1);
    ck_assert_int_eq(kfk_err_is_retriable(KFK_ERR_OFFSET_OUT_OF_RANGE), 0);

    ck_assert_int_eq(KFK_ERR__MALFORMED, -100);
    ck_assert_str_eq(kfk_err_name(KFK_ERR__MALFORMED), "_MALFORMED");
    ck_assert_str_eq(kfk_err_name(KFK_ERR__TIMED_OUT), "_TIMED_OUT");
    ck_assert_str_eq(kfk_err_name(KFK_ERR__TRUNCATED), "_TRUNCATED");
}
END_TEST

static Suite *error_suite(void)
{
    Suite *s = suite_create("error");
    TCase *tc = tcase_create("error");
    tcase_add_test(tc, total_functions);
    tcase_add_test(tc, defined_iff_named);
    tcase_add_test(tc, every_entry);
    tcase_add_test(tc, local_range_complete);
    tcase_add_test(tc, spot_values);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(error_suite)
