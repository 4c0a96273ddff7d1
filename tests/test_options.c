/* test_options.c — the option parser every command uses (src/apps/options.h).
 *
 * A made-up command "t" with one row of every kind is parsed from command
 * lines written as strings; the help and the errors are caught in memory
 * (open_memstream) and checked for what a user reads: the values stored,
 * the ranges enforced at both ends, one sentence per mistake naming the
 * option and the value, the nearest spelling for a typo, a stray word named
 * as such (with the -m hint for a model path), repeat limits, required
 * options, and a help that lists every row. src/apps/ is not part of the
 * library, so CMakeLists.txt compiles options.c into this test.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apps/options.h"
#include "check.h"

/* The variables of the made-up command, reset before every parse. */
typedef struct {
    bool flag, flag_set, int_set, str_set, pos_set;
    long n, threads;
    double f, temp;
    size_t bytes;
    const char *str, *choice, *in, *out, *model;
    const char *list[2];
    int n_list;
} vars;

static vars v;
static char *out_text, *err_text;
static size_t out_len, err_len;

static const char *const choices[] = { "red", "green", "blue", NULL };

/* Splits `line` at spaces into argv (argv[0] = "t"), parses it with the
 * table below (with_pos: two positionals IN OUT; with_required: --str is
 * required) and keeps what was printed in out_text / err_text. */
static int parse(const char *line, bool with_pos, bool with_required)
{
    v = (vars){ .n = 3, .f = 0.5, .threads = 0 };
    const opt_def rows[] = {
        { .kind = OPT_FLAG, .name = "--flag", .alias = "-F", .flag = &v.flag, .set = &v.flag_set,
          .help = "a flag" },
        { .kind = OPT_INT, .name = "--int", .value_name = "N", .i = &v.n, .set = &v.int_set, .lo = 0, .hi = 10,
          .help = "a whole number", .dflt = "3" },
        { .kind = OPT_FLOAT, .name = "--float", .value_name = "X", .f = &v.f, .flo = -1.0, .fhi = 1.0,
          .help = "a number" },
        { .kind = OPT_SIZE, .name = "--size", .value_name = "SIZE", .size = &v.bytes, .help = "a size" },
        { .kind = OPT_STRING, .name = "--str", .value_name = "TEXT", .str = &v.str, .set = &v.str_set,
          .required = with_required, .help = "a string" },
        { .kind = OPT_CHOICE, .name = "--colour", .choices = choices, .str = &v.choice, .help = "a choice" },
        { .kind = OPT_SECTION, .help = "More things:" },
        { .kind = OPT_LIST, .name = "--stop", .value_name = "TEXT", .list = v.list, .count = &v.n_list, .max = 2,
          .help = "a repeatable string" },
        opt_threads(&v.threads),
        opt_temp(&v.temp, NULL, "0.8"),
        { .kind = OPT_STRING, .name = "-m", .alias = "--model", .value_name = "FILE", .str = &v.model,
          .help = "the model" },
        { .kind = OPT_POSITIONAL, .value_name = "IN", .str = &v.in, .set = &v.pos_set, .required = true,
          .help = "the input" },
        { .kind = OPT_POSITIONAL, .value_name = "OUT", .str = &v.out, .required = true, .help = "the output" },
    };
    free(out_text);
    free(err_text);
    FILE *out = open_memstream(&out_text, &out_len), *err = open_memstream(&err_text, &err_len);
    opt_spec spec = { .cmd = "t", .usage = "localseek t [options]", .intro = "Intro prose.\n",
                      .outro = "Outro prose.\n", .defs = rows, .n_defs = OPT_COUNT(rows) - (with_pos ? 0 : 2),
                      .out = out, .err = err };

    static char buf[1024], name[] = "t";
    char *argv[64] = { name };
    int argc = 1;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *w = strtok(buf, " "); w && argc < 63; w = strtok(NULL, " "))
        argv[argc++] = w;
    argv[argc] = NULL;
    int rc = opt_parse(&spec, argc, argv);
    fclose(out);
    fclose(err);
    return rc;
}

static bool err_has(const char *s)
{
    return strstr(err_text, s) != NULL;
}

static int n_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* A word error is one sentence and the --help hint: two lines. */
static bool one_sentence(void)
{
    return n_lines(err_text) == 2 && strstr(err_text, "localseek t: ") == err_text &&
           err_has("Run 'localseek t --help' to see the options.");
}

