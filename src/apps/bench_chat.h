/* bench_chat.h — `localseek bench --chat -m MODEL`: what re-using the KV cache
 * between chat turns saves. */
#ifndef LS_BENCH_CHAT_H
#define LS_BENCH_CHAT_H

/* argv[0] is "bench"; returns the exit status. */
int bench_chat_main(int argc, char **argv);

#endif
