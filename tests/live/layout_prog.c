/* A process with a known layout, for tests/live/test_layout.py (compiled there at test time).
 * A large initialised array (.data) and a large zero array (.bss), a small malloc (brk heap)
 * and a 4 MiB one (its own mmap), N threads that each malloc (one glibc arena each).
 * Prints one JSON line with the addresses, then waits until stdin closes. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char init_arr[3 * 4096 + 100] = {1, 2, 3};
char zero_arr[5 * 4096 + 300];
static pthread_barrier_t ready;

static void *worker(void *arg) {
    char *p = malloc(1000);
    memset(p, 1, 1000);
    *(char **)arg = p;
    pthread_barrier_wait(&ready);
    pause();
    return NULL;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 0;
    char *small = malloc(100);
    char *big = malloc(4 << 20);
    memset(small, 1, 100);
    memset(big, 1, 1 << 20);
    zero_arr[0] = 1;
    pthread_t t[16];
    char *tm[16];
    pthread_barrier_init(&ready, NULL, n + 1);
    for (int i = 0; i < n; i++) pthread_create(&t[i], NULL, worker, &tm[i]);
    pthread_barrier_wait(&ready);
    printf("{\"pid\": %d, \"small\": %lu, \"big\": %lu, \"init_arr\": %lu, \"zero_arr\": %lu, "
           "\"sbrk0\": %lu, \"threads\": [", getpid(), (unsigned long)small, (unsigned long)big,
           (unsigned long)init_arr, (unsigned long)zero_arr, (unsigned long)sbrk(0));
    for (int i = 0; i < n; i++) {
        pthread_attr_t a; void *lo; size_t sz, guard;
        pthread_getattr_np(t[i], &a);
        pthread_attr_getstack(&a, &lo, &sz);
        pthread_attr_getguardsize(&a, &guard);
        printf("%s{\"low\": %lu, \"size\": %lu, \"guard\": %lu, \"malloc\": %lu}", i ? ", " : "",
               (unsigned long)lo, (unsigned long)sz, (unsigned long)guard, (unsigned long)tm[i]);
    }
    printf("]}\n");
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {}
    return 0;
}
