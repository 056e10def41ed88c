/* The compiled twin of pmap's table bodies (memlens/render/maps/pmap.py).
 *
 * rows(columns, kinds, min_widths) -> (text, widths) | None          (pmap -X, -XX)
 *   columns: a tuple of k >= 2 columns (each a tuple or a list, all of one length n >= 1).
 *   kinds: a str of k characters, one per column: 's' a cell is a str, printed as it is;
 *   'x' a cell is an int >= 0 printed as "%08x"; 'd' a cell is an int >= 0 printed as "%d".
 *   min_widths: a tuple of k - 1 ints >= 0, one per column but the last.
 *   Every column but the last is right-justified to its width, max(min_width, longest cell),
 *   and followed by one space; the last column is written as it is, then "\n": the text of
 *   every row and the widths, what pmap.table_rows_pure builds with " ".join("%{w}s" ...).
 *
 * printf(format, columns) -> text | None                          (pmap's default, -x, -d)
 *   "".join(format % row for row in zip(*columns)) for a format of literal text and
 *   conversions %[0][WIDTH](s|d|x), one per column: 's' a str, 'd' and 'x' an int >= 0.
 *
 * Anything else (another type, a str subclass, a negative or too large number, columns of
 * different lengths, an empty table, another format) is declined with None, and the pure
 * code decides. NULL with an exception only for MemoryError.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_COLUMNS 256
#define MAX_WIDTH (1 << 20)

typedef struct {
    char kind;                /* 's', 'x' (hex) or 'd' (decimal) */
    int digits;               /* 'x', 'd': at least this many digits (zeros before) */
    int zeros;                /* 'x', 'd': pad to the width with zeros, not spaces */
    PyObject **cells;         /* borrowed from the column (a tuple or a list) */
    unsigned long long *ints; /* 'x', 'd': the values, converted once */
    Py_ssize_t width;         /* right-justified to at least this */
} Column;

static int int_length(const Column *c, unsigned long long v) {
    int d = 1;
    if (c->kind == 'x') {
        while (v >>= 4) d++;
    } else {
        while (v >= 10) {
            v /= 10;
            d++;
        }
    }
    return d < c->digits ? c->digits : d;
}

/* The text of an int cell into buf (at least 24 bytes); its length. */
static int format_int(const Column *c, unsigned long long v, char *buf) {
    static const char hex[] = "0123456789abcdef";
    int len = int_length(c, v);
    unsigned base = c->kind == 'x' ? 16 : 10;
    for (int i = len - 1; i >= 0; i--) {
        buf[i] = hex[v % base];
        v /= base;
    }
    return len;
}

/* count copies of ch at out[pos] (none when count <= 0); the new position. */
static Py_ssize_t pad(int out_kind, void *out, Py_ssize_t pos, Py_ssize_t count, char ch) {
    if (count <= 0) return pos;
    if (out_kind == PyUnicode_1BYTE_KIND) {
        memset((char *)out + pos, ch, (size_t)count);
        return pos + count;
    }
    for (Py_ssize_t i = 0; i < count; i++) PyUnicode_WRITE(out_kind, out, pos++, (Py_UCS4)ch);
    return pos;
}

static Py_ssize_t put_ascii(int out_kind, void *out, Py_ssize_t pos, const char *text,
                            Py_ssize_t len) {
    if (out_kind == PyUnicode_1BYTE_KIND) {
        memcpy((char *)out + pos, text, (size_t)len);
        return pos + len;
    }
    for (Py_ssize_t i = 0; i < len; i++)
        PyUnicode_WRITE(out_kind, out, pos++, (Py_UCS4)(unsigned char)text[i]);
    return pos;
}

/* Write a cell at out[pos], right-justified to the column's width (width 0: as it is).
   Returns the new position. */
