/* The compiled twin of memlens/procfs/smaps_parser.py and maps_parser.py.

   parse_smaps(data) and parse_maps(data) take the whole content of /proc/PID/smaps or
   /proc/PID/maps in the kernel's canonical format (fs/proc/task_mmu.c) and return the columns
   the pure-Python parsers build, in one pass over the bytes:

     parse_maps  -> (start, end, perms, offset, device, inode, path)
     parse_smaps -> (start, end, perms, offset, device, inode, path,
                     fields, in_kb, text_columns, vm_flags_text)

   On anything else (a line out of place, a value too long, an odd space, a VMA without
   VmFlags, an inode beyond 64 bits, ...) they return None and the pure-Python code decides,
   naming the offending line. NULL (with an exception) only on MemoryError.

   Canonical lines:
     header  HEX-HEX PERMS HEX HEX:HEX DEC[ +NAME]   hex 1-16 (device parts 1-8) lowercase
                                                     digits, DEC 1-20 digits within 64 bits,
                                                     NAME any bytes but a newline
     field   NAME: *DEC( kB)?                        NAME [A-Za-z][A-Za-z_]*, DEC 1-14 digits
     flags   "VmFlags: " then printable ASCII
   Every VMA has the first VMA's fields, in the same order and units, then a VmFlags line. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DIGITS 14        /* smaps_parser._MAX_DIGITS */
#define MAX_FIELDS 256       /* far beyond any kernel's ~30 */
#define SMALL_VALUES 10000   /* value strings "0".."9999" made once per call */
#define RECENT 8             /* recent device and VmFlags strings kept for reuse */

/* ---- growable arrays ---- */

typedef struct {
    PyObject **items;
    Py_ssize_t len, cap;
} ObjVec;

typedef struct {
    uint64_t *items;
    Py_ssize_t len, cap;
} U64Vec;

static int grow(void **items, Py_ssize_t *cap, size_t size) {
    Py_ssize_t cap2 = *cap ? *cap * 2 : 1024;
    if ((size_t)cap2 > PY_SSIZE_T_MAX / size) {
        PyErr_NoMemory();
        return -1;
    }
    void *p = realloc(*items, (size_t)cap2 * size);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *items = p;
    *cap = cap2;
    return 0;
}

/* Appends a new reference to obj (the caller keeps its own). */
static int obj_push(ObjVec *v, PyObject *obj) {
    if (v->len == v->cap && grow((void **)&v->items, &v->cap, sizeof(PyObject *)) < 0)
        return -1;
    Py_INCREF(obj);
    v->items[v->len++] = obj;
    return 0;
}

static int u64_push(U64Vec *v, uint64_t x) {
    if (v->len == v->cap && grow((void **)&v->items, &v->cap, sizeof(uint64_t)) < 0)
        return -1;
    v->items[v->len++] = x;
    return 0;
}

static void obj_free(ObjVec *v) {
    for (Py_ssize_t i = 0; i < v->len; i++)
        Py_XDECREF(v->items[i]);
    free(v->items);
    v->items = NULL;
    v->len = v->cap = 0;
}

/* ---- strings made once and reused ---- */

/* A str of ASCII bytes (the caller checked they are ASCII). */
static PyObject *ascii_str(const char *s, Py_ssize_t n) {
    PyObject *u = PyUnicode_New(n, 127);
    if (u != NULL)
        memcpy(PyUnicode_DATA(u), s, (size_t)n);
    return u;
}

typedef struct {
    const char *bytes[RECENT];
    Py_ssize_t len[RECENT];
    PyObject *obj[RECENT];
    int next;
} Recent;

/* A borrowed str for the ASCII text s[:n], reusing one of the last RECENT made. */
static PyObject *recent_str(Recent *r, const char *s, Py_ssize_t n) {
    for (int i = 0; i < RECENT; i++)
        if (r->obj[i] != NULL && r->len[i] == n && memcmp(r->bytes[i], s, (size_t)n) == 0)
            return r->obj[i];
    PyObject *u = ascii_str(s, n);
    if (u == NULL)
        return NULL;
    int i = r->next;
    r->next = (i + 1) % RECENT;
    Py_XDECREF(r->obj[i]);
    r->obj[i] = u;
    r->bytes[i] = s;
    r->len[i] = n;
    return u;
}

