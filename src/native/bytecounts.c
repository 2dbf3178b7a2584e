/* byte_counts: the three looks trailkeeper.events.body takes at a JSON text, in one pass
 * instead of three: (the bytes among ",:{[", the ":" bytes, whether "\u003" appears).
 * The Python expressions it replaces (bytes.translate and bytes.count, "in") are the
 * reference: tests/property/test_byte_counts.py. */
#include "bytecounts.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif


static const char ESCAPE[] = "\\u003";

static int has_escape(const char *text, Py_ssize_t n) {
    const Py_ssize_t needle = (Py_ssize_t)(sizeof(ESCAPE) - 1);
    const char *at = text;
    const char *end = text + n;
    while (end - at >= needle) {
        const char *slash = memchr(at, '\\', (size_t)(end - at - needle + 1));
        if (slash == NULL) {
            return 0;
        }
        if (memcmp(slash, ESCAPE, (size_t)needle) == 0) {
            return 1;
        }
        at = slash + 1;
    }
    return 0;
}

/* The bytes among ",{[" into *others, the ":" bytes into *colons: sixteen at a time where
 * SSE2 is there (every x86-64), the rest one at a time. A match is 0xFF (-1) in its byte
 * lane, so subtracting the comparison counts it in that lane; a lane holds at most 255, so
 * the lanes are summed (psadbw) every 255 blocks. No popcount: x86-64's baseline has none
 * (GCC calls a library routine for __builtin_popcount, ~20 instructions a block). */
static void count_punctuation(const unsigned char *text, Py_ssize_t n, long long *others,
                              long long *colons) {
    Py_ssize_t i = 0;
    long long other = 0, colon = 0;
#ifdef __SSE2__
    const __m128i comma = _mm_set1_epi8(','), colon_byte = _mm_set1_epi8(':');
    const __m128i brace = _mm_set1_epi8('{'), bracket = _mm_set1_epi8('[');
    const __m128i zero = _mm_setzero_si128();
    while (i + 16 <= n) {
        __m128i other_lanes = zero, colon_lanes = zero;
        for (int blocks = 0; blocks < 255 && i + 16 <= n; blocks++, i += 16) {
            __m128i bytes = _mm_loadu_si128((const __m128i *)(text + i));
            __m128i found = _mm_or_si128(_mm_cmpeq_epi8(bytes, comma), _mm_cmpeq_epi8(bytes, brace));
            found = _mm_or_si128(found, _mm_cmpeq_epi8(bytes, bracket));
            other_lanes = _mm_sub_epi8(other_lanes, found);
            colon_lanes = _mm_sub_epi8(colon_lanes, _mm_cmpeq_epi8(bytes, colon_byte));
        }
        __m128i sums = _mm_sad_epu8(other_lanes, zero);
        other += _mm_cvtsi128_si32(sums) + _mm_cvtsi128_si32(_mm_srli_si128(sums, 8));
        sums = _mm_sad_epu8(colon_lanes, zero);
        colon += _mm_cvtsi128_si32(sums) + _mm_cvtsi128_si32(_mm_srli_si128(sums, 8));
    }
#endif
    for (; i < n; i++) {
        unsigned char c = text[i];
        colon += c == ':';
        other += (c == ',') + (c == '{') + (c == '[');
    }
    *others = other;
    *colons = colon;
}

PyObject *tk_byte_counts(PyObject *Py_UNUSED(module), PyObject *data) {
    if (!PyBytes_CheckExact(data)) {
        PyErr_SetString(PyExc_TypeError, "byte_counts takes bytes");
        return NULL;
    }
    const unsigned char *text = (const unsigned char *)PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data);
    long long others, colons;
    count_punctuation(text, n, &others, &colons);
    return Py_BuildValue("(LLO)", others + colons, colons,
                         has_escape((const char *)text, n) ? Py_True : Py_False);
}