static Py_ssize_t put(int out_kind, void *out, Py_ssize_t pos, const Column *c, Py_ssize_t row,
                      Py_ssize_t width) {
    if (c->kind == 's') {
        PyObject *s = c->cells[row];
        Py_ssize_t len = PyUnicode_GET_LENGTH(s);
        pos = pad(out_kind, out, pos, width - len, ' ');
        int kind = PyUnicode_KIND(s);
        const void *data = PyUnicode_DATA(s);
        if (kind == out_kind) {
            memcpy((char *)out + pos * kind, data, (size_t)len * (size_t)kind);
            return pos + len;
        }
        for (Py_ssize_t i = 0; i < len; i++)
            PyUnicode_WRITE(out_kind, out, pos++, PyUnicode_READ(kind, data, i));
        return pos;
    }
    char buf[24];
    int len = format_int(c, c->ints[row], buf);
    pos = pad(out_kind, out, pos, width - len, c->zeros ? '0' : ' ');
    return put_ascii(out_kind, out, pos, buf, len);
}

/* Checks a column's cells and measures them: the longest, the largest character class of the
   text (127 ASCII, 255 Latin-1, 65535 UCS-2, 0x10ffff) into *maxchar, and the length they
   take at least ``width`` wide each into *sum. 0 when declined. */
static int measure(Column *c, Py_ssize_t n, Py_ssize_t width, Py_ssize_t *longest,
                   Py_UCS4 *maxchar, Py_ssize_t *sum) {
    Py_ssize_t most = 0, total = 0;
    for (Py_ssize_t r = 0; r < n; r++) {
        PyObject *v = c->cells[r];
        Py_ssize_t len;
        if (c->kind == 's') {
            if (!PyUnicode_CheckExact(v)) return 0;
            len = PyUnicode_GET_LENGTH(v);
            if (!PyUnicode_IS_ASCII(v)) {
                int kind = PyUnicode_KIND(v);
                Py_UCS4 m = kind == PyUnicode_1BYTE_KIND   ? 0xff
                            : kind == PyUnicode_2BYTE_KIND ? 0xffff
                                                           : 0x10ffff;
                if (m > *maxchar) *maxchar = m;
            }
        } else {
            if (!PyLong_CheckExact(v)) return 0;
            unsigned long long u = PyLong_AsUnsignedLongLong(v);
            if (u == (unsigned long long)-1 && PyErr_Occurred()) {
                PyErr_Clear(); /* negative or above 2**64 - 1: the pure code prints it */
                return 0;
            }
            c->ints[r] = u;
            len = int_length(c, u);
        }
        if (len > most) most = len;
        if (len < width) len = width;
        if (len > PY_SSIZE_T_MAX / 8 - total) return 0;
        total += len;
    }
    *longest = most;
    *sum = total;
    return 1;
}

/* The cells of ``col`` (a tuple or a list of n cells; n < 0: any length, set here). */
static int cells_of(PyObject *col, Column *c, Py_ssize_t *n) {
    Py_ssize_t len;
    if (PyTuple_CheckExact(col)) {
        len = PyTuple_GET_SIZE(col);
        c->cells = ((PyTupleObject *)col)->ob_item;
    } else if (PyList_CheckExact(col)) {
        len = PyList_GET_SIZE(col);
        c->cells = ((PyListObject *)col)->ob_item;
    } else {
        return 0;
    }
    if (*n < 0) *n = len;
    return len == *n;
}

/* A width from Python: an int in 0..MAX_WIDTH, else -1. */
static Py_ssize_t width_of(PyObject *w) {
    if (!PyLong_CheckExact(w)) return -1;
    long v = PyLong_AsLong(w);
    if (v == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
    return v < 0 || v > MAX_WIDTH ? -1 : (Py_ssize_t)v;
}

static int alloc_ints(Column *cols, Py_ssize_t k, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < k; i++) {
        if (cols[i].kind != 's') {
            cols[i].ints = PyMem_Malloc((size_t)n * sizeof(unsigned long long));
            if (cols[i].ints == NULL) {
                PyErr_NoMemory();
                return 0;
            }
        }
    }
    return 1;
}

static void free_ints(Column *cols, Py_ssize_t k) {
    for (Py_ssize_t i = 0; i < k; i++) PyMem_Free(cols[i].ints);
}

