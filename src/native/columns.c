/* export_columns: a batch of raw export rows as the buffers of Arrow columns, in C.
 *
 * pyarrow converts row tuples value by value with the GIL held, while the reader thread needs
 * the GIL to build the next rows; this builds the same columns in one pass. For each column of
 * trailkeeper.storage.exportrows.EXPORT_ROW_COLUMNS it returns, for an integer column, the
 * int64 values' bytes; for a text column, (validity bitmap or None, null count, int32
 * offsets, data) — what pa.Array.from_buffers takes. It answers None where a value is not
 * what the layout says (trailkeeper.exports.rows.row_columns then converts the batch), and
 * tests/property/test_export_rows.py checks the columns equal pyarrow's. */
#include "columns.h"

#include "layout.h"

#define COLUMNS E_COUNT

static const int INTEGER_COLUMN[COLUMNS] = {
    [E_SEQ] = 1, [E_OCCURRED_AT] = 1, [E_RECEIVED_AT] = 1,
};

typedef struct {
    Buf data;
    Buf offsets;
    Buf validity;
    Py_ssize_t nulls;
} Column;

static int bytes_of(Buf *buf, PyObject **out) {
    *out = PyBytes_FromStringAndSize(buf->data, buf->len);
    return *out == NULL ? TK_ERROR : TK_OK;
}

static PyObject *column_tuple(Column *column, int integer) {
    PyObject *data = NULL, *offsets = NULL, *validity = NULL;
    if (bytes_of(&column->data, &data) < 0) {
        return NULL;
    }
    if (integer) {
        return data;
    }
    if (bytes_of(&column->offsets, &offsets) < 0) {
        Py_DECREF(data);
        return NULL;
    }
    if (column->nulls == 0) {
        validity = Py_NewRef(Py_None);
    } else if (bytes_of(&column->validity, &validity) < 0) {
        Py_DECREF(data);
        Py_DECREF(offsets);
        return NULL;
    }
    return Py_BuildValue("(NnNN)", validity, column->nulls, offsets, data);
}

PyObject *tk_export_columns(PyObject *module, PyObject *rows_arg) {
    (void)module;
#if PY_BIG_ENDIAN
    (void)rows_arg;
    Py_RETURN_NONE; /* Arrow's buffers are little-endian */
#endif
    PyObject *rows = PySequence_Fast(rows_arg, "rows must be a sequence");
    if (rows == NULL) {
        return NULL;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(rows);
    Column columns[COLUMNS];
    memset(columns, 0, sizeof(columns));
    int status = TK_OK;
    Py_ssize_t bitmap = (count + 7) / 8;
    for (int c = 0; c < COLUMNS && status == TK_OK; c++) {
        Column *column = &columns[c];
        if (INTEGER_COLUMN[c]) {
            status = buf_init(&column->data, 8 * count + 8);
            continue;
        }
        status = buf_init(&column->data, 32 * count + 8);
        if (status == TK_OK) {
            status = buf_init(&column->offsets, 4 * (count + 1));
        }
        if (status == TK_OK) {
            status = buf_init(&column->validity, bitmap + 1);
        }
        if (status == TK_OK) {
            memset(column->validity.data, 0xff, (size_t)bitmap);
            column->validity.len = bitmap;
            int32_t zero = 0;
            status = buf_put(&column->offsets, (const char *)&zero, 4);
        }
    }
    for (Py_ssize_t i = 0; i < count && status == TK_OK; i++) {
        PyObject *row = PySequence_Fast_GET_ITEM(rows, i);
        if (!PyTuple_CheckExact(row) || PyTuple_GET_SIZE(row) != COLUMNS) {
            status = TK_BAIL;
            break;
        }
        for (int c = 0; c < COLUMNS && status == TK_OK; c++) {
            PyObject *value = PyTuple_GET_ITEM(row, c);
            Column *column = &columns[c];
            if (INTEGER_COLUMN[c]) {
                long long number;
                status = read_int64(value, &number);
                if (status == TK_OK) {
                    int64_t stored = number;
                    status = buf_put(&column->data, (const char *)&stored, 8);
                }
                continue;
            }
            if (value == Py_None) {
                column->validity.data[i / 8] &= (char)~(1u << (i % 8));
                column->nulls++;
            } else if (PyBytes_CheckExact(value)) {
                status = buf_put(&column->data, PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value));
            } else {
                status = TK_BAIL;
            }
            if (status == TK_OK && column->data.len > INT32_MAX) {
                status = TK_BAIL; /* beyond int32 offsets: pyarrow's chunked arrays handle it */
            }
            if (status == TK_OK) {
                int32_t end = (int32_t)column->data.len;
                status = buf_put(&column->offsets, (const char *)&end, 4);
            }
        }
    }
    Py_DECREF(rows);
    PyObject *out = NULL;
    if (status == TK_OK) {
        out = PyList_New(COLUMNS);
        for (int c = 0; c < COLUMNS && out != NULL; c++) {
            PyObject *item = column_tuple(&columns[c], INTEGER_COLUMN[c]);
            if (item == NULL) {
                Py_CLEAR(out);
            } else {
                PyList_SET_ITEM(out, c, item);
            }
        }
    } else if (status == TK_BAIL) {
        out = Py_NewRef(Py_None);
    }
    for (int c = 0; c < COLUMNS; c++) {
        buf_free(&columns[c].data);
        buf_free(&columns[c].offsets);
        buf_free(&columns[c].validity);
    }
    return out;
}
