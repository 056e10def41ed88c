"""What each lesson says: its title, the claim (the simple story), the experiment, one line
per checked claim and the explanation, in English, marked for the gettext catalogues.

Placeholders ``{key}`` are the lesson's figures (models.demo.Figure.key), formatted by unit.
"""

from __future__ import annotations

from memlens.i18n import N_
from memlens.models.record import NamedTuple


class LessonText(NamedTuple):
    title: str
    claim: str
    experiment: str
    checks: dict[str, str]  # claim key -> the line that shows its figures
    explanation: str


ORDERED = N_(
    "text {text_start}, data {data_start}, BSS {bss_start}, heap {heap_start}, "
    "mmap area {mmap_low}, stack {stack_start}: in this order"
)

TEXTS = {
    "layout": LessonText(
        N_("The layout of a fresh process"),
        N_(
            "A process's addresses run from low to high: program text, initialised data, "
            "BSS, the brk heap, then far above them the mmap area (shared libraries, large "
            "allocations) and at the top the stack; the kernel adds the vDSO."
        ),
        N_("Two fresh Python processes ({executable}); memlens layout reads them."),
        {
            "ordered": ORDERED,
            "heap_after_bss": N_("the heap starts {heap_gap} after the end of BSS ({bss_end})"),
            "vdso_mapped": N_(
                "the kernel mapped the vDSO at {vdso_start}; the mmap area spans "
                "{mmap_low}-{mmap_high}, the stack ends at {stack_end}"
            ),
            "aslr_moves": N_(
                "the second process has its stack at {stack_start_2} and its heap at "
                "{heap_start_2} (kernel.randomize_va_space = {aslr_sysctl})"
            ),
        },
        N_(
            "The order is the classic picture; the distances are not. With address space "
            "layout randomisation the heap starts a random distance after BSS (here "
            "{heap_gap}; x86-64 draws it below 1 GiB, below 32 MiB for a 32-bit process), "
            "and the stack and the mmap base move at every exec. The executable "
            "here is {executable_kind}. This kernel put the vDSO {vdso_place}; older "
            "x86-64 kernels put it just above the stack."
        ),
    ),
    "layout32": LessonText(
        N_("The layout of a 32-bit process"),
        N_(
            "A 32-bit process has at most 4 GiB of addresses, laid out as a 64-bit one's: "
            "text, data, BSS and heap low, the mmap area and the stack high. Textbooks add "
            "that the top 1 GiB belongs to the kernel, so the stack starts below 3 GiB."
        ),
        N_("A small 32-bit C program, built here with cc -m32; memlens layout reads it."),
        {
            "is_32_bit": N_("the program is a {word_bits}-bit process"),
            "below_4_gib": N_(
                "everything it maps lies below 4 GiB (the mmap area ends at {mmap_high}, "
                "the stack at {stack_end})"
            ),
            "ordered": ORDERED,
            "stack_above_3_gib": N_("its stack ends at {stack_end}, above 3 GiB"),
        },
        N_(
            "The 3 GiB / 1 GiB split is the story of a 32-bit kernel. Under a 64-bit kernel "
            "the kernel lives far above 4 GiB, so a 32-bit process gets almost all of its 4 "
            "GiB (TASK_SIZE {address_space}): its stack ends just under 4 GiB and the mmap "
            "area grows down from below it. The same layout packed into so little space is "
            "why 32-bit programs run out of addresses long before they run out of RAM."
        ),
    ),
    "bss": LessonText(
        N_("BSS and demand paging"),
        N_(
            "Memory that is reserved but never touched costs no RAM: the kernel gives a page "
            "only when it is first touched. BSS, a large malloc and an anonymous mmap all "
            "work this way."
        ),
        N_(
            "A process reserves {reserved} of anonymous memory (what BSS is, past the "
            "file's last page), writes the first {written}, then reads the next {read}."
        ),
        {
            "reserve_is_free": N_(
                "reserving {reserved}: VSS +{vss_growth}, RSS +{rss_growth_reserve}"
            ),
            "write_costs_touched": N_(
                "writing {written}: the mapping's RSS is {vma_rss_after_write} (memlens maps)"
            ),
            "one_fault_per_page": N_(
                "{minflt_write} minor faults for the {pages_written} pages written"
            ),
            "read_is_free": N_(
                "reading the next {read}: {minflt_read} minor faults, yet the mapping's RSS "
                "stays {vma_rss_after_read}"
            ),
        },
        N_(
            "Reading untouched anonymous memory faults too, but the kernel maps its one "
            "shared zero page, read-only, so RSS does not grow; a later write faults again "
            "for a page of its own. RSS counts whole pages, and with transparent huge pages "
            "the kernel may give 2 MiB at a time (the lesson turns them off for its "
            "mapping). Overcommit is why the reservation succeeds at all: the kernel "
            "promises memory it has not got."
        ),
    ),
    "faults": LessonText(
        N_("Minor and major page faults"),
        N_(
            "A minor fault is served from RAM (a new zeroed page, or a page already in the "
            "page cache); a major fault waits for the disk. Every page touched for the first "
            "time costs one fault."
        ),
        N_(
            "A process writes {pages} new pages of anonymous memory, then reads a file of "
            "{pages} pages it wrote ({file}, deleted at once) after dropping that file's "
            "pages from the page cache (posix_fadvise DONTNEED, this file only): once in "
            "order, once with read-ahead off (MADV_RANDOM)."
        ),
        {
            "touch_is_minor": N_(
                "writing {pages} new pages: {minflt_anon} minor faults, {majflt_anon} major"
            ),
            "dropped": N_(
                "before each read, {cached_before_seq} and {cached_before_random} of the "
                "file's pages were cached (mincore)"
            ),
            "file_is_major": N_(
                "reading the file in order: {majflt_seq} major and {minflt_seq} minor faults"
            ),
            "readahead": N_(
                "read-ahead: all {cached_after_seq} pages came in, yet only {majflt_seq} of "
                "the faults were major"
            ),
            "random_one_per_page": N_(
                "with MADV_RANDOM: {majflt_random} major faults for {pages} pages"
            ),
        },
        N_(
            "One fault per page holds only without help: reading a file in order, the "
            "kernel's read-ahead fetches many pages per disk read, and each fault maps the "
            "neighbouring pages already cached too (fault-around: 64 KiB by default, more "
            "where the page cache holds large folios), so {pages} pages cost {majflt_seq} "
            "major and {minflt_seq} minor faults. With read-ahead off every page is a disk "
            "read of its own. A major fault is counted to the process that waited: a second "
            "reader of the same page takes a minor one."
        ),
    ),
    "malloc": LessonText(
        N_("malloc: the brk heap, mmap, and glibc's moving threshold"),
        N_(
            "glibc's malloc serves small requests from the brk heap and large ones (128 KiB "
            "and more, M_MMAP_THRESHOLD) from a mapping of their own, which free() gives "
            "back to the kernel."
        ),
        N_(
            "A process mallocs 64 KiB, then {large}; frees the {large} block and mallocs "
            "{large} again; then fixes the threshold with mallopt(M_MMAP_THRESHOLD, 128 KiB) "
            "and mallocs {large} once more. memlens layout says which region holds each block."
        ),
        {
            "small_from_heap": N_("64 KiB came from the {small_in} region"),
            "large_from_mmap": N_(
                "{large} came from an {large_in} mapping: memlens layout finds a new mapped "
                "chunk of {chunk_growth} (a page more, for the chunk's header), in a VMA of "
                "{large_vma}"
            ),
            "free_unmaps": N_("after free() its address is {after_free_in}"),
            "threshold_moves": N_(
                "the same {large} malloc'ed again came from the {again_in} (which grew by "
                "{heap_growth})"
            ),
            "mallopt_pins": N_("after mallopt, {large} came from an {pinned_in} mapping again"),
        },
        N_(
            "The threshold moves: when free() gives back a mapped chunk, glibc raises "
            "M_MMAP_THRESHOLD to that chunk's size (up to 32 MiB on 64-bit) and the trim "
            "threshold to twice that, so the next block of that size comes from the heap, "
            "which is cheaper to reuse but returns memory only from its top. Setting "
            "M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, M_TOP_PAD or M_MMAP_MAX (mallopt, or "
            "GLIBC_TUNABLES) turns the adjustment off. A mapping of its own need not be a "
            "VMA of its own: the kernel merges it with an anonymous neighbour of the same "
            "permissions, so pmap may show one larger region."
        ),
    ),
    "threads": LessonText(
        N_("Threads: stacks, guard pages and arenas"),
        N_(
            "Each thread gets a stack of its own with a guard page below it, and glibc "
            "gives threads malloc arenas of their own so that they do not wait for one lock."
        ),
        N_("A process starts {threads} threads; each mallocs 16 blocks of 64 KiB and waits."),
        {
            "stack_each": N_("{thread_stacks} thread stacks of {stack_size} (memlens layout)"),
            "guard_each": N_("{guards} guard regions (PROT_NONE) of {guard_size} below them"),
            "arenas": N_("{arenas} thread arenas for {threads} threads"),
            "reserved_not_used": N_(
                "the process grew by {vss_growth} of address space and {rss_growth} of RSS"
            ),
        },
        N_(
            "A thread's stack size comes from RLIMIT_STACK (ulimit -s, here {stack_size}) and "
            "costs RAM only where touched; the guard page is address space that faults on "
            "access, to catch an overflow. Each arena reserves 64 MiB of addresses "
            "({arena_reserved} in all here) and uses {arena_rss}; glibc makes at most 8 "
            "arenas per CPU and then makes threads share them, so the VSS of a threaded "
            "program is large and says little."
        ),
    ),
    "fork": LessonText(
        N_("fork and copy-on-write"),
        N_(
            "After fork, parent and child share every page until one of them writes it; "
            "the write copies that page only."
        ),
        N_(
            "A process writes {size}, forks, and the child writes {written} of it, then all "
            "of it; memlens shared compares the two."
        ),
        {
            "shared_after_fork": N_(
                "just after fork: {fork_parent_shared} shared in both, PSS {fork_parent_pss} each"
            ),
            "write_copies": N_(
                "after the child wrote {written}: {part_child_private} private to the child"
            ),
            "parent_private_too": N_(
                "and {part_parent_private} private to the parent, which wrote nothing"
            ),
            "all_private": N_(
                "after the child wrote everything: {all_parent_private} private to the "
                "parent, {all_child_private} to the child, {all_child_shared} shared"
            ),
        },
        N_(
            "A write gives the writer a new copy and leaves the old page to the other "
            "process alone, so it becomes private too: RAM grows by the pages written "
            "({written}), and both processes' USS grow by as much. fork itself is not free: "
            "it copies the page tables and write-protects the pages in both, so the "
            "parent's next writes fault too."
        ),
    ),
    "sysv": LessonText(
        N_("System V shared memory"),
        N_(
            "A System V segment is the same physical pages in every process that attaches "
            "it: PSS splits it between them, IPC_RMID removes it, and it outlives its "
            "processes when nobody removes it."
        ),
        N_(
            "Three processes attach two segments of {size} (the first writes them, the "
            "others read); IPC_RMID marks the second while all three are attached; then the "
            "three exit."
        ),
        {
            "three_attach": N_("segment {shmid}: {nattch} attaches (memlens ipc)"),
            "pss_split": N_("PSS of the attachers: {pss_1}, {pss_2}, {pss_3}"),
            "pss_sums_to_rss": N_(
                "together {pss_sum}: the segment's own RSS is {rss} (/proc/sysvipc/shm)"
            ),
            "rmid_waits": N_(
                "after IPC_RMID the second segment is still listed ({removed_listed}), key "
                "{removed_key}, {removed_nattch} attaches"
            ),
            "gone_with_last": N_("it went with its last attacher ({removed_after_exit})"),
            "orphan_keeps_ram": N_(
                "the first, never removed, is an orphan ({orphan}) holding {orphan_rss}, "
                "{orphan_nattch} attaches (kernel.shm_rmid_forced = {shm_rmid_forced})"
            ),
            "rmid_frees": N_("IPC_RMID on the orphan freed it ({gone_after_rmid})"),
        },
        N_(
            "IPC_RMID does not free a segment that is attached: it hides its key (0) and "
            "frees the pages when the last process detaches. A segment nobody removes stays "
            "with its RAM after every process is gone (unless kernel.shm_rmid_forced is set), "
            "shown by no process's RSS or PSS, only by /proc/sysvipc/shm and memlens ipc. "
            "smaps rounds each mapping's PSS down to a kB, so the shares may add up to a "
            "little less than the segment."
        ),
    ),
    "sizes": LessonText(
        N_("VSS, RSS, PSS and USS on one example"),
        N_(
            "VSS >= RSS >= PSS >= USS: VSS counts address space, RSS the pages in RAM, PSS "
            "divides each page among the processes that map it, and USS counts only the "
            "pages no other process maps."
        ),
        N_(
            "Process {pid} reserves {untouched} and never touches it, writes {private} of "
            "its own, and shares {shared} (MAP_SHARED) with a forked child that reads it."
        ),
        {
            "ordered": N_("VSS {vss} >= RSS {rss} >= PSS {pss} >= USS {uss} (memlens top)"),
            "vss_counts_untouched": N_(
                "VSS - RSS = {vss_minus_rss}: the {untouched} never touched, and more"
            ),
            "rss_counts_shared_fully": N_(
                "RSS - USS = {rss_minus_uss}: the {shared} shared counts fully in RSS, not "
                "at all in USS"
            ),
            "pss_counts_a_share": N_(
                "PSS - USS = {pss_minus_uss}: half of the {shared} shared with one child, "
                "and shares of the libraries"
            ),
        },
        N_(
            "Only PSS adds up: the PSS of all processes is the RAM they use, while RSS counts "
            "a shared page in full in every process that maps it. The shared part includes "
            "the interpreter's and the libraries' pages, shared with every process running "
            "them, so PSS depends on who else runs; USS is what ending the process would "
            "free. PSS and USS need a walk of the page tables (smaps_rollup), which is why "
            "top shows RSS."
        ),
    ),
    "leak": LessonText(
        N_("A leak next to a cache warming up"),
        N_(
            "A leak grows without end; a cache grows, then levels off. At first both look "
            "the same: growth alone does not make a leak."
        ),
        N_(
            "Two processes for {duration}: one keeps {leak_rate} more every second, the other "
            "fills a {cache_capacity} cache, then only replaces its entries. memlens watch's "
            "sampler reads both every {interval}, and its verdicts judge them."
        ),
        {
            "both_grow": N_("both grew: {leak_growth} and {cache_growth} (PSS)"),
            "leak_is_leak": N_(
                "the leaking process: {leak_verdict} ({leak_samples} samples, {leak_slope}/s)"
            ),
            "cache_levels_off": N_("the cache: {cache_verdict} ({cache_samples} samples)"),
        },
        N_(
            "A slope over the last seconds (an alert on deriv()) calls both leaks while the "
            "cache fills; the verdicts find where the trend changes and judge only what "
            "follows the last change, so the cache is a plateau once it has been flat for a "
            "while. A short watch can only say inconclusive: --duration watches longer. "
            "Memory a program frees need not go back to the kernel (glibc keeps it in its "
            "arenas), so a cache that shrinks may not show it."
        ),
    ),
}

