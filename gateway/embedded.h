/*
 * Files compiled into the gateway library at build time (cmake/embed.cmake), so the daemon
 * serves them without reading anything from disk at run time. Each array is followed by a NUL
 * that its _len does not count. Private to gateway/.
 */
#ifndef CORRIDOR_EMBEDDED_H
#define CORRIDOR_EMBEDDED_H

#include <stddef.h>

/* docs/openapi.yaml, served at GET /openapi.yaml */
extern const unsigned char gw_openapi_yaml[];
extern const size_t gw_openapi_yaml_len;

#endif