static void test_kinds(void)
{
    int rc = parse("--flag --int 7 --float -0.25 --size 8G --str hello --colour green --stop a --stop b -t 4", false,
                   false);
    CHECK(rc == OPT_GO_ON, "a line of every kind parses (rc %d, err '%s')", rc, err_text);
    CHECK(v.flag && v.flag_set, "--flag sets the flag and its set");
    CHECK(v.n == 7 && v.int_set, "--int 7 (got %ld)", v.n);
    CHECK(v.f == -0.25, "--float -0.25: a value may start with '-' (got %g)", v.f);
    CHECK(v.bytes == (size_t)8 << 30, "--size 8G is 8 GiB (got %zu)", v.bytes);
    CHECK(v.str && !strcmp(v.str, "hello") && v.str_set, "--str hello");
    CHECK(v.choice && !strcmp(v.choice, "green") && v.choice == choices[1], "--colour green is the row's string");
    CHECK(v.n_list == 2 && !strcmp(v.list[0], "a") && !strcmp(v.list[1], "b"), "--stop twice keeps both, in order");
    CHECK(v.threads == 4, "-t 4 (shared row)");
    CHECK(err_len == 0 && out_len == 0, "nothing printed on success");

    rc = parse("", false, false);
    CHECK(rc == OPT_GO_ON && v.n == 3 && v.f == 0.5 && !v.flag && !v.int_set && !v.str, "no options: defaults kept");

    rc = parse("--int=9 --str=a=b -F --threads=2 --int 1", false, false);
    CHECK(rc == OPT_GO_ON && v.n == 1, "--int=9 then --int 1: the last one wins (got %ld)", v.n);
    CHECK(v.str && !strcmp(v.str, "a=b"), "--str=a=b keeps everything after the first '='");
    CHECK(v.flag, "-F is the other spelling of --flag");
    CHECK(v.threads == 2, "--threads=2 (the long spelling of -t)");

    rc = parse("--flag=yes", false, false);
    CHECK(rc == OPT_BAD_USAGE && err_has("--flag takes no value, not 'yes'") && one_sentence(),
          "a flag with '=': %s", err_text);
}

static void test_ranges(void)
{
    CHECK(parse("--int 0", false, false) == OPT_GO_ON && v.n == 0, "--int at its lower end");
    CHECK(parse("--int 10", false, false) == OPT_GO_ON && v.n == 10, "--int at its upper end");
    const char *bad_ints[] = { "11", "-1", "many", "5x", "", "99999999999999999999999" };
    for (size_t k = 0; k < sizeof bad_ints / sizeof bad_ints[0]; k++) {
        char line[64];
        snprintf(line, sizeof line, "--int=%s", bad_ints[k]);
        int rc = parse(line, false, false);
        char want[96];
        snprintf(want, sizeof want, "localseek t: --int expects a whole number from 0 to 10, not '%s'", bad_ints[k]);
        CHECK(rc == OPT_BAD_USAGE && err_has(want) && one_sentence(), "--int '%s': %s", bad_ints[k], err_text);
        CHECK(out_len == 0, "an error prints nothing on stdout");
    }
    CHECK(parse("--float -1", false, false) == OPT_GO_ON && v.f == -1.0, "--float at its lower end");
    CHECK(parse("--float 1", false, false) == OPT_GO_ON && v.f == 1.0, "--float at its upper end");
    const char *bad_floats[] = { "1.5", "-1.01", "nan", "inf", "x" };
    for (size_t k = 0; k < sizeof bad_floats / sizeof bad_floats[0]; k++) {
        char line[64], want[96];
        snprintf(line, sizeof line, "--float %s", bad_floats[k]);
        snprintf(want, sizeof want, "--float expects a number from -1 to 1, not '%s'", bad_floats[k]);
        CHECK(parse(line, false, false) == OPT_BAD_USAGE && err_has(want), "--float %s: %s", bad_floats[k],
              err_text);
    }
    CHECK(parse("--size 8Q", false, false) == OPT_BAD_USAGE && err_has("localseek t: --size: '8Q' has an unknown unit"),
          "a bad size names the option and the value: %s", err_text);
    CHECK(parse("--colour purple", false, false) == OPT_BAD_USAGE &&
              err_has("--colour expects red, green or blue, not 'purple'") && one_sentence(),
          "a bad choice lists the choices: %s", err_text);
    /* The shared -t names what it counts, as quantize and bench always did. */
    CHECK(parse("-t zero", false, false) == OPT_BAD_USAGE &&
              err_has("-t expects a whole number from 1 to 1024; thread count 'zero' is not one"),
          "-t zero: %s", err_text);
    CHECK(parse("--temp 101", false, false) == OPT_BAD_USAGE && err_has("--temp expects a number from 0 to 100"),
          "--temp 101: %s", err_text);
}

