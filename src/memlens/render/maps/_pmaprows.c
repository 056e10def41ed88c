/* The compiled twin of pmap -X's table body (memlens/render/maps/pmap.py, render_X).
 *
 * rows(columns, kinds, min_widths) -> (text, widths) | None
 *
 * columns: a tuple of k >= 2 columns (each a tuple or a list, all of one length n >= 1).
 * kinds: a str of k characters, one per column: 's' a cell is a str, printed as it is;
 * 'x' a cell is an int >= 0 printed as "%08x"; 'd' a cell is an int >= 0 printed as "%d".
 * min_widths: a tuple of k - 1 ints >= 0, one per column but the last.
 *
 * Every column but the last is right-justified to its width, max(min_width, longest cell), and
 * followed by one space; the last column is written as it is, then "\n". The result is the
 * text of every row and the widths, what the pure-Python renderer builds with
 * " ".join("%{w}s" ...) + " %s\n" % row. Anything else (another type, a str subclass, a
 * negative or too large number, columns of different lengths, an empty table) is declined
 * with None, and the pure code decides. NULL with an exception only for MemoryError.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_COLUMNS 256
#define MAX_MIN_WIDTH (1 << 20)

typedef struct {
    char kind;               /* 's', 'x' or 'd' */
    PyObject **cells;        /* borrowed from the column (a tuple or a list) */
    unsigned long long *ints; /* 'x', 'd': the values, converted once */
    Py_ssize_t width;
} Column;

static int hex_digits(unsigned long long v) {
    int d = 1;
    while (v >>= 4) d++;
    return d < 8 ? 8 : d;
}

