/* encode_rows: verify's hot loop (trailkeeper.events.leaves.encode_rows_python) in C.
 *
 * For each raw row (trailkeeper.events.leaves.ROW_COLUMNS) it writes the leaf L of
 * CONTRACT section 8 as canonical JSON and checks the row's pii commitment; it answers
 * None for the whole batch as soon as a row is one the Python path must judge, so every
 * answer is the Python path's (tests/property/test_leaves.py). */
#include "leaves.h"

#include "canonical.h"

#include "layout.h"

typedef struct {
    PyObject *loads;
    PyObject *fromhex;
    PyObject *sha256;
    long long epoch;
} Tools;

static int put_key_str(Buf *buf, const char *key, Py_ssize_t n, PyObject *value) {
    if (buf_put(buf, key, n) < 0) {
        return TK_ERROR;
    }
    return put_str(buf, value);
}

#define KEY_STR(buf, key, value) put_key_str((buf), (key), (Py_ssize_t)(sizeof(key) - 1), (value))

static int put_stamp(Buf *buf, PyObject *micros, long long epoch) {
    long long value, moved;
    int status = read_int64(micros, &value);
    if (status != TK_OK || __builtin_add_overflow(value, epoch, &moved)) {
        return TK_BAIL;
    }
    return buf_timestamp(buf, moved);
}

/* A stored free-form part: parsed (loads), then written canonically under ``key`` unless
 * absent or JSON null. */
static int put_part(Buf *buf, const char *key, Py_ssize_t n, PyObject *text, const Tools *tools) {
    if (text == Py_None) {
        return TK_OK;
    }
    PyObject *value = PyObject_CallOneArg(tools->loads, text);
    if (value == NULL) {
        return clear_if_refusal() ? TK_BAIL : TK_ERROR;
    }
    int status = TK_OK;
    if (value != Py_None) {
        status = buf_put(buf, key, n);
        if (status == TK_OK) {
            status = put_canonical(buf, value, 1);
        }
    }
    Py_DECREF(value);
    return status;
}

#define PART(buf, key, text, tools) put_part((buf), (key), (Py_ssize_t)(sizeof(key) - 1), (text), (tools))

/* ``{"k":v,...}`` of the values that are not None, under their keys (given in JCS order,
 * with their quotes and colon); with ``text_only`` a value that is not a str is TK_BAIL. */
static int put_present(Buf *buf, const char *const *keys, PyObject *const *values, int count,
                       int text_only) {
    int status = BUF_LITERAL(buf, "{");
    int first = 1;
    for (int i = 0; i < count && status == TK_OK; i++) {
        if (values[i] == Py_None) {
            continue;
        }
        if (text_only && !PyUnicode_CheckExact(values[i])) {
            return TK_BAIL;
        }
        if (!first) {
            status = BUF_LITERAL(buf, ",");
        }
        first = 0;
        if (status == TK_OK) {
            status = buf_put(buf, keys[i], (Py_ssize_t)strlen(keys[i]));
        }
        if (status == TK_OK) {
            status = put_canonical(buf, values[i], 2);
        }
    }
    return status == TK_OK ? BUF_LITERAL(buf, "}") : status;
}

static int put_resource(Buf *buf, PyObject *const *row) {
    if (row[C_RESOURCE_TYPE] == Py_None) {
        return TK_OK;
    }
    static const char *const keys[] = {"\"id\":", "\"name\":", "\"type\":"};
    PyObject *const values[] = {row[C_RESOURCE_ID], row[C_RESOURCE_NAME], row[C_RESOURCE_TYPE]};
    int status = BUF_LITERAL(buf, ",\"resource\":");
    return status == TK_OK ? put_present(buf, keys, values, 3, 0) : status;
}

static int put_leaf(Buf *buf, PyObject *const *row, const Tools *tools) {
    int status;
    if ((status = KEY_STR(buf, "{\"action\":", row[C_ACTION])) != TK_OK
        || (status = KEY_STR(buf, ",\"actor\":{\"id\":", row[C_ACTOR_ID])) != TK_OK
        || (status = KEY_STR(buf, ",\"type\":", row[C_ACTOR_TYPE])) != TK_OK
        || (status = KEY_STR(buf, "},\"category\":", row[C_CATEGORY])) != TK_OK
        || (status = PART(buf, ",\"changes\":", row[C_CHANGES], tools)) != TK_OK
        || (status = KEY_STR(buf, ",\"id\":", row[C_ID])) != TK_OK
        || (status = PART(buf, ",\"metadata\":", row[C_METADATA], tools)) != TK_OK
        || (status = BUF_LITERAL(buf, ",\"occurred_at\":")) != TK_OK
        || (status = put_stamp(buf, row[C_OCCURRED_AT], tools->epoch)) != TK_OK
        || (status = KEY_STR(buf, ",\"pii\":", row[C_PII])) != TK_OK
        || (status = BUF_LITERAL(buf, ",\"received_at\":")) != TK_OK
        || (status = put_stamp(buf, row[C_RECEIVED_AT], tools->epoch)) != TK_OK
        || (status = put_resource(buf, row)) != TK_OK
        || (status = PART(buf, ",\"run\":", row[C_RUN], tools)) != TK_OK) {
        return status;
    }
    if ((status = BUF_LITERAL(buf, ",\"seq\":")) != TK_OK
        || (status = put_canonical(buf, row[C_SEQ], 1)) != TK_OK /* within 2**53 */
        || (status = KEY_STR(buf, ",\"source\":", row[C_SOURCE])) != TK_OK) {
        return status;
    }
    return BUF_LITERAL(buf, "}");
}

