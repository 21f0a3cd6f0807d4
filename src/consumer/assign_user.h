/*
 * assign_user.h: a user assignor (kfk_conf_add_assignor) behind the
 * internal assignor interface.
 */
#ifndef KFK_CONSUMER_ASSIGN_USER_H
#define KFK_CONSUMER_ASSIGN_USER_H

#include "consumer/assignor.h"

typedef struct kfk__user_assignor {
    kfk__assignor as; /* what the group uses */
    char name[64];
    void (*cb)(void); /* kfk_assign_cb */
    void *opaque;
} kfk__user_assignor;

void kfk__user_assignor_init(kfk__user_assignor *ua, const char *name, int cooperative,
                             void (*cb)(void), void *opaque);

#endif
