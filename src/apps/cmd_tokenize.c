/* cmd_tokenize.c — placeholder until the command is written (being built now). */
#include <stdio.h>

#include "apps/commands.h"

int cmd_tokenize(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "localseek tokenize: not implemented yet\n");
    return 1;
}
