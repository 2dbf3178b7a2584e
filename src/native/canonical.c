/* See canonical.h. */
#include "canonical.h"

#include <math.h>
#include <stdlib.h>

#define MAX_SAFE 9007199254740991LL
#define MAX_DEPTH 256

int clear_if_refusal(void) {
    if (PyErr_ExceptionMatches(PyExc_TypeError) || PyErr_ExceptionMatches(PyExc_ValueError)
        || PyErr_ExceptionMatches(PyExc_IndexError)
        || PyErr_ExceptionMatches(PyExc_OverflowError)) {
        PyErr_Clear();
        return 1;
    }
    return 0;
}

int put_str(Buf *buf, PyObject *text) {
    Py_ssize_t n;
    const char *utf8 = PyUnicode_AsUTF8AndSize(text, &n);
    if (utf8 == NULL) {
        return clear_if_refusal() ? TK_BAIL : TK_ERROR; /* UnicodeEncodeError: a ValueError */
    }
    return buf_json_string(buf, utf8, n);
}

static int key_sorts_as_utf16(PyObject *key) {
    int kind = PyUnicode_KIND(key);
    if (kind == PyUnicode_1BYTE_KIND) {
        return 1;
    }
    const void *data = PyUnicode_DATA(key);
    Py_ssize_t n = PyUnicode_GET_LENGTH(key);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PyUnicode_READ(kind, data, i) >= 0xE000) {
            return 0;
        }
    }
    return 1;
}

static int put_int(Buf *buf, PyObject *value) {
    int overflow;
    long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow || number > MAX_SAFE || number < -MAX_SAFE) {
        return TK_BAIL;
    }
    if (number == -1 && PyErr_Occurred()) {
        return TK_ERROR;
    }
    return buf_int(buf, number);
}

static int put_zeros(Buf *buf, int count) {
    for (int i = 0; i < count; i++) {
        if (BUF_LITERAL(buf, "0") < 0) {
            return TK_ERROR;
        }
    }
    return TK_OK;
}

/* A double as ECMAScript's Number::toString writes it (RFC 8785 section 3.2.2.3): the
 * shortest digits that read back as the same double (Python's repr gives those), then
 * placed by the rules of ECMA-262 section 6.1.6.1.20. */
static int put_float(Buf *buf, PyObject *value) {
    double number = PyFloat_AS_DOUBLE(value);
    if (!isfinite(number)) {
        return TK_BAIL;
    }
    if (number == 0.0) {
        return BUF_LITERAL(buf, "0"); /* -0 too */
    }
    char *repr = PyOS_double_to_string(number, 'r', 0, 0, NULL);
    if (repr == NULL) {
        return TK_ERROR;
    }
    char digits[32];
    int count = 0, point = -1, exponent = 0, negative = 0, status = TK_OK;
    const char *at = repr;
    if (*at == '-') {
        negative = 1;
        at++;
    }
    for (; *at && status == TK_OK; at++) {
        if (*at >= '0' && *at <= '9') {
            if (count == (int)sizeof(digits)) {
                status = TK_BAIL;
            } else {
                digits[count++] = *at;
            }
        } else if (*at == '.') {
            point = count;
        } else if (*at == 'e') {
            exponent = atoi(at + 1);
            break;
        } else {
            status = TK_BAIL;
        }
    }
    PyMem_Free(repr);
    if (status != TK_OK || count == 0) {
        return TK_BAIL;
    }
    if (point < 0) {
        point = count;
    }
    int lead = 0;
    while (lead < count - 1 && digits[lead] == '0') {
        lead++;
    }
    const char *d = digits + lead;
    int k = count - lead;
    while (k > 1 && d[k - 1] == '0') {
        k--;
    }
    int n = point + exponent - lead; /* the value is 0.d[0]d[1]... x 10**n */
    if (negative && BUF_LITERAL(buf, "-") < 0) {
        return TK_ERROR;
    }
    if (k <= n && n <= 21) {
        if (buf_put(buf, d, k) < 0 || put_zeros(buf, n - k) < 0) {
            return TK_ERROR;
        }
        return TK_OK;
    }
    if (0 < n && n <= 21) {
        if (buf_put(buf, d, n) < 0 || BUF_LITERAL(buf, ".") < 0
            || buf_put(buf, d + n, k - n) < 0) {
            return TK_ERROR;
        }
        return TK_OK;
    }
    if (-6 < n && n <= 0) {
        if (BUF_LITERAL(buf, "0.") < 0 || put_zeros(buf, -n) < 0 || buf_put(buf, d, k) < 0) {
            return TK_ERROR;
        }
        return TK_OK;
    }
    int e = n - 1;
    if (buf_put(buf, d, 1) < 0 || (k > 1 && (BUF_LITERAL(buf, ".") < 0
                                               || buf_put(buf, d + 1, k - 1) < 0))
        || buf_put(buf, e < 0 ? "e-" : "e+", 2) < 0) {
        return TK_ERROR;
    }
    return buf_int(buf, e < 0 ? -e : e);
}

