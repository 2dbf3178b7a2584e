/* jsonl_block: an export batch's JSON lines straight from raw rows, in C.
 *
 * The rows are trailkeeper.storage.exportrows.EXPORT_ROW_COLUMNS (texts as UTF-8 bytes,
 * integers for seq and timestamps, the free-form parts as the JSON text stored). Each line
 * is what trailkeeper.exports.jsonlines.jsonl_block writes through Arrow: the API view plus
 * pii_salt, in the view's key order. Where a row is not of that shape (a text that is not
 * UTF-8, a timestamp outside the years 1-9999) the answer is None and the Arrow path
 * writes the batch (tests/property/test_export_rows.py checks both give the same bytes). */
#include "jsonlines.h"

#include "layout.h"

/* A text column's value: a JSON string, or null. */
static int put_text(Buf *buf, PyObject *value) {
    if (value == Py_None) {
        return BUF_LITERAL(buf, "null");
    }
    if (!PyBytes_CheckExact(value)) {
        return TK_BAIL;
    }
    const char *text = PyBytes_AS_STRING(value);
    Py_ssize_t n = PyBytes_GET_SIZE(value);
    for (Py_ssize_t i = 0; i < n; i++) {
        if ((unsigned char)text[i] >= 0x80) {
            if (!valid_utf8((const unsigned char *)text + i, n - i)) {
                return TK_BAIL;
            }
            break;
        }
    }
    return buf_json_string(buf, text, n);
}

/* A stored JSON part, as stored, or null. */
static int put_json(Buf *buf, PyObject *value) {
    if (value == Py_None) {
        return BUF_LITERAL(buf, "null");
    }
    if (!PyBytes_CheckExact(value)) {
        return TK_BAIL;
    }
    return buf_put(buf, PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value));
}

static int put_number(Buf *buf, PyObject *value) {
    long long number;
    int status = read_int64(value, &number);
    return status == TK_OK ? buf_int(buf, number) : status;
}

static int put_time(Buf *buf, PyObject *value) {
    long long micros;
    int status = read_int64(value, &micros);
    return status == TK_OK ? buf_timestamp(buf, micros) : status;
}

#define STEP(call)                 \
    if ((status = (call)) != TK_OK) { \
        return status;             \
    }

static int put_line(Buf *buf, PyObject *const *row) {
    int status;
    STEP(BUF_LITERAL(buf, "{\"id\":"));
    STEP(put_text(buf, row[E_ID]));
    STEP(BUF_LITERAL(buf, ",\"seq\":"));
    STEP(put_number(buf, row[E_SEQ]));
    STEP(BUF_LITERAL(buf, ",\"action\":"));
    STEP(put_text(buf, row[E_ACTION]));
    STEP(BUF_LITERAL(buf, ",\"category\":"));
    STEP(put_text(buf, row[E_CATEGORY]));
    STEP(BUF_LITERAL(buf, ",\"occurred_at\":"));
    STEP(put_time(buf, row[E_OCCURRED_AT]));
    STEP(BUF_LITERAL(buf, ",\"received_at\":"));
    STEP(put_time(buf, row[E_RECEIVED_AT]));
    STEP(BUF_LITERAL(buf, ",\"actor\":{\"id\":"));
    STEP(put_text(buf, row[E_ACTOR_ID]));
    STEP(BUF_LITERAL(buf, ",\"type\":"));
    STEP(put_text(buf, row[E_ACTOR_TYPE]));
    STEP(BUF_LITERAL(buf, ",\"name\":"));
    STEP(put_text(buf, row[E_ACTOR_NAME]));
    STEP(BUF_LITERAL(buf, ",\"email\":"));
    STEP(put_text(buf, row[E_ACTOR_EMAIL]));
    STEP(BUF_LITERAL(buf, "},\"resource\":"));
    if (row[E_RESOURCE_TYPE] == Py_None) {
        STEP(BUF_LITERAL(buf, "null"));
    } else {
        STEP(BUF_LITERAL(buf, "{\"type\":"));
        STEP(put_text(buf, row[E_RESOURCE_TYPE]));
        STEP(BUF_LITERAL(buf, ",\"id\":"));
        STEP(put_text(buf, row[E_RESOURCE_ID]));
        STEP(BUF_LITERAL(buf, ",\"name\":"));
        STEP(put_text(buf, row[E_RESOURCE_NAME]));
        STEP(BUF_LITERAL(buf, "}"));
    }
    STEP(BUF_LITERAL(buf, ",\"source\":"));
    STEP(put_text(buf, row[E_SOURCE]));
    STEP(BUF_LITERAL(buf, ",\"ip\":"));
    STEP(put_text(buf, row[E_IP]));
    STEP(BUF_LITERAL(buf, ",\"user_agent\":"));
    STEP(put_text(buf, row[E_USER_AGENT]));
    STEP(BUF_LITERAL(buf, ",\"changes\":"));
    STEP(put_json(buf, row[E_CHANGES]));
    STEP(BUF_LITERAL(buf, ",\"run\":"));
    STEP(put_json(buf, row[E_RUN]));
    STEP(BUF_LITERAL(buf, ",\"metadata\":"));
    STEP(put_json(buf, row[E_METADATA]));
    STEP(BUF_LITERAL(buf, ",\"pii\":"));
    STEP(put_text(buf, row[E_PII]));
    STEP(BUF_LITERAL(buf, ",\"leaf_hash\":"));
    STEP(put_text(buf, row[E_LEAF_HASH]));
    STEP(BUF_LITERAL(buf, ",\"pii_salt\":"));
    STEP(put_text(buf, row[E_PII_SALT]));
    return BUF_LITERAL(buf, "}\n");
}

PyObject *tk_jsonl_block(PyObject *module, PyObject *rows_arg) {
    (void)module;
    PyObject *rows = PySequence_Fast(rows_arg, "rows must be a sequence");
    if (rows == NULL) {
        return NULL;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(rows);
    Buf buf = {NULL, 0, 0};
    int status = buf_init(&buf, 512 * (count + 1));
    for (Py_ssize_t i = 0; i < count && status == TK_OK; i++) {
        PyObject *row = PySequence_Fast_GET_ITEM(rows, i);
        if (!PyTuple_CheckExact(row) || PyTuple_GET_SIZE(row) != E_COUNT) {
            status = TK_BAIL;
            break;
        }
        status = put_line(&buf, &PyTuple_GET_ITEM(row, 0));
    }
    Py_DECREF(rows);
    PyObject *out = NULL;
    if (status == TK_OK) {
        out = PyBytes_FromStringAndSize(buf.data, buf.len);
    } else if (status == TK_BAIL) {
        out = Py_NewRef(Py_None);
    }
    buf_free(&buf);
    return out;
}
