/* cmd_quantize.c — placeholder until the command is written (being built now). */
#include <stdio.h>

#include "apps/commands.h"

int cmd_quantize(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "localseek quantize: not implemented yet\n");
    return 1;
}
