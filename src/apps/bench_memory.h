/* bench_memory.h — `localseek bench --memory`: how long retrieval takes in a
 * memory file of N messages (the target: under 20 ms at 100,000). */
#ifndef LS_BENCH_MEMORY_H
#define LS_BENCH_MEMORY_H

/* argv[0] is "bench"; returns the exit status. */
int bench_memory_main(int argc, char **argv);

#endif
