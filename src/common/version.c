/* version.c: kfk_version(), so a binding can check what it loaded. */
#include <kfk/common.h>

const char *kfk_version(void)
{
    return KFK_VERSION_STR;
}
