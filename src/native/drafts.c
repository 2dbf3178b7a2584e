/* draft_leaf: ingest's pii commitment and leaf pieces (trailkeeper.events.record's
 * draft_leaf_python) in C, written by the same canonical encoder verify's encode_rows uses.
 *
 * It answers None for an event the Python path must judge (a value put_canonical declines,
 * or an integral float of magnitude 2**63 or more, which ingest refuses), so every answer
 * is the Python path's (tests/property/test_draft_leaf.py). */
#include "drafts.h"

#include <math.h>

#include "canonical.h"

#define FLOAT_INT_LIMIT 9223372036854775808.0 /* 2**63 */

enum {
    A_SALT, A_SHA256, A_ACTION, A_ACTOR_ID, A_ACTOR_TYPE, A_NAME, A_EMAIL, A_CATEGORY,
    A_CHANGES, A_ID, A_METADATA, A_OCCURRED_AT, A_IP, A_USER_AGENT, A_RESOURCE_TYPE,
    A_RESOURCE_ID, A_RESOURCE_NAME, A_RUN, A_SOURCE, A_COUNT
};

/* TK_BAIL where check_exact_numbers would refuse: an integral float >= 2**63 in magnitude. */
static int exact_numbers(PyObject *value, int depth) {
    if (depth > 256) {
        return TK_BAIL;
    }
    if (PyFloat_CheckExact(value)) {
        double number = PyFloat_AS_DOUBLE(value);
        return fabs(number) >= FLOAT_INT_LIMIT && number == floor(number) ? TK_BAIL : TK_OK;
    }
    if (PyList_CheckExact(value)) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++) {
            if (exact_numbers(PyList_GET_ITEM(value, i), depth + 1) != TK_OK) {
                return TK_BAIL;
            }
        }
    } else if (PyDict_CheckExact(value)) {
        Py_ssize_t at = 0;
        PyObject *key, *item;
        while (PyDict_Next(value, &at, &key, &item)) {
            if (exact_numbers(item, depth + 1) != TK_OK) {
                return TK_BAIL;
            }
        }
    }
    return TK_OK;
}

/* ``key`` then the canonical value, unless the value is None. */
static int put_member(Buf *buf, const char *key, Py_ssize_t n, PyObject *value) {
    if (value == Py_None) {
        return TK_OK;
    }
    if (buf_put(buf, key, n) < 0) {
        return TK_ERROR;
    }
    return put_canonical(buf, value, 1);
}

#define MEMBER(buf, key, value) put_member((buf), (key), (Py_ssize_t)(sizeof(key) - 1), (value))

/* The hex pii commitment: sha256(salt || JCS of the personal data present). */
static PyObject *pii_hex(PyObject *const *args, int *status) {
    Buf buf = {NULL, 0, 0};
    if (buf_init(&buf, 256) < 0) {
        *status = TK_ERROR;
        return NULL;
    }
    PyObject *salt = args[A_SALT];
    *status = buf_put(&buf, PyBytes_AS_STRING(salt), PyBytes_GET_SIZE(salt));
    Py_ssize_t opened = buf.len;
    if (*status == TK_OK) {
        *status = BUF_LITERAL(&buf, "{");
    }
    static const char *const keys[] = {",\"email\":", ",\"ip\":", ",\"name\":", ",\"user_agent\":"};
    const int order[] = {A_EMAIL, A_IP, A_NAME, A_USER_AGENT};
    for (int i = 0; i < 4 && *status == TK_OK; i++) {
        PyObject *value = args[order[i]];
        if (value == Py_None) {
            continue;
        }
        const char *key = keys[i] + (buf.len == opened + 1); /* no comma after "{" */
        *status = buf_put(&buf, key, (Py_ssize_t)strlen(key));
        if (*status == TK_OK) {
            *status = put_canonical(&buf, value, 1);
        }
    }
    if (*status == TK_OK) {
        *status = BUF_LITERAL(&buf, "}");
    }
    PyObject *hex = NULL;
    if (*status == TK_OK) {
        PyObject *data = PyBytes_FromStringAndSize(buf.data, buf.len);
        PyObject *hasher = data == NULL ? NULL : PyObject_CallOneArg(args[A_SHA256], data);
        Py_XDECREF(data);
        hex = hasher == NULL ? NULL : PyObject_CallMethod(hasher, "hexdigest", NULL);
        Py_XDECREF(hasher);
        if (hex == NULL) {
            *status = TK_ERROR;
        }
    }
    buf_free(&buf);
    return hex;
}

