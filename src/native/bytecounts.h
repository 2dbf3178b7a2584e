#ifndef TRAILKEEPER_BYTECOUNTS_H
#define TRAILKEEPER_BYTECOUNTS_H
#include "jsonbuf.h"
PyObject *tk_byte_counts(PyObject *module, PyObject *data);
#endif
