/* bench_model.h — `localseek bench -m MODEL`: prefill and decode speed of a
 * model, against the memory bandwidth measured in the same run. */
#ifndef LS_BENCH_MODEL_H
#define LS_BENCH_MODEL_H

/* argv[0] is "bench"; returns the exit status. */
int bench_model_main(int argc, char **argv);

#endif
