/* RFC 8785 (JCS) encoding of the JSON values orjson.loads gives. */
#ifndef TRAILKEEPER_CANONICAL_H
#define TRAILKEEPER_CANONICAL_H

#include "jsonbuf.h"

/* Append the JCS bytes of ``value`` (None, bool, str, int, float, list, dict of exactly
 * those types), floats as ECMAScript writes numbers. TK_BAIL for what the reference must judge: another type, an integer beyond
 * 2**53 - 1, a str that is not valid UTF-8 (a lone surrogate), an object key holding a
 * character at or above U+E000 (where UTF-16 order, JCS's, may differ from code point
 * order), nesting deeper than 256, or a float the reference refuses. */
int put_canonical(Buf *buf, PyObject *value, int depth);

/* A Python str as a JSON string; TK_BAIL if it is not valid UTF-8. */
int put_str(Buf *buf, PyObject *text);

/* Whether the pending Python error is one the Python path answers None for (TypeError,
 * ValueError, IndexError, OverflowError): then it is cleared. */
int clear_if_refusal(void);

#endif
