#ifndef TRAILKEEPER_DRAFTS_H
#define TRAILKEEPER_DRAFTS_H
#include "jsonbuf.h"
PyObject *tk_draft_leaf(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
#endif