/* 0x00, then the leaf's members before "received_at", then ',"received_at":'. */
static int put_head(Buf *buf, PyObject *const *args, PyObject *pii) {
    int status;
    if ((status = BUF_LITERAL(buf, "\0{\"action\":")) != TK_OK
        || (status = put_canonical(buf, args[A_ACTION], 1)) != TK_OK
        || (status = BUF_LITERAL(buf, ",\"actor\":{\"id\":")) != TK_OK
        || (status = put_canonical(buf, args[A_ACTOR_ID], 2)) != TK_OK
        || (status = BUF_LITERAL(buf, ",\"type\":")) != TK_OK
        || (status = put_canonical(buf, args[A_ACTOR_TYPE], 2)) != TK_OK
        || (status = BUF_LITERAL(buf, "},\"category\":")) != TK_OK
        || (status = put_canonical(buf, args[A_CATEGORY], 1)) != TK_OK
        || (status = MEMBER(buf, ",\"changes\":", args[A_CHANGES])) != TK_OK
        || (status = BUF_LITERAL(buf, ",\"id\":")) != TK_OK
        || (status = put_canonical(buf, args[A_ID], 1)) != TK_OK
        || (status = MEMBER(buf, ",\"metadata\":", args[A_METADATA])) != TK_OK
        || (status = BUF_LITERAL(buf, ",\"occurred_at\":")) != TK_OK
        || (status = put_canonical(buf, args[A_OCCURRED_AT], 1)) != TK_OK
        || (status = BUF_LITERAL(buf, ",\"pii\":")) != TK_OK
        || (status = put_canonical(buf, pii, 1)) != TK_OK) {
        return status;
    }
    return BUF_LITERAL(buf, ",\"received_at\":");
}

/* ',' then the members between "received_at" and "seq" (resource, run), then '"seq":'. */
static int put_middle(Buf *buf, PyObject *const *args) {
    int status = BUF_LITERAL(buf, ",");
    if (status == TK_OK && args[A_RESOURCE_TYPE] != Py_None) {
        if ((status = BUF_LITERAL(buf, "\"resource\":{\"id\":")) != TK_OK
            || (status = put_canonical(buf, args[A_RESOURCE_ID], 2)) != TK_OK
            || (status = MEMBER(buf, ",\"name\":", args[A_RESOURCE_NAME])) != TK_OK
            || (status = BUF_LITERAL(buf, ",\"type\":")) != TK_OK
            || (status = put_canonical(buf, args[A_RESOURCE_TYPE], 2)) != TK_OK
            || (status = BUF_LITERAL(buf, "},")) != TK_OK) {
            return status;
        }
    }
    if (status == TK_OK && args[A_RUN] != Py_None) {
        if ((status = BUF_LITERAL(buf, "\"run\":")) != TK_OK
            || (status = put_canonical(buf, args[A_RUN], 1)) != TK_OK
            || (status = BUF_LITERAL(buf, ",")) != TK_OK) {
            return status;
        }
    }
    return status == TK_OK ? BUF_LITERAL(buf, "\"seq\":") : status;
}

static int put_tail(Buf *buf, PyObject *const *args) {
    int status;
    if ((status = BUF_LITERAL(buf, ",\"source\":")) != TK_OK
        || (status = put_canonical(buf, args[A_SOURCE], 1)) != TK_OK) {
        return status;
    }
    return BUF_LITERAL(buf, "}");
}

static PyObject *bytes_of(Buf *buf) {
    return PyBytes_FromStringAndSize(buf->data, buf->len);
}

/* (pii, (head, middle, tail)), or None where the Python path must judge. */
static PyObject *draft_leaf(PyObject *const *args, PyObject *pii) {
    Buf head = {NULL, 0, 0}, middle = {NULL, 0, 0}, tail = {NULL, 0, 0};
    int status = TK_OK;
    if (buf_init(&head, 512) < 0 || buf_init(&middle, 256) < 0 || buf_init(&tail, 32) < 0) {
        status = TK_ERROR;
    }
    if (status == TK_OK) {
        status = put_head(&head, args, pii);
    }
    if (status == TK_OK) {
        status = put_middle(&middle, args);
    }
    if (status == TK_OK) {
        status = put_tail(&tail, args);
    }
    PyObject *out = NULL;
    if (status == TK_OK) {
        out = Py_BuildValue("(O(NNN))", pii, bytes_of(&head), bytes_of(&middle), bytes_of(&tail));
    } else if (status == TK_BAIL) {
        out = Py_NewRef(Py_None);
    }
    buf_free(&head);
    buf_free(&middle);
    buf_free(&tail);
    return out;
}

PyObject *tk_draft_leaf(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != A_COUNT || !PyBytes_CheckExact(args[A_SALT])) {
        PyErr_SetString(PyExc_TypeError,
                        "draft_leaf(salt: bytes, sha256, action, actor_id, actor_type, name, "
                        "email, category, changes, id, metadata, occurred_at, ip, user_agent, "
                        "resource_type, resource_id, resource_name, run, source)");
        return NULL;
    }
    const int free_form[] = {A_CHANGES, A_METADATA, A_RUN};
    for (int i = 0; i < 3; i++) {
        if (exact_numbers(args[free_form[i]], 0) != TK_OK) {
            Py_RETURN_NONE;
        }
    }
    int status;
    PyObject *pii = pii_hex(args, &status);
    if (status == TK_BAIL) {
        Py_RETURN_NONE;
    }
    if (pii == NULL) {
        return NULL;
    }
    PyObject *out = draft_leaf(args, pii);
    Py_DECREF(pii);
    return out;
}
