/*
 * kfk/common.h: what every public header needs: the export macro and the
 * library version. Include <kfk/kfk.h> rather than this file.
 */
#ifndef KFK_COMMON_H
#define KFK_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(KFK_BUILDING) && defined(__GNUC__)
#define KFK_API __attribute__((visibility("default")))
#else
#define KFK_API
#endif

#define KFK_VERSION_MAJOR 0
#define KFK_VERSION_MINOR 1
#define KFK_VERSION_PATCH 0
#define KFK_VERSION_STR "0.1.0"

/* The library's version as "MAJOR.MINOR.PATCH". Any thread. Static string. */
KFK_API const char *kfk_version(void);

#endif