static void recent_free(Recent *r) {
    for (int i = 0; i < RECENT; i++)
        Py_CLEAR(r->obj[i]);
}

/* ---- the parse ---- */

typedef struct {
    /* VMA columns */
    U64Vec start, end, offset, inode;
    ObjVec perms, device, path, flags;
    /* smaps values, row by row (VMA i, field j at i * nfields + j) */
    ObjVec values;
    /* caches */
    PyObject *perm_str[16];
    Recent devices, flag_texts;
    const char *last_name;
    Py_ssize_t last_name_len;
    PyObject *last_path;
    PyObject **small; /* SMALL_VALUES entries, or NULL */
    /* the first VMA's fields */
    const char *field_name[MAX_FIELDS];
    Py_ssize_t field_len[MAX_FIELDS];
    char field_kb[MAX_FIELDS];
    int nfields;
} Parse;

static void parse_free(Parse *ps) {
    free(ps->start.items);
    free(ps->end.items);
    free(ps->offset.items);
    free(ps->inode.items);
    obj_free(&ps->perms);
    obj_free(&ps->device);
    obj_free(&ps->path);
    obj_free(&ps->flags);
    obj_free(&ps->values);
    for (int i = 0; i < 16; i++)
        Py_CLEAR(ps->perm_str[i]);
    recent_free(&ps->devices);
    recent_free(&ps->flag_texts);
    Py_CLEAR(ps->last_path);
    if (ps->small != NULL) {
        for (int i = 0; i < SMALL_VALUES; i++)
            Py_XDECREF(ps->small[i]);
        free(ps->small);
        ps->small = NULL;
    }
}

