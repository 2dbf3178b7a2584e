#ifndef TRAILKEEPER_COLUMNS_H
#define TRAILKEEPER_COLUMNS_H
#include "jsonbuf.h"
PyObject *tk_export_columns(PyObject *module, PyObject *rows);
#endif