static void test_missing_values(void)
{
    CHECK(parse("--int", false, false) == OPT_BAD_USAGE &&
              err_has("--int needs a number after it (a whole number from 0 to 10)") && one_sentence(),
          "--int at the end: %s", err_text);
    CHECK(parse("--str", false, false) == OPT_BAD_USAGE && err_has("--str needs a value after it (TEXT)"),
          "--str at the end: %s", err_text);
    CHECK(parse("--colour", false, false) == OPT_BAD_USAGE && err_has("--colour needs a value after it (red, green"),
          "--colour at the end: %s", err_text);
}

static void test_unknown(void)
{
    CHECK(parse("--int 3 --tmp", false, false) == OPT_BAD_USAGE &&
              err_has("localseek t: unknown option '--tmp' (did you mean --temp?)") && one_sentence(),
          "an unknown option at the end is unknown, with a suggestion: %s", err_text);
    CHECK(!err_has("needs a value"), "never 'needs a value' for an unknown option");
    CHECK(parse("--tmp 0.5", false, false) == OPT_BAD_USAGE && err_has("did you mean --temp?"),
          "the same in the middle of the line: %s", err_text);
    CHECK(parse("-temp 0", false, false) == OPT_BAD_USAGE && err_has("did you mean --temp?"),
          "one dash short: %s", err_text);
    CHECK(parse("--flga", false, false) == OPT_BAD_USAGE && err_has("(did you mean --flag?)"),
          "swapped letters: %s", err_text);
    CHECK(parse("--col", false, false) == OPT_BAD_USAGE && err_has("(did you mean --colour?)"),
          "the start of one option: %s", err_text);
    CHECK(parse("--hepl", false, false) == OPT_BAD_USAGE && err_has("(did you mean --help?)"),
          "--help is a known spelling too: %s", err_text);
    CHECK(parse("--frobnicate", false, false) == OPT_BAD_USAGE &&
              err_has("unknown option '--frobnicate'\n") && !err_has("did you mean"),
          "nothing close, no suggestion: %s", err_text);
    CHECK(parse("-x", false, false) == OPT_BAD_USAGE && err_has("unknown option '-x'\n"),
          "a short option gets no guess: %s", err_text);
    CHECK(parse("--bogus=3", false, false) == OPT_BAD_USAGE && err_has("unknown option '--bogus'"),
          "the name is quoted without its '=value': %s", err_text);
}

static void test_stray_words(void)
{
    CHECK(parse("--int 3 extra", false, false) == OPT_BAD_USAGE &&
              err_has("localseek t: unexpected argument 'extra'\n") && one_sentence(),
          "a stray word: %s", err_text);
    CHECK(parse("model.gguf --int 3", false, false) == OPT_BAD_USAGE &&
              err_has("unexpected argument 'model.gguf' (to use it as the model, write -m model.gguf)"),
          "a .gguf word without -m: %s", err_text);
    CHECK(parse("Model.GGUF", false, false) == OPT_BAD_USAGE && err_has("write -m Model.GGUF"),
          "any case of .gguf: %s", err_text);
    CHECK(parse("other.gguf -m model.gguf", false, false) == OPT_BAD_USAGE && !err_has("write -m"),
          "no hint once -m is given, even later on the line: %s", err_text);
    CHECK(parse("--model=x.gguf other.gguf", false, false) == OPT_BAD_USAGE && !err_has("write -m"),
          "nor with --model=: %s", err_text);

    char path[] = "/tmp/localseek_test_options_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "a temporary file");
    if (fd >= 0) {
        close(fd);
        char line[128], want[160];
        snprintf(line, sizeof line, "%s", path);
        snprintf(want, sizeof want, "(to use it as the model, write -m %s)", path);
        CHECK(parse(line, false, false) == OPT_BAD_USAGE && err_has(want), "an existing file: %s", err_text);
        unlink(path);
    }
    CHECK(parse("-", false, false) == OPT_BAD_USAGE && err_has("unexpected argument '-'"),
          "'-' alone is a word, not an option: %s", err_text);
}

