#ifndef TRAILKEEPER_TIMESTAMPS_H
#define TRAILKEEPER_TIMESTAMPS_H
#include "jsonbuf.h"
int tk_timestamps_init(void);
PyObject *tk_rfc3339_utc(PyObject *module, PyObject *text);
#endif
