/* The bare reads of a page-level sharing scan, in C: for each PID, /proc/PID/pagemap over
 * its VMAs (not [vsyscall], not PROT_NONE) in preads of 2 MiB; then /proc/kpagecount for
 * the distinct PFNs found, reading through gaps of up to 8 unwanted entries, at most 65536
 * entries a pread: the same chunking as memlens (src/memlens/procfs/frames.py). Nothing is
 * computed beyond what choosing the reads needs. Prints what it read, on one line.
 *
 *     cc -O2 -o pages_floor bench/pages_floor.c && ./pages_floor PID [PID...]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (1 << 18)
#define COUNT_GAP 8
#define COUNT_CHUNK (1 << 16)
#define PRESENT (1ULL << 63)
#define PFN_MASK ((1ULL << 55) - 1)

static uint64_t *pfns;
static size_t npfns, cap;
static uint64_t entries, preads;

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void add(uint64_t pfn) {
    if (npfns == cap) {
        cap = cap ? cap * 2 : 1 << 16;
        pfns = realloc(pfns, cap * sizeof *pfns);
        if (!pfns) die("realloc");
    }
    pfns[npfns++] = pfn;
}

static void read_pagemap(const char *pid, long page) {
    char path[64], line[4096];
    static uint64_t buf[CHUNK];
    snprintf(path, sizeof path, "/proc/%s/maps", pid);
    FILE *maps = fopen(path, "r");
    if (!maps) die(path);
    snprintf(path, sizeof path, "/proc/%s/pagemap", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) die(path);
    while (fgets(line, sizeof line, maps)) {
        unsigned long start, end;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) != 3) continue;
        if (strstr(line, "[vsyscall]") || strncmp(perms, "---", 3) == 0) continue;
        for (uint64_t first = start / page; first < end / page; first += CHUNK) {
            uint64_t n = end / page - first < CHUNK ? end / page - first : CHUNK;
            ssize_t got = pread(fd, buf, n * 8, first * 8);
            if (got < 0) die("pread pagemap");
            entries += n, preads++;
            for (ssize_t i = 0; i < got / 8; i++)
                if (buf[i] & PRESENT) add(buf[i] & PFN_MASK);
        }
    }
    close(fd);
    fclose(maps);
}

static int cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    long page = sysconf(_SC_PAGESIZE);
    for (int i = 1; i < argc; i++) read_pagemap(argv[i], page);
    qsort(pfns, npfns, sizeof *pfns, cmp);
    size_t distinct = 0;
    for (size_t i = 0; i < npfns; i++)
        if (i == 0 || pfns[i] != pfns[distinct - 1]) pfns[distinct++] = pfns[i];
    int fd = open("/proc/kpagecount", O_RDONLY);
    if (fd < 0) die("/proc/kpagecount");
    static uint64_t counts[COUNT_CHUNK];
    uint64_t read_entries = 0, sum = 0;
    for (size_t i = 0; i < distinct;) {
        size_t j = i + 1;
        while (j < distinct && pfns[j] - pfns[j - 1] <= COUNT_GAP) j++;
        for (uint64_t at = pfns[i]; at <= pfns[j - 1]; at += COUNT_CHUNK) {
            uint64_t n = pfns[j - 1] + 1 - at < COUNT_CHUNK ? pfns[j - 1] + 1 - at : COUNT_CHUNK;
            ssize_t got = pread(fd, counts, n * 8, at * 8);
            if (got < 0) die("pread kpagecount");
            read_entries += n, preads++;
            sum += counts[0];
        }
        i = j;
    }
    printf("pagemap_entries=%" PRIu64 " frames=%zu kpagecount_entries=%" PRIu64
           " preads=%" PRIu64 " (checksum %" PRIu64 ")\n",
           entries, distinct, read_entries, preads, sum);
    return 0;
}