static PyObject *rows(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *columns, *kinds, *min_widths;
    if (!PyArg_ParseTuple(args, "OOO", &columns, &kinds, &min_widths)) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (!PyTuple_CheckExact(columns) || !PyUnicode_CheckExact(kinds) ||
        !PyTuple_CheckExact(min_widths))
        Py_RETURN_NONE;
    Py_ssize_t k = PyTuple_GET_SIZE(columns);
    if (k < 2 || k > MAX_COLUMNS || PyUnicode_GET_LENGTH(kinds) != k ||
        !PyUnicode_IS_ASCII(kinds) || PyTuple_GET_SIZE(min_widths) != k - 1)
        Py_RETURN_NONE;
    const char *kind_text = (const char *)PyUnicode_DATA(kinds);

    Column cols[MAX_COLUMNS];
    Py_ssize_t n = -1;
    for (Py_ssize_t i = 0; i < k; i++) {
        Column *c = &cols[i];
        c->kind = kind_text[i];
        c->digits = c->kind == 'x' ? 8 : 0;
        c->zeros = 0;
        c->ints = NULL;
        c->width = 0;
        if (c->kind != 's' && c->kind != 'x' && c->kind != 'd') Py_RETURN_NONE;
        if (!cells_of(PyTuple_GET_ITEM(columns, i), c, &n)) Py_RETURN_NONE;
        if (i < k - 1 && (c->width = width_of(PyTuple_GET_ITEM(min_widths, i))) < 0)
            Py_RETURN_NONE;
    }
    if (n < 1) Py_RETURN_NONE;

    PyObject *result = NULL;
    if (!alloc_ints(cols, k, n)) goto done;
    /* Measure: widths, the character class of the text, its length. */
    Py_UCS4 maxchar = 0x7f;
    Py_ssize_t line = 0, last_sum = 0;
    for (Py_ssize_t i = 0; i < k; i++) {
        Py_ssize_t longest, sum;
        if (!measure(&cols[i], n, 0, &longest, &maxchar, &sum)) {
            result = Py_NewRef(Py_None);
            goto done;
        }
        if (i < k - 1) {
            if (longest > cols[i].width) cols[i].width = longest;
            if (cols[i].width > PY_SSIZE_T_MAX / 8 - line) {
                result = Py_NewRef(Py_None);
                goto done;
            }
            line += cols[i].width + 1; /* the cell and the space after it */
        } else {
            last_sum = sum;
        }
    }
    line += 1; /* "\n" */
    if (line > (PY_SSIZE_T_MAX / 2 - last_sum) / n) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    Py_ssize_t total = line * n + last_sum;

    PyObject *text = PyUnicode_New(total, maxchar);
    if (text == NULL) goto done;
    int out_kind = PyUnicode_KIND(text);
    void *out = PyUnicode_DATA(text);
    Py_ssize_t pos = 0;
    for (Py_ssize_t r = 0; r < n; r++) {
        for (Py_ssize_t i = 0; i < k - 1; i++) {
            pos = put(out_kind, out, pos, &cols[i], r, cols[i].width);
            PyUnicode_WRITE(out_kind, out, pos++, ' ');
        }
        pos = put(out_kind, out, pos, &cols[k - 1], r, 0);
        PyUnicode_WRITE(out_kind, out, pos++, '\n');
    }
    if (pos != total) { /* cannot happen: measured above; never return a torn string */
        Py_DECREF(text);
        result = Py_NewRef(Py_None);
        goto done;
    }
    PyObject *widths = PyTuple_New(k - 1);
    if (widths == NULL) {
        Py_DECREF(text);
        goto done;
    }
    for (Py_ssize_t i = 0; i < k - 1; i++) {
        PyObject *w = PyLong_FromSsize_t(cols[i].width);
        if (w == NULL) {
            Py_DECREF(text);
            Py_DECREF(widths);
            goto done;
        }
        PyTuple_SET_ITEM(widths, i, w);
    }
    result = PyTuple_Pack(2, text, widths);
    Py_DECREF(text);
    Py_DECREF(widths);
done:
    free_ints(cols, k);
    return result;
}

/* A format's pieces: the literal text before each conversion, and after the last. */
typedef struct {
    const char *text;
    Py_ssize_t len;
} Literal;

/* Parses an ASCII format into k conversions (cols: kind, zeros, width) and k + 1 literals;
   k, or -1 when declined ("%%", a flag other than "0", a precision, another type). */