static int put_list(Buf *buf, PyObject *list, int depth) {
    if (BUF_LITERAL(buf, "[") < 0) {
        return TK_ERROR;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++) {
        if (i && BUF_LITERAL(buf, ",") < 0) {
            return TK_ERROR;
        }
        int status = put_canonical(buf, PyList_GET_ITEM(list, i), depth + 1);
        if (status != TK_OK) {
            return status;
        }
    }
    return BUF_LITERAL(buf, "]");
}

static int put_dict(Buf *buf, PyObject *dict, int depth) {
    PyObject *keys = PyDict_Keys(dict);
    if (keys == NULL) {
        return TK_ERROR;
    }
    int status = TK_OK;
    Py_ssize_t n = PyList_GET_SIZE(keys);
    for (Py_ssize_t i = 0; i < n && status == TK_OK; i++) {
        PyObject *key = PyList_GET_ITEM(keys, i);
        if (!PyUnicode_CheckExact(key) || !key_sorts_as_utf16(key)) {
            status = TK_BAIL;
        }
    }
    if (status == TK_OK && n > 1 && PyList_Sort(keys) < 0) {
        status = TK_ERROR;
    }
    if (status == TK_OK) {
        status = BUF_LITERAL(buf, "{");
    }
    for (Py_ssize_t i = 0; i < n && status == TK_OK; i++) {
        PyObject *key = PyList_GET_ITEM(keys, i);
        PyObject *item = PyDict_GetItemWithError(dict, key); /* borrowed */
        if (item == NULL) {
            status = PyErr_Occurred() ? TK_ERROR : TK_BAIL;
            break;
        }
        if (i) {
            status = BUF_LITERAL(buf, ",");
        }
        if (status == TK_OK) {
            status = put_str(buf, key);
        }
        if (status == TK_OK) {
            status = BUF_LITERAL(buf, ":");
        }
        if (status == TK_OK) {
            Py_INCREF(item);
            status = put_canonical(buf, item, depth + 1);
            Py_DECREF(item);
        }
    }
    if (status == TK_OK) {
        status = BUF_LITERAL(buf, "}");
    }
    Py_DECREF(keys);
    return status;
}

int put_canonical(Buf *buf, PyObject *value, int depth) {
    if (depth > MAX_DEPTH) {
        return TK_BAIL;
    }
    if (value == Py_None) {
        return BUF_LITERAL(buf, "null");
    }
    if (value == Py_True) {
        return BUF_LITERAL(buf, "true");
    }
    if (value == Py_False) {
        return BUF_LITERAL(buf, "false");
    }
    if (PyUnicode_CheckExact(value)) {
        return put_str(buf, value);
    }
    if (PyLong_CheckExact(value)) {
        return put_int(buf, value);
    }
    if (PyFloat_CheckExact(value)) {
        return put_float(buf, value);
    }
    if (PyList_CheckExact(value)) {
        return put_list(buf, value, depth);
    }
    if (PyDict_CheckExact(value)) {
        return put_dict(buf, value, depth);
    }
    return TK_BAIL;
}
