/* A growable byte buffer and the JSON pieces written into it: strings escaped as JSON
 * (and RFC 8785) escape them, integers, and trailkeeper's one timestamp form. */
#ifndef TRAILKEEPER_JSONBUF_H
#define TRAILKEEPER_JSONBUF_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    char *data;
    Py_ssize_t len;
    Py_ssize_t cap;
} Buf;

/* Outcomes of a writer: done, or "not mine to answer" (the caller answers None and the
 * Python path decides), or a Python error already set (raised to the caller). */
enum { TK_OK = 0, TK_BAIL = 1, TK_ERROR = -1 };

int buf_init(Buf *buf, Py_ssize_t cap);
void buf_free(Buf *buf);
int buf_reserve(Buf *buf, Py_ssize_t more);

static inline int buf_put(Buf *buf, const char *bytes, Py_ssize_t n) {
    if (buf->len + n > buf->cap && buf_reserve(buf, n) < 0) {
        return TK_ERROR;
    }
    memcpy(buf->data + buf->len, bytes, (size_t)n);
    buf->len += n;
    return TK_OK;
}

#define BUF_LITERAL(buf, text) buf_put((buf), (text), (Py_ssize_t)(sizeof(text) - 1))

/* UTF-8 text as a JSON string: '"', '\\' and control characters escaped (\b \t \n \f \r,
 * else \u00xx), every other byte as it is: what orjson writes and RFC 8785 asks. */
int buf_json_string(Buf *buf, const char *text, Py_ssize_t n);

/* A decimal integer. */
int buf_int(Buf *buf, long long value);

/* ``"YYYY-MM-DDTHH:MM:SS.ffffffZ"`` (a JSON string) of microseconds since 1970 (UTC), or
 * TK_BAIL outside the years 1 to 9999 (where Python's datetime, the reference, refuses too). */
int buf_timestamp(Buf *buf, long long micros);

/* A Python int (exactly) of at most 64 bits into ``out``; TK_BAIL for anything else. */
int read_int64(PyObject *value, long long *out);

/* Whether n bytes are valid UTF-8 (no surrogates, no overlong forms): what Python's
 * decoder accepts. */
int valid_utf8(const unsigned char *text, Py_ssize_t n);

#endif
