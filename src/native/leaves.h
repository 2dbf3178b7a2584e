#ifndef TRAILKEEPER_LEAVES_H
#define TRAILKEEPER_LEAVES_H
#include "jsonbuf.h"
PyObject *tk_encode_rows(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
#endif
