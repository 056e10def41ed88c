/* The compiled twin of memlens/procfs/pid_parsers.py (parse_status, parse_stat,
   stat_identity) and of smaps_parser.py's parse_rollup.

   Each function takes the whole content of the file, as bytes, and returns what the
   pure-Python function returns for it (the same records, the same values, the same types),
   or None where the text is not in the form it accepts: the pure-Python code then decides,
   and names the offending line. NULL (with an exception) only on MemoryError.

   What each accepts (fs/proc/array.c, fs/proc/task_mmu.c):
     status        lines "KEY:VALUE" (no empty line, a final newline); the "N kB" lines with
                   1-14 digits; Name, State, Tgid, Pid, PPid, Uid and Gid present, the ids
                   (and Threads, if present) 1-18 digits, Uid and Gid four of them
     stat          "PID (COMM) " then at least 22 fields separated by ASCII blanks: the state
                   (ASCII), then numbers -?[0-9]+ within 64 bits; PID 1-18 digits
     stat_identity what pid_parsers.stat_identity accepts, its 22nd field and flags within
                   64 bits (it returns None itself where the text is not a stat line)
     smaps_rollup  the header line, then one or more "NAME: *DEC( *kB)?" lines (NAME
                   [A-Za-z][A-Za-z0-9_]*, DEC 1-14 digits), a final newline

   The snake_case names of the status and rollup labels come from memlens.models.maps
   .snake_name, called once per label and kept here (never freed, never replaced). The
   records are the classes of memlens.models, made as tuple.__new__(cls, items), as their
   own __new__ does. The GIL is held throughout; the only Python code that can run meanwhile
   (snake_name, or a collector's finalizer) finds the label table consistent. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#define MAX_KB_DIGITS 14 /* pid_parsers._MAX_KB_DIGITS, smaps_parser._MAX_DIGITS */
#define MAX_ID_DIGITS 18 /* ids, counts: within int64 whatever the digits */
#define MAX_STAT_FIELDS 80 /* 52 in Linux 6.x; beyond that, decline */

static PyTypeObject *stat_type, *status_type, *rollup_type;
static PyObject *snake_name;

/* ---- small helpers ---- */

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int is_space(char c) /* Python's bytes.split() whitespace */
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

static int is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

/* Character classes, one table look-up each (filled when the module loads). */
enum { C_DIGIT = 1, C_KB_LABEL = 2 /* [A-Za-z_] */, C_LABEL = 4 /* [A-Za-z0-9_] */, C_BLANK = 8 };
static unsigned char char_class[256];

static void fill_classes(void)
{
    for (int c = 0; c < 256; c++) {
        int alpha = is_alpha((char)c), digit = is_digit((char)c), under = c == '_';
        char_class[c] = (unsigned char)((digit ? C_DIGIT : 0) | (alpha || under ? C_KB_LABEL : 0) |
                                        (alpha || digit || under ? C_LABEL : 0) |
                                        (is_space((char)c) ? C_BLANK : 0));
    }
}

static int has_class(char c, int cls) { return char_class[(unsigned char)c] & cls; }

static int is_blank(char c) { return has_class(c, C_BLANK); }

