/* cmd_bench.c — placeholder until the command is written (being built now). */
#include <stdio.h>

#include "apps/commands.h"

int cmd_bench(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "localseek bench: not implemented yet\n");
    return 1;
}