/* The pii commitment: sha256(salt || orjson.dumps(personal data present)), in hex. */
static int check_pii(Buf *scratch, PyObject *const *row, const Tools *tools) {
    PyObject *salt = row[C_PII_SALT];
    static const char *const keys[] = {"\"email\":", "\"ip\":", "\"name\":", "\"user_agent\":"};
    PyObject *const values[] = {row[C_ACTOR_EMAIL], row[C_IP], row[C_ACTOR_NAME], row[C_USER_AGENT]};
    if (salt == Py_None) {
        for (int i = 0; i < 4; i++) {
            if (values[i] != Py_None) {
                return TK_BAIL; /* personal data without a salt */
            }
        }
        return TK_OK; /* erased */
    }
    PyObject *salt_bytes = PyObject_CallOneArg(tools->fromhex, salt);
    if (salt_bytes == NULL) {
        return clear_if_refusal() ? TK_BAIL : TK_ERROR;
    }
    scratch->len = 0;
    int status = buf_put(scratch, PyBytes_AS_STRING(salt_bytes), PyBytes_GET_SIZE(salt_bytes));
    Py_DECREF(salt_bytes);
    if (status == TK_OK) {
        status = put_present(scratch, keys, values, 4, 1);
    }
    if (status != TK_OK) {
        return status;
    }
    PyObject *data = PyBytes_FromStringAndSize(scratch->data, scratch->len);
    if (data == NULL) {
        return TK_ERROR;
    }
    PyObject *hasher = PyObject_CallOneArg(tools->sha256, data);
    Py_DECREF(data);
    if (hasher == NULL) {
        return TK_ERROR;
    }
    PyObject *hex = PyObject_CallMethod(hasher, "hexdigest", NULL);
    Py_DECREF(hasher);
    if (hex == NULL) {
        return TK_ERROR;
    }
    int equal = PyObject_RichCompareBool(hex, row[C_PII], Py_EQ);
    Py_DECREF(hex);
    if (equal < 0) {
        return TK_ERROR;
    }
    return equal ? TK_OK : TK_BAIL;
}

static int types_hold(PyObject *const *row) {
    return PyLong_CheckExact(row[C_SEQ]) && PyLong_CheckExact(row[C_RECEIVED_AT])
        && PyLong_CheckExact(row[C_OCCURRED_AT]) && PyUnicode_CheckExact(row[C_ID])
        && PyUnicode_CheckExact(row[C_ACTION]) && PyUnicode_CheckExact(row[C_CATEGORY])
        && PyUnicode_CheckExact(row[C_SOURCE]) && PyUnicode_CheckExact(row[C_ACTOR_ID])
        && PyUnicode_CheckExact(row[C_ACTOR_TYPE]) && PyUnicode_CheckExact(row[C_PII]);
}

PyObject *tk_encode_rows(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "encode_rows(rows, epoch, loads, fromhex, sha256)");
        return NULL;
    }
    Tools tools = {args[2], args[3], args[4], PyLong_AsLongLong(args[1])};
    if (tools.epoch == -1 && PyErr_Occurred()) {
        return NULL;
    }
    PyObject *rows = PySequence_Fast(args[0], "rows must be a sequence");
    if (rows == NULL) {
        return NULL;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(rows);
    PyObject *out = PyList_New(count);
    Buf buf = {NULL, 0, 0}, scratch = {NULL, 0, 0};
    int status = out == NULL ? TK_ERROR : TK_OK;
    if (status == TK_OK && (buf_init(&buf, 1024) < 0 || buf_init(&scratch, 256) < 0)) {
        status = TK_ERROR;
    }
    for (Py_ssize_t i = 0; i < count && status == TK_OK; i++) {
        PyObject *row = PySequence_Fast_GET_ITEM(rows, i);
        if (!PyTuple_CheckExact(row) || PyTuple_GET_SIZE(row) != C_COUNT) {
            status = TK_BAIL;
            break;
        }
        PyObject *const *items = &PyTuple_GET_ITEM(row, 0);
        if (!types_hold(items)) {
            status = TK_BAIL;
            break;
        }
        buf.len = 0;
        status = put_leaf(&buf, items, &tools);
        if (status == TK_OK) {
            status = check_pii(&scratch, items, &tools);
        }
        if (status == TK_OK) {
            PyObject *leaf = PyBytes_FromStringAndSize(buf.data, buf.len);
            if (leaf == NULL) {
                status = TK_ERROR;
            } else {
                PyList_SET_ITEM(out, i, leaf);
            }
        }
    }
    buf_free(&buf);
    buf_free(&scratch);
    Py_DECREF(rows);
    if (status == TK_OK) {
        return out;
    }
    Py_XDECREF(out);
    if (status == TK_ERROR) {
        return NULL;
    }
    Py_RETURN_NONE;
}
