/* protodyn.h - a .proto given at run time (libprotobuf's parser behind a C
 * API): its methods, and the proto3 JSON mapping of their messages, for the
 * gRPC trigger.
 *
 * Ownership: a protodyn owns everything parsed from the .proto text and its
 * imports; free it with protodyn_free. Strings handed out (*path) are heap
 * (free()); buffers are the caller's. Functions return 0 or a TC_ERR_* code
 * and write out-parameters only on success. */
#ifndef TC_PROTODYN_H
#define TC_PROTODYN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" { /* the project's C headers too, for protodyn.cc */
#endif

#include "core/buf.h"
#include "core/error.h"

#define PROTODYN_MAX_TEXT ((size_t)4 << 20) /* bytes of one .proto */

typedef struct protodyn protodyn;

/* Parses proto_text (named `name` in errors). Imports are read from dir
 * (NULL: none), then the standard system include directories, then the
 * well-known types built into libprotobuf (google/protobuf/timestamp.proto
 * and the others). Returns 0 and *out, or TC_ERR_INPUT with e
 * "FILE:LINE:COL: message" (line/col of the first error also in e),
 * TC_ERR_LIMIT or TC_ERR_NOMEM. */
int protodyn_load(const char *name, const char *proto_text, const char *dir, protodyn **out, tc_error *e);

/* Frees p and sets *p to NULL. Accepts NULL. */
void protodyn_free(protodyn **p);

/* Finds "package.Service.Method" (also "package.Service/Method" and
 * "/package.Service/Method") among the services of the loaded file.
 * Returns 0 with *path (heap, "/package.Service/Method") and the method's
 * kind; or TC_ERR_INPUT with e listing the methods there are. Any of path,
 * server_streaming, client_streaming may be NULL. */
int protodyn_method(protodyn *p, const char *method, char **path, bool *server_streaming,
                    bool *client_streaming, tc_error *e);

/* Maps json[0..len) (proto3 JSON mapping; empty or blank: the empty
 * message) to the serialized input message of the method, appended to out.
 * Unknown fields are errors. Returns 0, or TC_ERR_INPUT with e naming the
 * field path ("request: items[1].name: ..."), or the method's error. */
int protodyn_encode_request(protodyn *p, const char *method, const char *json, size_t len, tc_buf *out,
                            tc_error *e);

/* Maps a serialized output message of the method to JSON, appended to out:
 * lowerCamelCase JSON names, fields at their defaults printed, two-space
 * indentation, as Tracetest prints a gRPC response. Returns 0, or
 * TC_ERR_INPUT when msg is not such a message, TC_ERR_LIMIT when out is full. */
int protodyn_decode_response(protodyn *p, const char *method, const uint8_t *msg, size_t len, tc_buf *out,
                             tc_error *e);

/* As protodyn_decode_response for the method's input message (tests and the
 * fuzz harness round-trip requests with it). */
int protodyn_decode_request(protodyn *p, const char *method, const uint8_t *msg, size_t len, tc_buf *out,
                            tc_error *e);

#ifdef __cplusplus
}
#endif

#endif
