/*
 * kfk/kfk.h: the umbrella header. Applications include this one file.
 */
#ifndef KFK_KFK_H
#define KFK_KFK_H

#include <kfk/common.h>
#include <kfk/error.h>
#include <kfk/conf.h>
#include <kfk/client.h>
#include <kfk/producer.h>
#include <kfk/consumer.h>

#endif
