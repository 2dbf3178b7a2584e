/* See jsonbuf.h. */
#include "jsonbuf.h"

int buf_init(Buf *buf, Py_ssize_t cap) {
    buf->data = PyMem_Malloc((size_t)cap);
    buf->len = 0;
    buf->cap = cap;
    if (buf->data == NULL) {
        PyErr_NoMemory();
        return TK_ERROR;
    }
    return TK_OK;
}

void buf_free(Buf *buf) {
    PyMem_Free(buf->data);
    buf->data = NULL;
}

int buf_reserve(Buf *buf, Py_ssize_t more) {
    Py_ssize_t cap = buf->cap;
    while (buf->len + more > cap) {
        if (cap > PY_SSIZE_T_MAX / 2) {
            PyErr_NoMemory();
            return TK_ERROR;
        }
        cap *= 2;
    }
    char *data = PyMem_Realloc(buf->data, (size_t)cap);
    if (data == NULL) {
        PyErr_NoMemory();
        return TK_ERROR;
    }
    buf->data = data;
    buf->cap = cap;
    return TK_OK;
}

static const char HEX[] = "0123456789abcdef";

int buf_json_string(Buf *buf, const char *text, Py_ssize_t n) {
    /* at most 6 bytes out per byte in, plus the quotes */
    if (buf->len + 6 * n + 2 > buf->cap && buf_reserve(buf, 6 * n + 2) < 0) {
        return TK_ERROR;
    }
    char *out = buf->data + buf->len;
    *out++ = '"';
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *out++ = (char)c;
            continue;
        }
        *out++ = '\\';
        switch (c) {
        case '"': *out++ = '"'; break;
        case '\\': *out++ = '\\'; break;
        case '\b': *out++ = 'b'; break;
        case '\t': *out++ = 't'; break;
        case '\n': *out++ = 'n'; break;
        case '\f': *out++ = 'f'; break;
        case '\r': *out++ = 'r'; break;
        default:
            *out++ = 'u';
            *out++ = '0';
            *out++ = '0';
            *out++ = HEX[c >> 4];
            *out++ = HEX[c & 15];
        }
    }
    *out++ = '"';
    buf->len = out - buf->data;
    return TK_OK;
}

int buf_int(Buf *buf, long long value) {
    char digits[24];
    int at = (int)sizeof(digits);
    unsigned long long magnitude = value < 0 ? 0ULL - (unsigned long long)value
                                             : (unsigned long long)value;
    do {
        digits[--at] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude);
    if (value < 0) {
        digits[--at] = '-';
    }
    return buf_put(buf, digits + at, (Py_ssize_t)sizeof(digits) - at);
}

#define MICROS_PER_DAY 86400000000LL

static inline long long floor_div(long long a, long long b) {
    long long q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static inline void put2(char *out, int value) {
    out[0] = (char)('0' + value / 10);
    out[1] = (char)('0' + value % 10);
}

int buf_timestamp(Buf *buf, long long micros) {
    long long days = floor_div(micros, MICROS_PER_DAY);
    long long rest = micros - days * MICROS_PER_DAY;
    /* civil date from days since 1970-01-01 (H. Hinnant's days_from_civil, inverted) */
    long long z = days + 719468;
    long long era = floor_div(z, 146097);
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long year = yoe + era * 400;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    int day = (int)(doy - (153 * mp + 2) / 5 + 1);
    int month = (int)(mp < 10 ? mp + 3 : mp - 9);
    if (month <= 2) {
        year += 1;
    }
    if (year < 1 || year > 9999) {
        return TK_BAIL;
    }
    long long seconds = rest / 1000000;
    int fraction = (int)(rest % 1000000);
    char text[29];
    text[0] = '"';
    put2(text + 1, (int)(year / 100));
    put2(text + 3, (int)(year % 100));
    text[5] = '-';
    put2(text + 6, month);
    text[8] = '-';
    put2(text + 9, day);
    text[11] = 'T';
    put2(text + 12, (int)(seconds / 3600));
    text[14] = ':';
    put2(text + 15, (int)(seconds / 60 % 60));
    text[17] = ':';
    put2(text + 18, (int)(seconds % 60));
    text[20] = '.';
    put2(text + 21, fraction / 10000);
    put2(text + 23, fraction / 100 % 100);
    put2(text + 25, fraction % 100);
    text[27] = 'Z';
    text[28] = '"';
    return buf_put(buf, text, 29);
}

int read_int64(PyObject *value, long long *out) {
    if (!PyLong_CheckExact(value)) {
        return TK_BAIL;
    }
    int overflow;
    *out = PyLong_AsLongLongAndOverflow(value, &overflow);
    return overflow ? TK_BAIL : TK_OK;
}

int valid_utf8(const unsigned char *s, Py_ssize_t n) {
    Py_ssize_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
        } else if (c >= 0xC2 && c <= 0xDF) {
            if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return 0;
            i += 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            if (i + 2 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80) return 0;
            if (c == 0xE0 && s[i + 1] < 0xA0) return 0; /* overlong */
            if (c == 0xED && s[i + 1] >= 0xA0) return 0; /* surrogate */
            i += 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            if (i + 3 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80
                || (s[i + 3] & 0xC0) != 0x80) return 0;
            if (c == 0xF0 && s[i + 1] < 0x90) return 0; /* overlong */
            if (c == 0xF4 && s[i + 1] >= 0x90) return 0; /* beyond U+10FFFF */
            i += 4;
        } else {
            return 0;
        }
    }
    return 1;
}