/* The value of n (1-20) ASCII digits; -1 when empty, not all digits, or beyond 2^64 - 1. */
static int digits_u64(const char *p, Py_ssize_t n, uint64_t *out)
{
    if (n < 1 || n > 20)
        return -1;
    uint64_t v = 0;
    Py_ssize_t safe = n < 19 ? n : 19; /* 19 digits are below 2^64 */
    for (Py_ssize_t i = 0; i < safe; i++) {
        if (!is_digit(p[i]))
            return -1;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    if (n == 20) {
        unsigned d = (unsigned)(p[19] - '0');
        if (!is_digit(p[19]) || v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* None (a new reference), or NULL where the failure is a MemoryError: the caller declines
   anything else (what failed is the pure-Python code's to report). */
static PyObject *decline(void)
{
    if (PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_MemoryError))
            return NULL;
        PyErr_Clear();
    }
    Py_RETURN_NONE;
}

/* cls(*items) for a NamedTuple class, as its __new__ does: tuple.__new__(cls, items).
   Steals items. */
static PyObject *make_record(PyTypeObject *cls, PyObject *items)
{
    if (items == NULL)
        return NULL;
    PyObject *args = PyTuple_Pack(1, items);
    Py_DECREF(items);
    if (args == NULL)
        return NULL;
    PyObject *record = PyTuple_Type.tp_new(cls, args, NULL);
    Py_DECREF(args);
    return record;
}

/* ---- snake_case names of labels, converted once ---- */

#define SNAKE_SLOTS 512 /* a power of two; filled at most half */
#define SNAKE_KEY 48    /* longer labels are converted at every use */

typedef struct {
    Py_ssize_t len;
    char key[SNAKE_KEY];
    PyObject *name; /* NULL: a free slot */
} SnakeSlot;

static SnakeSlot snake_table[SNAKE_SLOTS];
static int snake_count;

#define HASH_START 2166136261u /* FNV-1a, one byte at a time */
#define HASH_STEP(h, c) (((h) ^ (unsigned char)(c)) * 16777619u)

static uint32_t label_hash(const char *p, Py_ssize_t n)
{
    uint32_t h = HASH_START;
    for (Py_ssize_t i = 0; i < n; i++)
        h = HASH_STEP(h, p[i]);
    return h;
}

static SnakeSlot *snake_find(const char *p, Py_ssize_t n, uint32_t hash)
{
    size_t i = hash & (SNAKE_SLOTS - 1);
    while (snake_table[i].name != NULL) {
        if (snake_table[i].len == n && memcmp(snake_table[i].key, p, (size_t)n) == 0)
            return &snake_table[i];
        i = (i + 1) & (SNAKE_SLOTS - 1);
    }
    return &snake_table[i];
}

/* snake_name(label) (a new reference) for an ASCII label whose label_hash is hash, or NULL
   with an exception. */
static PyObject *snake(const char *p, Py_ssize_t n, uint32_t hash)
{
    if (n <= SNAKE_KEY) {
        SnakeSlot *slot = snake_find(p, n, hash);
        if (slot->name != NULL) {
            Py_INCREF(slot->name);
            return slot->name;
        }
    }
    PyObject *label = PyUnicode_DecodeASCII(p, n, NULL);
    if (label == NULL)
        return NULL;
    PyObject *name = PyObject_CallOneArg(snake_name, label);
    Py_DECREF(label);
    if (name == NULL)
        return NULL;
    if (!PyUnicode_CheckExact(name)) {
        Py_DECREF(name);
        PyErr_SetString(PyExc_TypeError, "snake_name did not return a str");
        return NULL;
    }
    if (n <= SNAKE_KEY && snake_count < SNAKE_SLOTS / 2) {
        /* Looked up again: another thread may have added it while snake_name ran. */
        SnakeSlot *slot = snake_find(p, n, hash);
        if (slot->name == NULL) {
            memcpy(slot->key, p, (size_t)n);
            slot->len = n;
            Py_INCREF(name);
            slot->name = name;
            snake_count++;
        }
    }
    return name;
}

/* values[name] = number; steals both. 0, or -1 with an exception. */
static int set_value(PyObject *values, PyObject *name, PyObject *number)
{
    int rc = name && number ? PyDict_SetItem(values, name, number) : -1;
    Py_XDECREF(name);
    Py_XDECREF(number);
    return rc;
}

/* ---- /proc/PID/status ---- */

/* The keys parse_status reads by name: the decimal counts of pid_parsers._DECIMAL_STATUS in
   sorted order (the order in which it adds them), then the record's own fields. */
static const char *const status_keys[] = {
    "CoreDumping", "FDSize", "Kthread", "NSpgid", "NSpid", "NSsid", "NStgid", "Ngid",
    "NoNewPrivs", "PPid", "Pid", "Seccomp", "Seccomp_filters", "THP_enabled", "Tgid",
    "Threads", "TracerPid", "nonvoluntary_ctxt_switches", "voluntary_ctxt_switches",
    "Name", "State", "Uid", "Gid",
};
#define N_DECIMAL 19
#define N_STATUS_KEYS 23
enum { K_PPID = 9, K_PID = 10, K_TGID = 14, K_THREADS = 15 };
enum { K_NAME = 19, K_STATE, K_UID, K_GID };

#define MAX_KEY 26   /* the longest of them */
#define PER_LENGTH 4 /* at most this many of one length */
static Py_ssize_t status_key_len[N_STATUS_KEYS];
static signed char keys_of_length[MAX_KEY + 1][PER_LENGTH + 1]; /* -1 after the last */
static PyObject *decimal_names[N_DECIMAL]; /* snake_name of each decimal key */

/* The key's index in status_keys, or -1. */
static int status_key(const char *key, Py_ssize_t n)
{
    if (n > MAX_KEY)
        return -1;
    for (const signed char *k = keys_of_length[n]; *k >= 0; k++)
        if (memcmp(status_keys[*k], key, (size_t)n) == 0)
            return *k;
    return -1;
}

static int index_status_keys(void)
{
    memset(keys_of_length, -1, sizeof keys_of_length);
    for (int k = 0; k < N_STATUS_KEYS; k++) {
        size_t n = strlen(status_keys[k]);
        int at = 0;
        if (n > MAX_KEY)
            return -1;
        while (keys_of_length[n][at] >= 0)
            at++;
        if (at == PER_LENGTH)
            return -1;
        keys_of_length[n][at] = (signed char)k;
        status_key_len[k] = (Py_ssize_t)n;
    }
    for (int k = 0; k < N_DECIMAL; k++) {
        decimal_names[k] = snake(status_keys[k], status_key_len[k],
                                 label_hash(status_keys[k], status_key_len[k]));
        if (decimal_names[k] == NULL)
            return -1;
    }
    return 0;
}

typedef struct {
    const char *p; /* NULL: absent */
    Py_ssize_t n;
} Span;

/* A "Key: N kB" line as pid_parsers._KB_LINE matches it (rest: after the colon): the
   number's digits, or n = 0 where it is not one. */
static Span kb_number(const char *key, Py_ssize_t klen, const char *rest, Py_ssize_t rlen)
{
    Span none = {NULL, 0};
    if (klen < 1 || rlen < 5 || (rest[0] != ' ' && rest[0] != '\t') || rest[rlen - 1] != 'B')
        return none;
    for (Py_ssize_t i = 0; i < klen; i++)
        if (!has_class(key[i], C_KB_LABEL))
            return none;
    Py_ssize_t i = 0;
    while (i < rlen && (rest[i] == ' ' || rest[i] == '\t'))
        i++;
    Py_ssize_t start = i;
    while (i < rlen && has_class(rest[i], C_DIGIT))
        i++;
    if (i == start || rlen - i != 3 || memcmp(rest + i, " kB", 3) != 0)
        return none;
    Span digits = {rest + start, i - start};
    return digits;
}

/* An id or count (1-18 digits) as int; NULL without exception where it is not one. */
static PyObject *small_number(Span s)
{
    uint64_t v;
    if (s.p == NULL || s.n > MAX_ID_DIGITS || digits_u64(s.p, s.n, &v) < 0)
        return NULL;
    return PyLong_FromUnsignedLongLong(v);
}

/* Four ids separated by blanks (Uid, Gid), as a tuple; NULL where they are not. */
static PyObject *four_ids(Span s)
{
    if (s.p == NULL)
        return NULL;
    PyObject *ids = PyTuple_New(4);
    if (ids == NULL)
        return NULL;
    int count = 0;
    Py_ssize_t i = 0;
    while (1) {
        while (i < s.n && is_blank(s.p[i]))
            i++;
        if (i == s.n)
            break;
        Py_ssize_t start = i;
        while (i < s.n && !is_blank(s.p[i]))
            i++;
        Span token = {s.p + start, i - start};
        PyObject *id = count < 4 ? small_number(token) : NULL;
        if (id == NULL) {
            Py_DECREF(ids);
            return NULL;
        }
        PyTuple_SET_ITEM(ids, count++, id);
    }
    if (count != 4) {
        Py_DECREF(ids);
        return NULL;
    }
    return ids;
}

/* State: the first byte of the value after ASCII blanks, "" if none (bytes.strip()[:1]). */
static PyObject *state_letter(Span s)
{
    Py_ssize_t i = 0;
    while (i < s.n && is_blank(s.p[i]))
        i++;
    if (i == s.n)
        return PyUnicode_FromStringAndSize("", 0);
    if ((unsigned char)s.p[i] >= 0x80)
        return NULL;
    return PyUnicode_FromStringAndSize(s.p + i, 1);
}

/* A tuple of n items, made one after the other by make(i) until one fails (NULL: declined,
   or a MemoryError); NULL then, with no call made after the failure. */
static PyObject *tuple_of(int n, PyObject *(*make)(int, const void *), const void *from)
{
    PyObject *items = PyTuple_New(n);
    for (int i = 0; items != NULL && i < n; i++) {
        PyObject *item = make(i, from);
        if (item == NULL)
            Py_CLEAR(items); /* the items not yet made are NULL: allowed in a dropped tuple */
        else
            PyTuple_SET_ITEM(items, i, item);
    }
    return items;
}

typedef struct {
    const Span *known;
    PyObject *values;
} StatusParts;

static PyObject *status_item(int i, const void *from)
{
    const StatusParts *parts = from;
    const Span *known = parts->known;
    switch (i) {
    case 0:
        if (known[K_NAME].p == NULL)
            return NULL;
        return PyUnicode_DecodeUTF8(known[K_NAME].p, known[K_NAME].n, "surrogateescape");
    case 1:
        return known[K_STATE].p ? state_letter(known[K_STATE]) : NULL;
    case 2:
        return small_number(known[K_TGID]);
    case 3:
        return small_number(known[K_PID]);
    case 4:
        return small_number(known[K_PPID]);
    case 5:
        return four_ids(known[K_UID]);
    case 6:
        return four_ids(known[K_GID]);
    case 7:
        return known[K_THREADS].p ? small_number(known[K_THREADS]) : Py_NewRef(Py_None);
    default:
        return PyDictProxy_New(parts->values);
    }
}

static PyObject *parse_status(PyObject *module, PyObject *data)
{
    (void)module;
    if (!PyBytes_CheckExact(data))
        Py_RETURN_NONE;
    const char *p = PyBytes_AS_STRING(data);
    Py_ssize_t size = PyBytes_GET_SIZE(data);
    if (size == 0 || p[size - 1] != '\n')
        Py_RETURN_NONE;
    Span known[N_STATUS_KEYS];
    memset(known, 0, sizeof known);
    PyObject *values = PyDict_New();
    if (values == NULL)
        return NULL;
    const char *end = p + size;
    for (const char *line = p; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (eol == line || colon == NULL)
            goto declined; /* an empty line, or one without a colon */
        Py_ssize_t klen = colon - line;
        const char *rest = colon + 1;
        Span kb = kb_number(line, klen, rest, eol - rest);
        if (kb.n > MAX_KB_DIGITS)
            goto declined; /* beyond any address space: the pure code names the line */
        if (kb.n > 0) {
            uint64_t v;
            if (digits_u64(kb.p, kb.n, &v) < 0 ||
                set_value(values, snake(line, klen, label_hash(line, klen)),
                          PyLong_FromUnsignedLongLong(v << 10)) < 0)
                goto declined;
        }
        int k = status_key(line, klen);
        if (k >= 0) { /* the last one wins, as in a dict */
            known[k].p = rest < eol && (*rest == ' ' || *rest == '\t') ? rest + 1 : rest;
            known[k].n = eol - known[k].p;
        }
        line = eol + 1;
    }
    for (int k = 0; k < N_DECIMAL; k++) {
        Span s = known[k];
        if (s.p == NULL || s.n < 1 || s.n > 20)
            continue;
        int all_digits = 1;
        for (Py_ssize_t i = 0; i < s.n; i++)
            all_digits &= is_digit(s.p[i]);
        if (!all_digits)
            continue;
        uint64_t v;
        PyObject *number;
        if (digits_u64(s.p, s.n, &v) == 0) {
            number = PyLong_FromUnsignedLongLong(v);
        } else { /* 20 digits beyond 2^64: kept all the same, as int() keeps them */
            char text[21];
            memcpy(text, s.p, (size_t)s.n);
            text[s.n] = '\0';
            number = PyLong_FromString(text, NULL, 10);
        }
        if (set_value(values, Py_NewRef(decimal_names[k]), number) < 0)
            goto declined;
    }
    StatusParts parts = {known, values};
    PyObject *items = tuple_of(9, status_item, &parts);
    PyObject *record = items ? make_record(status_type, items) : NULL;
    Py_DECREF(values);
    return record != NULL ? record : decline();
declined:
    Py_DECREF(values);
    return decline();
}

/* ---- /proc/PID/stat ---- */

/* The last ')' of p[0:n], or -1. */
static Py_ssize_t last_paren(const char *p, Py_ssize_t n)
{
    for (Py_ssize_t i = n - 1; i >= 0; i--)
        if (p[i] == ')')
            return i;
    return -1;
}

/* Up to max tokens of p[0:n] split at runs of ASCII blanks (bytes.split()); the number found,
   or max + 1 where there are more. */
static int split_blanks(const char *p, Py_ssize_t n, Span *tokens, int max)
{
    int count = 0;
    Py_ssize_t i = 0;
    while (1) {
        while (i < n && is_blank(p[i]))
            i++;
        if (i == n)
            return count;
        if (count == max)
            return max + 1;
        Py_ssize_t start = i;
        while (i < n && !is_blank(p[i]))
            i++;
        tokens[count].p = p + start;
        tokens[count].n = i - start;
        count++;
    }
}

typedef struct {
    uint64_t magnitude;
    int negative;
} Number;

/* A stat field, -?[0-9]{1,20}; within 64 bits (a negative one within int64). */
static int stat_number(Span s, Number *out)
{
    int negative = s.n > 0 && s.p[0] == '-';
    if (digits_u64(s.p + negative, s.n - negative, &out->magnitude) < 0)
        return -1;
    if (negative && out->magnitude > (uint64_t)INT64_MAX)
        return -1;
    out->negative = negative;
    return 0;
}

static PyObject *number_object(Number v)
{
    if (v.negative)
        return PyLong_FromLongLong(-(long long)v.magnitude);
    return PyLong_FromUnsignedLongLong(v.magnitude);
}

/* parse_stat's address fields: None where the kernel masked them (0 or 1) or did not print
   them. */
static PyObject *address_object(const Number *fields, int count, int field)
{
    int at = field - 3; /* field k (1-based, proc_pid_stat(5)) is token k - 3 after ')' */
    if (at >= count)
        Py_RETURN_NONE;
    Number v = fields[at];
    if (v.magnitude == 0 || (v.magnitude == 1 && !v.negative))
        Py_RETURN_NONE;
    return number_object(v);
}

typedef struct {
    uint64_t pid;
    const char *comm;
    Py_ssize_t comm_len;
    Span state;
    const Number *fields;
    int count;
} StatParts;

/* The record's fields in order: pid, comm, state, ten counts, ten addresses. */
static PyObject *stat_item(int i, const void *from)
{
    static const int counts[] = {4, 9, 10, 11, 12, 13, 20, 22, 23, 24};
    static const int addresses[] = {26, 27, 28, 45, 46, 47, 48, 49, 50, 51};
    const StatParts *parts = from;
    if (i == 0)
        return PyLong_FromUnsignedLongLong(parts->pid);
    if (i == 1)
        return PyUnicode_DecodeUTF8(parts->comm, parts->comm_len, "surrogateescape");
    if (i == 2)
        return PyUnicode_DecodeASCII(parts->state.p, parts->state.n, NULL);
    if (i < 13)
        return number_object(parts->fields[counts[i - 3] - 3]);
    return address_object(parts->fields, parts->count, addresses[i - 13]);
}

static PyObject *parse_stat(PyObject *module, PyObject *data)
{
    (void)module;
    if (!PyBytes_CheckExact(data))
        Py_RETURN_NONE;
    const char *p = PyBytes_AS_STRING(data);
    Py_ssize_t size = PyBytes_GET_SIZE(data);
    const char *open = memchr(p, '(', (size_t)size);
    Py_ssize_t close = last_paren(p, size);
    if (open == NULL || close < open - p || close + 1 >= size || p[close + 1] != ' ')
        Py_RETURN_NONE;
    Py_ssize_t open_at = open - p;
    uint64_t pid;
    if (open_at < 2 || p[open_at - 1] != ' ' || open_at - 1 > MAX_ID_DIGITS ||
        digits_u64(p, open_at - 1, &pid) < 0)
        Py_RETURN_NONE;
    Span tokens[MAX_STAT_FIELDS];
    int count = split_blanks(p + close + 2, size - close - 2, tokens, MAX_STAT_FIELDS);
    if (count < 22 || count > MAX_STAT_FIELDS)
        Py_RETURN_NONE;
    for (Py_ssize_t i = 0; i < tokens[0].n; i++)
        if ((unsigned char)tokens[0].p[i] >= 0x80)
            Py_RETURN_NONE;
    Number fields[MAX_STAT_FIELDS];
    fields[0].magnitude = 0;
    fields[0].negative = 0;
    for (int i = 1; i < count; i++)
        if (stat_number(tokens[i], &fields[i]) < 0)
            Py_RETURN_NONE;
    StatParts parts = {pid, open + 1, close - open_at - 1, tokens[0], fields, count};
    PyObject *items = tuple_of(23, stat_item, &parts);
    if (items == NULL)
        return decline();
    PyObject *record = make_record(stat_type, items);
    return record != NULL ? record : decline();
}

static PyObject *stat_identity(PyObject *module, PyObject *data)
{
    (void)module;
    if (!PyBytes_CheckExact(data))
        Py_RETURN_NONE;
    const char *p = PyBytes_AS_STRING(data);
    Py_ssize_t size = PyBytes_GET_SIZE(data);
    Py_ssize_t start = last_paren(p, size) + 2; /* data[data.rfind(b")") + 2 :] */
    if (start > size)
        start = size;
    Span tokens[20];
    if (split_blanks(p + start, size - start, tokens, 20) < 20)
        Py_RETURN_NONE; /* not a stat line: the answer is None either way */
    uint64_t start_time, flags;
    if (digits_u64(tokens[19].p, tokens[19].n, &start_time) < 0 ||
        digits_u64(tokens[6].p, tokens[6].n, &flags) < 0)
        Py_RETURN_NONE;
    PyObject *state = PyUnicode_DecodeASCII(tokens[0].p, tokens[0].n, "replace");
    if (state == NULL)
        return decline();
    PyObject *a = PyLong_FromUnsignedLongLong(start_time);
    PyObject *b = PyLong_FromUnsignedLongLong(flags);
    PyObject *result = a && b ? PyTuple_Pack(3, a, state, b) : NULL;
    Py_XDECREF(a);
    Py_XDECREF(b);
    Py_DECREF(state);
    return result != NULL ? result : decline();
}

/* ---- /proc/PID/smaps_rollup ---- */

/* A run of 1 to max characters of one class, then the character that must follow. */
static const char *run(const char *p, const char *end, int (*in)(char), int max, char then)
{
    const char *start = p;
    while (p < end && in(*p))
        p++;
    if (p == start || p - start > max || p == end || *p != then)
        return NULL;
    return p + 1;
}

static int parse_hex(const char *p, const char *end, uint64_t *out)
{
    uint64_t v = 0;
    for (; p < end; p++)
        v = v << 4 | (uint64_t)(is_digit(*p) ? *p - '0' : *p - 'a' + 10);
    *out = v;
    return 0;
}

/* The rollup header, as maps_parser._HEADER fullmatches it; its first two numbers. */
static int rollup_header(const char *p, const char *end, uint64_t *low, uint64_t *high)
{
    const char *dash = run(p, end, is_hex, 16, '-');
    const char *perms = dash ? run(dash, end, is_hex, 16, ' ') : NULL;
    if (perms == NULL || end - perms < 5)
        return -1;
    if ((perms[0] != 'r' && perms[0] != '-') || (perms[1] != 'w' && perms[1] != '-') ||
        (perms[2] != 'x' && perms[2] != '-') || (perms[3] != 'p' && perms[3] != 's') ||
        perms[4] != ' ')
        return -1;
    const char *device = run(perms + 5, end, is_hex, 16, ' ');
    const char *minor = device ? run(device, end, is_hex, 8, ':') : NULL;
    const char *inode = minor ? run(minor, end, is_hex, 8, ' ') : NULL;
    if (inode == NULL)
        return -1;
    const char *q = inode;
    while (q < end && is_digit(*q))
        q++;
    if (q == inode || q - inode > 20 || (q < end && *q != ' '))
        return -1;
    parse_hex(p, dash - 1, low);
    parse_hex(dash, perms - 1, high);
    return 0;
}


typedef struct {
    uint64_t low, high;
    PyObject *values;
} RollupParts;

static PyObject *rollup_item(int i, const void *from)
{
    const RollupParts *parts = from;
    if (i < 2)
        return PyLong_FromUnsignedLongLong(i == 0 ? parts->low : parts->high);
    return PyDictProxy_New(parts->values);
}

static PyObject *parse_rollup(PyObject *module, PyObject *data)
{
    (void)module;
    if (!PyBytes_CheckExact(data))
        Py_RETURN_NONE;
    const char *p = PyBytes_AS_STRING(data);
    Py_ssize_t size = PyBytes_GET_SIZE(data);
    const char *end = p + size;
    const char *eol = memchr(p, '\n', (size_t)size);
    uint64_t low, high;
    if (eol == NULL || p[size - 1] != '\n' || eol + 1 == end ||
        rollup_header(p, eol, &low, &high) < 0)
        Py_RETURN_NONE;
    PyObject *values = PyDict_New();
    if (values == NULL)
        return NULL;
    for (const char *line = eol + 1; line < end; line = eol + 1) {
        eol = memchr(line, '\n', (size_t)(end - line));
        const char *q = line;
        int digit_run = 0, longest = 0;
        uint32_t hash = HASH_START;
        if (q == eol || !is_alpha(*q))
            goto declined;
        while (q < eol && has_class(*q, C_LABEL)) {
            if (has_class(*q, C_DIGIT)) {
                digit_run++;
                longest = digit_run > longest ? digit_run : longest;
            } else {
                digit_run = 0;
            }
            hash = HASH_STEP(hash, *q);
            q++;
        }
        /* 15 digits in a row anywhere: the pure code names the line */
        if (q == eol || *q != ':' || longest > MAX_KB_DIGITS)
            goto declined;
        Py_ssize_t label_len = q - line;
        q++;
        while (q < eol && *q == ' ')
            q++;
        const char *number = q;
        while (q < eol && is_digit(*q))
            q++;
        Py_ssize_t digits = q - number;
        int kb = 0;
        if (q < eol) {
            while (q < eol && *q == ' ')
                q++;
            if (eol - q != 2 || q[0] != 'k' || q[1] != 'B')
                goto declined;
            kb = 1;
        }
        uint64_t v;
        if (digits > MAX_KB_DIGITS || digits_u64(number, digits, &v) < 0 ||
            set_value(values, snake(line, label_len, hash),
                      PyLong_FromUnsignedLongLong(kb ? v << 10 : v)) < 0)
            goto declined;
    }
    RollupParts parts = {low, high, values};
    PyObject *items = tuple_of(3, rollup_item, &parts);
    Py_DECREF(values);
    if (items == NULL)
        return decline();
    PyObject *record = make_record(rollup_type, items);
    return record != NULL ? record : decline();
declined:
    Py_DECREF(values);
    return decline();
}

/* ---- the module ---- */

static PyMethodDef methods[] = {
    {"parse_status", parse_status, METH_O, "pid_parsers.parse_status, or None: declined"},
    {"parse_stat", parse_stat, METH_O, "pid_parsers.parse_stat, or None: declined"},
    {"stat_identity", stat_identity, METH_O, "pid_parsers.stat_identity, or None"},
    {"parse_rollup", parse_rollup, METH_O, "smaps_parser.parse_rollup, or None: declined"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "memlens.procfs._pid",
    "The compiled twin of pid_parsers.py and of smaps_parser.parse_rollup (see _pid.c).", -1,
    methods, NULL, NULL, NULL, NULL,
};

/* The record class module.name, checked to be a tuple with the fields this file fills. */
static PyTypeObject *record_class(const char *module, const char *name, const char *fields)
{
    PyObject *mod = PyImport_ImportModule(module);
    PyObject *cls = mod ? PyObject_GetAttrString(mod, name) : NULL;
    Py_XDECREF(mod);
    PyObject *have = cls ? PyObject_GetAttrString(cls, "_fields") : NULL;
    PyObject *text = have ? PyUnicode_FromString(fields) : NULL;
    PyObject *list = text ? PyUnicode_Split(text, NULL, -1) : NULL;
    PyObject *want = list ? PyList_AsTuple(list) : NULL;
    int same = want ? PyObject_RichCompareBool(have, want, Py_EQ) : -1;
    Py_XDECREF(have);
    Py_XDECREF(text);
    Py_XDECREF(list);
    Py_XDECREF(want);
    if (same != 1 || !PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, &PyTuple_Type)) {
        Py_XDECREF(cls);
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ImportError, "%s.%s is not the record _pid.c makes", module, name);
        return NULL;
    }
    return (PyTypeObject *)cls;
}

PyMODINIT_FUNC PyInit__pid(void)
{
    fill_classes();
    stat_type = record_class(
        "memlens.models.process", "Stat",
        "pid comm state ppid flags minflt cminflt majflt cmajflt num_threads start_time vsize "
        "rss_pages start_code end_code start_stack start_data end_data start_brk arg_start "
        "arg_end env_start env_end");
    status_type = stat_type ? record_class("memlens.models.process", "Status",
                                           "name state tgid pid ppid uids gids threads values")
                            : NULL;
    rollup_type =
        status_type ? record_class("memlens.models.maps", "Rollup", "start end values") : NULL;
    if (rollup_type == NULL)
        return NULL;
    PyObject *maps = PyImport_ImportModule("memlens.models.maps");
    snake_name = maps ? PyObject_GetAttrString(maps, "snake_name") : NULL;
    Py_XDECREF(maps);
    if (snake_name == NULL)
        return NULL;
    if (index_status_keys() < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ImportError, "_pid.c: status keys longer than it indexes");
        return NULL;
    }
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    PyObject *keys = PyTuple_New(N_DECIMAL);
    for (int k = 0; keys != NULL && k < N_DECIMAL; k++) {
        PyObject *key = PyUnicode_FromString(status_keys[k]);
        if (key == NULL)
            Py_CLEAR(keys);
        else
            PyTuple_SET_ITEM(keys, k, key);
    }
    if (keys == NULL || PyModule_AddObject(module, "DECIMAL_STATUS", keys) < 0) {
        Py_XDECREF(keys);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