static int hex_digit(unsigned char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* 1 to max lowercase hex digits at *pp (before end), then the byte stop. */
static int hex_then(const char **pp, const char *end, int max, char stop, uint64_t *out) {
    const char *p = *pp;
    uint64_t v = 0;
    int n = 0, d;
    while (p < end && n < max && (d = hex_digit((unsigned char)*p)) >= 0) {
        v = v << 4 | (uint64_t)d;
        p++;
        n++;
    }
    if (n == 0 || p >= end || *p != stop)
        return 0;
    *pp = p + 1;
    *out = v;
    return 1;
}

/* Parses the header line [p, eol) (eol at its newline) and appends its columns.
   1: done; 0: not canonical; -1: MemoryError. */
static int header(Parse *ps, const char *p, const char *eol) {
    uint64_t start, end, offset, major, minor, inode = 0;
    const char *dev;
    if (!hex_then(&p, eol, 16, '-', &start) || !hex_then(&p, eol, 16, ' ', &end))
        return 0;
    if (start >= end || eol - p < 5 || p[4] != ' ')
        return 0;
    int perm = 0;
    if (p[0] == 'r') perm |= 1; else if (p[0] != '-') return 0;
    if (p[1] == 'w') perm |= 2; else if (p[1] != '-') return 0;
    if (p[2] == 'x') perm |= 4; else if (p[2] != '-') return 0;
    if (p[3] == 's') perm |= 8; else if (p[3] != 'p') return 0;
    const char *perms = p;
    p += 5;
    if (!hex_then(&p, eol, 16, ' ', &offset))
        return 0;
    dev = p;
    if (!hex_then(&p, eol, 8, ':', &major) || !hex_then(&p, eol, 8, ' ', &minor))
        return 0;
    Py_ssize_t dev_len = p - 1 - dev;
    int n = 0;
    while (p < eol && *p >= '0' && *p <= '9') {
        unsigned d = (unsigned)(*p - '0');
        if (n == 20 || inode > (UINT64_MAX - d) / 10)
            return 0; /* 21 digits, or beyond 64 bits */
        inode = inode * 10 + d;
        p++;
        n++;
    }
    if (n == 0 || (p < eol && *p != ' '))
        return 0;
    while (p < eol && *p == ' ')
        p++;
    /* p..eol: the name (maybe empty) */

    PyObject *perm_s = ps->perm_str[perm];
    if (perm_s == NULL && (perm_s = ps->perm_str[perm] = ascii_str(perms, 4)) == NULL)
        return -1;
    PyObject *dev_s = recent_str(&ps->devices, dev, dev_len);
    if (dev_s == NULL)
        return -1;
    Py_ssize_t name_len = eol - p;
    if (ps->last_path == NULL || name_len != ps->last_name_len ||
        memcmp(p, ps->last_name, (size_t)name_len) != 0) {
        PyObject *s = PyUnicode_DecodeUTF8(p, name_len, "surrogateescape");
        if (s == NULL)
            return -1; /* surrogateescape decodes any bytes: only memory can fail */
        Py_XSETREF(ps->last_path, s);
        ps->last_name = p;
        ps->last_name_len = name_len;
    }
    if (u64_push(&ps->start, start) < 0 || u64_push(&ps->end, end) < 0 ||
        u64_push(&ps->offset, offset) < 0 || u64_push(&ps->inode, inode) < 0 ||
        obj_push(&ps->perms, perm_s) < 0 || obj_push(&ps->device, dev_s) < 0 ||
        obj_push(&ps->path, ps->last_path) < 0)
        return -1;
    return 1;
}

static int is_letter(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* The value text s[:n] (1 to MAX_DIGITS ASCII digits) as a str; borrowed when small. */
static int push_value(Parse *ps, const char *s, Py_ssize_t n) {
    if (n <= 4 && (n == 1 || s[0] != '0')) {
        int v = 0;
        for (Py_ssize_t i = 0; i < n; i++)
            v = v * 10 + (s[i] - '0');
        PyObject *u = ps->small[v];
        if (u == NULL && (u = ps->small[v] = ascii_str(s, n)) == NULL)
            return -1;
        return obj_push(&ps->values, u);
    }
    PyObject *u = ascii_str(s, n);
    if (u == NULL)
        return -1;
    int rc = obj_push(&ps->values, u);
    Py_DECREF(u);
    return rc;
}

/* The value after a field's "NAME:" at p: " *DEC" then "\n" or " kB\n".
   Sets *kb and *next (past the newline). 1, 0 (not canonical) or -1 (MemoryError). */
static int field_value(Parse *ps, const char *p, const char *end, int *kb, const char **next) {
    /* the kernel pads names to a column: skip spaces eight at a time first */
    static const uint64_t spaces = 0x2020202020202020u;
    uint64_t word;
    while (end - p >= 8 && (memcpy(&word, p, 8), word == spaces))
        p += 8;
    while (p < end && *p == ' ')
        p++;
    const char *digits = p;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    Py_ssize_t n = p - digits;
    if (n == 0 || n > MAX_DIGITS || p >= end)
        return 0;
    if (*p == '\n') {
        *kb = 0;
        *next = p + 1;
    } else if (end - p >= 4 && memcmp(p, " kB\n", 4) == 0) {
        *kb = 1;
        *next = p + 4;
    } else {
        return 0;
    }
    return push_value(ps, digits, n) < 0 ? -1 : 1;
}

static const char VMFLAGS[] = "VmFlags: ";
#define VMFLAGS_LEN 9

/* The VmFlags line at p (after "VmFlags: "): printable ASCII, one trailing space dropped. */
static int flags_line(Parse *ps, const char *p, const char *end, const char **next) {
    const char *q = p;
    while (q < end && *q >= 0x20 && *q <= 0x7e)
        q++;
    if (q >= end || *q != '\n')
        return 0;
    *next = q + 1;
    Py_ssize_t n = q - p;
    if (n > 0 && p[n - 1] == ' ')
        n--;
    PyObject *s = recent_str(&ps->flag_texts, p, n);
    return s == NULL || obj_push(&ps->flags, s) < 0 ? -1 : 1;
}

static int starts_vmflags(const char *p, const char *end) {
    return end - p >= VMFLAGS_LEN && memcmp(p, VMFLAGS, VMFLAGS_LEN) == 0;
}

/* The first VMA's field lines, from p to its VmFlags line: learns the field layout. */
static int first_fields(Parse *ps, const char **pp, const char *end) {
    const char *p = *pp;
    int rc, kb;
    while (p < end && !starts_vmflags(p, end)) {
        const char *name = p;
        if (!is_letter((unsigned char)*p))
            return 0;
        while (p < end && (is_letter((unsigned char)*p) || *p == '_'))
            p++;
        if (p >= end || *p != ':' || ps->nfields == MAX_FIELDS)
            return 0;
        Py_ssize_t len = p - name;
        if (len == 7 && memcmp(name, "VmFlags", 7) == 0)
            return 0; /* "VmFlags:5" would be a field here, and a VmFlags line in "VmFlags: 5" */
        if ((rc = field_value(ps, p + 1, end, &kb, &p)) != 1)
            return rc;
        ps->field_name[ps->nfields] = name;
        ps->field_len[ps->nfields] = len;
        ps->field_kb[ps->nfields] = (char)kb;
        ps->nfields++;
    }
    if (ps->nfields == 0)
        return 0;
    *pp = p;
    return 1;
}

/* A later VMA's field lines: exactly the first VMA's names and units, in order. */
static int same_fields(Parse *ps, const char **pp, const char *end) {
    const char *p = *pp;
    int rc, kb;
    for (int j = 0; j < ps->nfields; j++) {
        Py_ssize_t len = ps->field_len[j];
        /* the first VMA's name is followed by its ':' in data: compare both */
        if (end - p <= len || memcmp(p, ps->field_name[j], (size_t)len + 1) != 0)
            return 0;
        if ((rc = field_value(ps, p + len + 1, end, &kb, &p)) != 1)
            return rc;
        if (kb != ps->field_kb[j])
            return 0;
    }
    *pp = p;
    return 1;
}

static PyObject *int_tuple(const U64Vec *v) {
    PyObject *t = PyTuple_New(v->len);
    if (t == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < v->len; i++) {
        PyObject *x = PyLong_FromUnsignedLongLong(v->items[i]);
        if (x == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, x);
    }
    return t;
}

/* A tuple of items[first], items[first + step], ... (count of them), moved from v (their
   places left NULL, which obj_free skips). */
static PyObject *obj_tuple(ObjVec *v, Py_ssize_t first, Py_ssize_t step, Py_ssize_t count) {
    PyObject *t = PyTuple_New(count);
    if (t == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyTuple_SET_ITEM(t, i, v->items[first + i * step]);
        v->items[first + i * step] = NULL;
    }
    return t;
}

/* The 7 MapsTable columns, then the extra items (stolen; NULL for none). */
static PyObject *result(Parse *ps, PyObject *extra) {
    Py_ssize_t n = ps->start.len, extra_len = extra ? PyTuple_GET_SIZE(extra) : 0;
    PyObject *out = PyTuple_New(7 + extra_len);
    if (out == NULL)
        goto fail;
    PyObject *cols[7] = {
        int_tuple(&ps->start), int_tuple(&ps->end), obj_tuple(&ps->perms, 0, 1, n),
        int_tuple(&ps->offset), obj_tuple(&ps->device, 0, 1, n), int_tuple(&ps->inode),
        obj_tuple(&ps->path, 0, 1, n),
    };
    int ok = 1;
    for (int i = 0; i < 7; i++) {
        if (cols[i] == NULL)
            ok = 0;
        PyTuple_SET_ITEM(out, i, cols[i] ? cols[i] : Py_NewRef(Py_None));
    }
    for (Py_ssize_t i = 0; i < extra_len; i++)
        PyTuple_SET_ITEM(out, 7 + i, Py_NewRef(PyTuple_GET_ITEM(extra, i)));
    Py_XDECREF(extra);
    if (!ok) {
        Py_DECREF(out);
        return NULL;
    }
    return out;
fail:
    Py_XDECREF(extra);
    return NULL;
}

static PyObject *smaps_extra(Parse *ps) {
    int k = ps->nfields;
    Py_ssize_t n = ps->flags.len;
    PyObject *fields = PyTuple_New(k), *in_kb = PyTuple_New(k), *columns = PyTuple_New(k);
    PyObject *flags = obj_tuple(&ps->flags, 0, 1, n);
    if (fields == NULL || in_kb == NULL || columns == NULL || flags == NULL)
        goto fail;
    for (int j = 0; j < k; j++) {
        PyObject *name = ascii_str(ps->field_name[j], ps->field_len[j]);
        if (name == NULL)
            goto fail;
        PyTuple_SET_ITEM(fields, j, name);
        PyTuple_SET_ITEM(in_kb, j, PyBool_FromLong(ps->field_kb[j]));
        PyObject *column = obj_tuple(&ps->values, j, k, n);
        if (column == NULL)
            goto fail;
        PyTuple_SET_ITEM(columns, j, column);
    }
    PyObject *extra = PyTuple_Pack(4, fields, in_kb, columns, flags);
    Py_DECREF(fields);
    Py_DECREF(in_kb);
    Py_DECREF(columns);
    Py_DECREF(flags);
    return extra;
fail:
    /* tuples still holding NULL items are freed safely by CPython */
    Py_XDECREF(fields);
    Py_XDECREF(in_kb);
    Py_XDECREF(columns);
    Py_XDECREF(flags);
    return NULL;
}

/* rc of a step: 1 go on, 0 decline, -1 MemoryError */
#define STEP(expr)            \
    do {                      \
        int rc_ = (expr);     \
        if (rc_ != 1) {       \
            status = rc_;     \
            goto done;        \
        }                     \
    } while (0)

static int bytes_arg(PyObject *arg, const char **data, Py_ssize_t *len) {
    if (!PyBytes_Check(arg))
        return 0;
    *data = PyBytes_AS_STRING(arg);
    *len = PyBytes_GET_SIZE(arg);
    return *len > 0 && (*data)[*len - 1] == '\n';
}

static PyObject *parse_smaps(PyObject *module, PyObject *arg) {
    (void)module;
    const char *p, *end;
    Py_ssize_t len;
    if (!bytes_arg(arg, &p, &len))
        Py_RETURN_NONE;
    end = p + len;
    Parse ps;
    memset(&ps, 0, sizeof ps);
    PyObject *out = NULL;
    int status = 1;
    ps.small = calloc(SMALL_VALUES, sizeof(PyObject *));
    if (ps.small == NULL) {
        PyErr_NoMemory();
        status = -1;
        goto done;
    }
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        STEP(header(&ps, p, eol));
        p = eol + 1;
        STEP(ps.start.len == 1 ? first_fields(&ps, &p, end) : same_fields(&ps, &p, end));
        STEP(starts_vmflags(p, end));
        STEP(flags_line(&ps, p + VMFLAGS_LEN, end, &p));
    }
    PyObject *extra = smaps_extra(&ps);
    out = extra == NULL ? NULL : result(&ps, extra);
    status = out == NULL ? -1 : 1;
done:
    parse_free(&ps);
    if (status == 0)
        Py_RETURN_NONE;
    return out;
}

static PyObject *parse_maps(PyObject *module, PyObject *arg) {
    (void)module;
    const char *p, *end;
    Py_ssize_t len;
    if (!bytes_arg(arg, &p, &len))
        Py_RETURN_NONE;
    end = p + len;
    Parse ps;
    memset(&ps, 0, sizeof ps);
    PyObject *out = NULL;
    int status = 1;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        STEP(header(&ps, p, eol));
        p = eol + 1;
    }
    out = result(&ps, NULL);
    status = out == NULL ? -1 : 1;
done:
    parse_free(&ps);
    if (status == 0)
        Py_RETURN_NONE;
    return out;
}

static PyMethodDef methods[] = {
    {"parse_smaps", parse_smaps, METH_O,
     "The columns of /proc/PID/smaps in canonical form, or None for the pure parser."},
    {"parse_maps", parse_maps, METH_O,
     "The columns of /proc/PID/maps in canonical form, or None for the pure parser."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "memlens.procfs._smaps",
    "Compiled twin of memlens.procfs.smaps_parser and maps_parser (canonical input only).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__smaps(void) {
    return PyModule_Create(&module);
}