static void test_positionals_and_required(void)
{
    int rc = parse("a --flag b", true, false);
    CHECK(rc == OPT_GO_ON && v.in && !strcmp(v.in, "a") && v.out && !strcmp(v.out, "b") && v.pos_set && v.flag,
          "positionals fill in order around options (rc %d: %s)", rc, err_text);
    CHECK(parse("a b c", true, false) == OPT_BAD_USAGE && err_has("unexpected argument 'c' (expected only IN OUT)"),
          "one word too many: %s", err_text);
    CHECK(parse("a", true, false) == OPT_BAD_USAGE && err_has("localseek t: expected IN OUT\n") &&
              err_has("usage: localseek t [options]\n"),
          "a missing positional names them all, with the usage: %s", err_text);
    rc = parse("-- -a --b", true, false);
    CHECK(rc == OPT_GO_ON && !strcmp(v.in, "-a") && !strcmp(v.out, "--b"), "after --, words are positional");

    CHECK(parse("--int 2", false, true) == OPT_BAD_USAGE && err_has("localseek t: --str TEXT is required\n") &&
              err_has("usage: localseek t [options]") && err_has("Run 'localseek t --help'"),
          "a required option missing: %s", err_text);
    CHECK(parse("", true, true) == OPT_BAD_USAGE && err_has("expected IN OUT"), "positionals are checked first");
    CHECK(parse("--str x", false, true) == OPT_GO_ON, "the required option given");
}

static void test_repeat_limit(void)
{
    CHECK(parse("--stop a --stop b --stop c", false, false) == OPT_BAD_USAGE &&
              err_has("--stop can be given at most 2 times") && one_sentence(),
          "a third --stop: %s", err_text);
}

static void test_help(void)
{
    int rc = parse("--int 3 -h --bogus", true, false);
    CHECK(rc == OPT_HELP_SHOWN, "-h shows the help (rc %d)", rc);
    CHECK(err_len == 0, "the help goes to stdout only: '%s'", err_text);
    const char *want[] = {
        "usage: localseek t [options]\n", "Intro prose.", "Outro prose.", "\noptions:\n", "\nMore things:\n",
        "--flag, -F ", "--int N ", "a whole number (default: 3)", "--float X", "--size SIZE", "--str TEXT",
        "--colour red|green|blue", "--stop TEXT", "(repeatable, up to 2 times)", "-t, --threads N", "--temp T",
        "(default: 0.8)", "-m, --model FILE", "  IN ", "  OUT ", "the output", "-h, --help",
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
        CHECK(strstr(out_text, want[k]) != NULL, "the help has '%s':\n%s", want[k], out_text);
    CHECK(parse("--help", false, false) == OPT_HELP_SHOWN && strstr(out_text, "--flag"), "--help too");
    CHECK(!strstr(out_text, "  IN "), "rows left out of the table are not in the help");

    /* Every line fits in 100 columns, and sentences start in one column. */
    parse("-h", true, false);
    int col = -1;
    bool aligned = true, fits = true;
    for (char *line = out_text; line && *line;) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        fits &= len <= 100;
        if (len > 2 && line[0] == ' ' && line[1] == ' ' && line[2] == '-') {
            const char *gap = strstr(line + 2, "  ");
            int c = gap ? (int)(gap - line) + (int)strspn(gap, " ") : -1;
            if (col < 0)
                col = c;
            aligned &= c == col;
        }
        line = end ? end + 1 : NULL;
    }
    CHECK(fits, "help lines fit in 100 columns:\n%s", out_text);
    CHECK(aligned && col > 0, "help sentences start in one column (%d):\n%s", col, out_text);
}

static void test_int_value(void)
{
    long x = 0;
    CHECK(opt_int_value("t", "/think budget", "12", 0, 100, &x) && x == 12, "opt_int_value reads 12");
    CHECK(!opt_int_value("t", "/think budget", "lots", 0, 100, &x) && x == 12,
          "opt_int_value refuses 'lots' (the message is on stderr above)");
}

int main(void)
{
    test_kinds();
    test_ranges();
    test_missing_values();
    test_unknown();
    test_stray_words();
    test_positionals_and_required();
    test_repeat_limit();
    test_help();
    test_int_value();
    free(out_text);
    free(err_text);
    return check_done();
}
