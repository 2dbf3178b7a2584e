/* trailkeeper._native: hot loops in C, each beside the Python code it must equal
 * (Hypothesis proves they agree; trailkeeper runs without this module too). */
#include "bytecounts.h"
#include "drafts.h"
#include "jsonlines.h"
#include "layout.h"
#include "leaves.h"
#include "timestamps.h"

static PyMethodDef methods[] = {
    {"encode_rows", (PyCFunction)(void (*)(void))tk_encode_rows, METH_FASTCALL,
     "encode_rows(rows, epoch, loads, fromhex, sha256) -> list[bytes] | None"},
    {"draft_leaf", (PyCFunction)(void (*)(void))tk_draft_leaf, METH_FASTCALL,
     "draft_leaf(salt, sha256, action, ...) -> (pii, (head, middle, tail)) | None"},
    {"jsonl_block", (PyCFunction)tk_jsonl_block, METH_O,
     "jsonl_block(rows) -> bytes | None: export rows as JSON lines"},
    {"byte_counts", (PyCFunction)tk_byte_counts, METH_O,
     "byte_counts(text) -> (punctuation, colons, has_escape): a JSON text's bytes, counted"},
    {"rfc3339_utc", (PyCFunction)tk_rfc3339_utc, METH_O,
     "rfc3339_utc(text) -> (datetime, text) | None: a date-time with a UTC offset"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "trailkeeper._native", NULL, -1, methods, NULL, NULL, NULL, NULL,
};

/* LAYOUT: the row layout and C interface this build was made for (trailkeeper.rowlayout);
 * trailkeeper.speedups uses the module only when it is the running code's. */
PyMODINIT_FUNC PyInit__native(void) {
    if (tk_timestamps_init() < 0) {
        return NULL;
    }
    PyObject *made = PyModule_Create(&module);
    if (made != NULL && PyModule_AddIntConstant(made, "LAYOUT", TK_LAYOUT) < 0) {
        Py_DECREF(made);
        return NULL;
    }
    return made;
}