static int dec_digits(unsigned long long v) {
    int d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

/* The text of an int cell into buf (at least 24 bytes); its length. */
static int format_int(char kind, unsigned long long v, char *buf) {
    static const char hex[] = "0123456789abcdef";
    int len = kind == 'x' ? hex_digits(v) : dec_digits(v);
    unsigned base = kind == 'x' ? 16 : 10;
    for (int i = len - 1; i >= 0; i--) {
        buf[i] = hex[v % base];
        v /= base;
    }
    return len;
}

/* count spaces at out[pos] (none when count <= 0); the new position. */
static Py_ssize_t pad(int out_kind, void *out, Py_ssize_t pos, Py_ssize_t count) {
    if (count <= 0) return pos;
    if (out_kind == PyUnicode_1BYTE_KIND) {
        memset((char *)out + pos, ' ', (size_t)count);
        return pos + count;
    }
    for (Py_ssize_t i = 0; i < count; i++) PyUnicode_WRITE(out_kind, out, pos++, ' ');
    return pos;
}

/* Write a cell (str or formatted int) at out[pos], right-justified to width (0: as it is).
   Returns the new position. */
static Py_ssize_t put(int out_kind, void *out, Py_ssize_t pos, const Column *c, Py_ssize_t row,
                      Py_ssize_t width) {
    if (c->kind == 's') {
        PyObject *s = c->cells[row];
        Py_ssize_t len = PyUnicode_GET_LENGTH(s);
        pos = pad(out_kind, out, pos, width - len);
        int kind = PyUnicode_KIND(s);
        const void *data = PyUnicode_DATA(s);
        if (kind == out_kind) {
            memcpy((char *)out + pos * kind, data, (size_t)len * (size_t)kind);
            pos += len;
        } else {
            for (Py_ssize_t i = 0; i < len; i++)
                PyUnicode_WRITE(out_kind, out, pos++, PyUnicode_READ(kind, data, i));
        }
        return pos;
    }
    char buf[24];
    int len = format_int(c->kind, c->ints[row], buf);
    pos = pad(out_kind, out, pos, width - len);
    if (out_kind == PyUnicode_1BYTE_KIND) {
        memcpy((char *)out + pos, buf, (size_t)len);
        pos += len;
    } else {
        for (int i = 0; i < len; i++) PyUnicode_WRITE(out_kind, out, pos++, (Py_UCS4)buf[i]);
    }
    return pos;
}

/* The longest cell of a column and the largest character class of its cells (127 ASCII,
   255 Latin-1, 65535 UCS-2, 0x10ffff). 0 when declined. The cells' total length (last column)
   goes to *sum. */
static int measure(Column *c, Py_ssize_t n, Py_ssize_t *longest, Py_UCS4 *maxchar,
                   Py_ssize_t *sum) {
    Py_ssize_t most = 0, total = 0;
    if (c->kind == 's') {
        for (Py_ssize_t r = 0; r < n; r++) {
            PyObject *s = c->cells[r];
            if (!PyUnicode_CheckExact(s)) return 0;
            Py_ssize_t len = PyUnicode_GET_LENGTH(s);
            if (len > most) most = len;
            if (len > PY_SSIZE_T_MAX / 8 - total) return 0;
            total += len;
            if (!PyUnicode_IS_ASCII(s)) {
                int kind = PyUnicode_KIND(s);
                Py_UCS4 m = kind == PyUnicode_1BYTE_KIND   ? 0xff
                            : kind == PyUnicode_2BYTE_KIND ? 0xffff
                                                           : 0x10ffff;
                if (m > *maxchar) *maxchar = m;
            }
        }
    } else {
        for (Py_ssize_t r = 0; r < n; r++) {
            PyObject *v = c->cells[r];
            if (!PyLong_CheckExact(v)) return 0;
            unsigned long long u = PyLong_AsUnsignedLongLong(v);
            if (u == (unsigned long long)-1 && PyErr_Occurred()) {
                PyErr_Clear(); /* negative or above 2**64 - 1: the pure code prints it */
                return 0;
            }
            c->ints[r] = u;
            Py_ssize_t len = c->kind == 'x' ? hex_digits(u) : dec_digits(u);
            if (len > most) most = len;
            total += len;
        }
    }
    *longest = most;
    *sum = total;
    return 1;
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
        PyObject *col = PyTuple_GET_ITEM(columns, i);
        Column *c = &cols[i];
        c->kind = kind_text[i];
        c->ints = NULL;
        if (c->kind != 's' && c->kind != 'x' && c->kind != 'd') Py_RETURN_NONE;
        Py_ssize_t len;
        if (PyTuple_CheckExact(col)) {
            len = PyTuple_GET_SIZE(col);
            c->cells = ((PyTupleObject *)col)->ob_item;
        } else if (PyList_CheckExact(col)) {
            len = PyList_GET_SIZE(col);
            c->cells = ((PyListObject *)col)->ob_item;
        } else {
            Py_RETURN_NONE;
        }
        if (n < 0) n = len;
        if (len != n) Py_RETURN_NONE;
        c->width = 0;
        if (i < k - 1) {
            PyObject *w = PyTuple_GET_ITEM(min_widths, i);
            if (!PyLong_CheckExact(w)) Py_RETURN_NONE;
            long mw = PyLong_AsLong(w);
            if (mw == -1 && PyErr_Occurred()) {
                PyErr_Clear();
                Py_RETURN_NONE;
            }
            if (mw < 0 || mw > MAX_MIN_WIDTH) Py_RETURN_NONE;
            c->width = (Py_ssize_t)mw;
        }
    }
    if (n < 1) Py_RETURN_NONE;

    PyObject *result = NULL;
    int ok = 1;
    for (Py_ssize_t i = 0; i < k; i++) {
        if (cols[i].kind != 's') {
            cols[i].ints = PyMem_Malloc((size_t)n * sizeof(unsigned long long));
            if (cols[i].ints == NULL) {
                PyErr_NoMemory();
                goto done;
            }
        }
    }
    /* Measure: widths, the character class of the text, its length. */
    Py_UCS4 maxchar = 0x7f;
    Py_ssize_t line = 0, last_sum = 0;
    for (Py_ssize_t i = 0; i < k && ok; i++) {
        Py_ssize_t longest, sum;
        if (!measure(&cols[i], n, &longest, &maxchar, &sum)) {
            ok = 0;
            break;
        }
        if (i < k - 1) {
            if (longest > cols[i].width) cols[i].width = longest;
            if (cols[i].width > PY_SSIZE_T_MAX / 8 - line) ok = 0;
            line += cols[i].width + 1; /* the cell and the space after it */
        } else {
            last_sum = sum;
        }
    }
    if (!ok) {
        result = Py_NewRef(Py_None);
        goto done;
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
    for (Py_ssize_t i = 0; i < k; i++) PyMem_Free(cols[i].ints);
    return result;
}

static PyMethodDef methods[] = {
    {"rows", rows, METH_VARARGS,
     "rows(columns, kinds, min_widths) -> (text, widths) | None: pmap -X's table body."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "memlens.render.maps._pmaprows",
    "The compiled twin of pmap -X's table body (memlens/render/maps/pmap.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__pmaprows(void) { return PyModule_Create(&module); }