static Py_ssize_t parse_format(const char *f, Py_ssize_t len, Column *cols, Literal *lits) {
    Py_ssize_t k = 0, i = 0, start = 0;
    while (i < len) {
        if (f[i] != '%') {
            i++;
            continue;
        }
        if (k >= MAX_COLUMNS) return -1;
        lits[k].text = f + start;
        lits[k].len = i - start;
        i++;
        Column *c = &cols[k];
        c->zeros = 0;
        c->width = 0;
        c->digits = 0;
        c->ints = NULL;
        if (i < len && f[i] == '0') {
            c->zeros = 1;
            i++;
        }
        while (i < len && f[i] >= '0' && f[i] <= '9') {
            c->width = c->width * 10 + (f[i] - '0');
            if (c->width > MAX_WIDTH) return -1;
            i++;
        }
        if (i >= len || (f[i] != 's' && f[i] != 'd' && f[i] != 'x')) return -1;
        c->kind = f[i];
        if (c->kind == 's') c->zeros = 0; /* "%05s": Python pads a str with spaces */
        i++;
        start = i;
        k++;
    }
    lits[k].text = f + start;
    lits[k].len = len - start;
    return k;
}

static PyObject *printf_rows(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *format, *columns;
    if (!PyArg_ParseTuple(args, "OO", &format, &columns)) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (!PyUnicode_CheckExact(format) || !PyUnicode_IS_ASCII(format) ||
        !PyTuple_CheckExact(columns))
        Py_RETURN_NONE;
    Column cols[MAX_COLUMNS];
    Literal lits[MAX_COLUMNS + 1];
    const char *f = (const char *)PyUnicode_DATA(format);
    Py_ssize_t k = parse_format(f, PyUnicode_GET_LENGTH(format), cols, lits);
    if (k < 1 || PyTuple_GET_SIZE(columns) != k) Py_RETURN_NONE;
    Py_ssize_t n = -1;
    for (Py_ssize_t i = 0; i < k; i++)
        if (!cells_of(PyTuple_GET_ITEM(columns, i), &cols[i], &n)) Py_RETURN_NONE;
    if (n < 1) Py_RETURN_NONE;

    PyObject *result = NULL;
    if (!alloc_ints(cols, k, n)) goto done;
    Py_UCS4 maxchar = 0x7f;
    Py_ssize_t literal = 0, cells = 0;
    for (Py_ssize_t i = 0; i <= k; i++) literal += lits[i].len;
    for (Py_ssize_t i = 0; i < k; i++) {
        Py_ssize_t longest, sum;
        if (!measure(&cols[i], n, cols[i].width, &longest, &maxchar, &sum) ||
            sum > PY_SSIZE_T_MAX / 8 - cells) {
            result = Py_NewRef(Py_None);
            goto done;
        }
        cells += sum;
    }
    if (literal > (PY_SSIZE_T_MAX / 4 - cells) / n) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    Py_ssize_t total = literal * n + cells;
    PyObject *text = PyUnicode_New(total, maxchar);
    if (text == NULL) goto done;
    int out_kind = PyUnicode_KIND(text);
    void *out = PyUnicode_DATA(text);
    Py_ssize_t pos = 0;
    for (Py_ssize_t r = 0; r < n; r++) {
        for (Py_ssize_t i = 0; i < k; i++) {
            pos = put_ascii(out_kind, out, pos, lits[i].text, lits[i].len);
            pos = put(out_kind, out, pos, &cols[i], r, cols[i].width);
        }
        pos = put_ascii(out_kind, out, pos, lits[k].text, lits[k].len);
    }
    if (pos != total) { /* cannot happen: measured above */
        Py_DECREF(text);
        result = Py_NewRef(Py_None);
        goto done;
    }
    result = text;
done:
    free_ints(cols, k);
    return result;
}

static PyMethodDef methods[] = {
    {"rows", rows, METH_VARARGS,
     "rows(columns, kinds, min_widths) -> (text, widths) | None: pmap -X's table body."},
    {"printf", printf_rows, METH_VARARGS,
     "printf(format, columns) -> text | None: \"\".join(format % row for row in "
     "zip(*columns))."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "memlens.render.maps._pmaprows",
    "The compiled twin of pmap's table bodies (memlens/render/maps/pmap.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__pmaprows(void) { return PyModule_Create(&module); }
