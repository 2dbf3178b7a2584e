/* rfc3339_utc: trailkeeper.events.timestamps.parse_rfc3339_text for the form producers
 * send, a valid date-time with a UTC offset ("Z", "z", "+00:00", "-00:00"): the datetime
 * (UTC) and its text as the API writes it. None for anything else (another offset, a
 * field out of range, any text the pattern refuses): the Python function, the reference,
 * answers or raises for those (tests/property/test_validation.py). */
#include "timestamps.h"

#include <datetime.h>

#define OUT_LEN 27 /* YYYY-MM-DDTHH:MM:SS.ffffffZ */

int tk_timestamps_init(void) {
    PyDateTime_IMPORT;
    return PyDateTimeAPI == NULL ? -1 : 0;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* The n ASCII digits at text as a number, or -1. */
static int number(const char *text, int n) {
    int value = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(text[i])) {
            return -1;
        }
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

static int days_in_month(int year, int month) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

static int utc_offset(const char *text, Py_ssize_t n) {
    if (n == 1) {
        return text[0] == 'Z' || text[0] == 'z';
    }
    return n == 6 && (text[0] == '+' || text[0] == '-') && memcmp(text + 1, "00:00", 5) == 0;
}

PyObject *tk_rfc3339_utc(PyObject *Py_UNUSED(module), PyObject *text) {
    if (!PyUnicode_CheckExact(text) || !PyUnicode_IS_ASCII(text)) {
        Py_RETURN_NONE;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const char *s = (const char *)PyUnicode_1BYTE_DATA(text);
    if (n < 20 || n > 35 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':'
        || (s[10] != 'T' && s[10] != 't' && s[10] != ' ')) {
        Py_RETURN_NONE;
    }
    int year = number(s, 4), month = number(s + 5, 2), day = number(s + 8, 2);
    int hour = number(s + 11, 2), minute = number(s + 14, 2), second = number(s + 17, 2);
    if (year < 1 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0
        || minute > 59 || second < 0 || second > 59 || day > days_in_month(year, month)) {
        Py_RETURN_NONE;
    }
    char fraction[6] = {'0', '0', '0', '0', '0', '0'};
    Py_ssize_t at = 19;
    if (s[at] == '.') {
        Py_ssize_t first = ++at;
        while (at < n && is_digit(s[at])) {
            if (at - first < 6) {
                fraction[at - first] = s[at];
            }
            at++;
        }
        if (at == first || at - first > 9) {
            Py_RETURN_NONE;
        }
    }
    if (!utc_offset(s + at, n - at)) {
        Py_RETURN_NONE;
    }
    PyObject *out = PyUnicode_New(OUT_LEN, 127);
    if (out == NULL) {
        return NULL;
    }
    char *written = (char *)PyUnicode_1BYTE_DATA(out);
    memcpy(written, s, 10);
    written[10] = 'T';
    memcpy(written + 11, s + 11, 8);
    written[19] = '.';
    memcpy(written + 20, fraction, 6);
    written[26] = 'Z';
    PyObject *moment = PyDateTimeAPI->DateTime_FromDateAndTime(
        year, month, day, hour, minute, second, number(fraction, 6), PyDateTime_TimeZone_UTC,
        PyDateTimeAPI->DateTimeType);
    if (moment == NULL) {
        Py_DECREF(out);
        return NULL;
    }
    PyObject *answer = PyTuple_Pack(2, moment, out);
    Py_DECREF(moment);
    Py_DECREF(out);
    return answer;
}
