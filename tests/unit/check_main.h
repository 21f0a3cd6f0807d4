/*
 * check_main.h: the main() every unit-test executable shares. Each test
 * file defines one suite function and ends with KFK_CHECK_MAIN(name).
 */
#ifndef KFK_TEST_CHECK_MAIN_H
#define KFK_TEST_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

#define KFK_CHECK_MAIN(suite_fn)                                               \
    int main(void)                                                             \
    {                                                                          \
        SRunner *sr = srunner_create(suite_fn());                              \
        srunner_run_all(sr, CK_NORMAL);                                        \
        int failed = srunner_ntests_failed(sr);                                \
        srunner_free(sr);                                                      \
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;                           \
    }

#endif