HEADINGS = {
    "claim": N_("Claim:"),
    "experiment": N_("Experiment:"),
    "numbers": N_("What the numbers say:"),
    "why": N_("Why:"),
    "holds": N_("as claimed"),
    "fails": N_("NOT as claimed"),
    "unmeasured": N_("not measured here"),
    "yes": N_("yes"),
    "no": N_("no"),
    "lessons": N_("Lessons (memlens demo LESSON runs one):"),
    "needs": N_("needs"),
    "layout32": N_("cc -m32: a C compiler and a 32-bit C library"),
    "kept": N_("The experiment is still running (--keep). Look at it:"),
    "stop": N_("Stop it:"),
    "summary_ok": N_("Every claim held on this machine."),
    "summary_bad": N_("{n} of {total} claims did not hold on this machine."),
    "summary_unknown": N_("{n} of {total} claims could not be measured here; the others held."),
}

# Why figures are missing (DemoReport.notes), by key.
NOTES = {
    "need_elf": N_(
        "Where BSS starts and ends comes from the ELF headers: install memlens's elf extra "
        "(pip install 'memlens[elf]', which adds pyelftools) to measure it."
    ),
    "memory_unreadable": N_(
        "memlens could not read the process's memory (/proc/PID/mem) to find glibc's "
        "mapped chunks: that needs the right to ptrace it (the same user, or root)."
    ),
}
