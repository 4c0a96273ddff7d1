/* cmd_info.c — placeholder until the command is written (being built now). */
#include <stdio.h>

#include "apps/commands.h"

int cmd_info(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "localseek info: not implemented yet\n");
    return 1;
}
