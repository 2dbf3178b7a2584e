#ifndef TRAILKEEPER_JSONLINES_H
#define TRAILKEEPER_JSONLINES_H
#include "jsonbuf.h"
PyObject *tk_jsonl_block(PyObject *module, PyObject *rows);
#endif
