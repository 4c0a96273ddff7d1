/* options.c — the table-driven option parser (see options.h).
 *
 * How it works: one pass over argv. Each word is either "--" (the rest are
 * positional), a positional word (fills the next OPT_POSITIONAL row), -h /
 * --help, or an option looked up by name in the table — for a long name the
 * value may follow an '='. A bool per row records what was given, so that
 * required rows can be checked after the pass. Nothing is allocated: the
 * values stored are pointers into argv, and every message is printed at once.
 *
 * Every message goes through say() (one sentence + the --help hint) or
 * opt_usage_error() (the same with the usage line between), so every command
 * words its mistakes the same way.
 *
 * The suggestion for an unknown option is the known spelling with the
 * smallest edit distance (insertions, deletions, substitutions), offered
 * only when it is close (1 edit for words up to 4 characters, 2 beyond), or
 * the one option the word is the start of ("--parse" -> --parse-special).
 * Two-character words ("-x") get no suggestion: every short option is one
 * edit away from every other.
 */
#include "apps/options.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/status.h"
#include "generate/template.h"
#include "generate/guard.h"

/* A table larger than this is a programmer's mistake (the biggest, chat's, has 30). */
enum { OPT_MAX_DEFS = 64 };

static FILE *err_of(const opt_spec *s)
{
    return s->err ? s->err : stderr;
}

static void print_hint(const opt_spec *s, FILE *err)
{
    if (s->help_cmd)
        fprintf(err, "Run '%s --help' to see the options.\n", s->help_cmd);
    else
        fprintf(err, "Run 'localseek %s --help' to see the options.\n", s->cmd);
}

/* One sentence about the command line, the usage line when asked, then the
 * hint. */
static void vsay(const opt_spec *s, bool with_usage, const char *fmt, va_list ap)
{
    FILE *err = err_of(s);
    fprintf(err, "localseek %s: ", s->cmd);
    vfprintf(err, fmt, ap);
    fputc('\n', err);
    if (with_usage)
        fprintf(err, "usage: %s\n", s->usage);
    print_hint(s, err);
}

static void say(const opt_spec *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(const opt_spec *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(s, false, fmt, ap);
    va_end(ap);
}

int opt_usage_error(const opt_spec *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(s, true, fmt, ap);
    va_end(ap);
    return OPT_BAD_USAGE;
}

/* ======================================================================== */
/* What a row accepts, in words                                              */
/* ======================================================================== */

/* "a whole number from 0 to 16777216", "show or hide", ... into buf. */
static void describe_allowed(const opt_def *d, char *buf, size_t n)
{
    switch (d->kind) {
    case OPT_INT:
        if (d->hi == LONG_MAX)
            snprintf(buf, n, "a whole number of %ld or more", d->lo);
        else
            snprintf(buf, n, "a whole number from %ld to %ld", d->lo, d->hi);
        break;
    case OPT_FLOAT:
        snprintf(buf, n, "a number from %g to %g", d->flo, d->fhi);
        break;
    case OPT_SIZE:
        snprintf(buf, n, "a memory size such as 8G or 512M");
        break;
    case OPT_CHOICE: {
        size_t len = 0, k = 0;
        buf[0] = '\0';
        for (const char *const *c = d->choices; *c && len < n; c++, k++) {
            const char *sep = k == 0 ? "" : c[1] ? ", " : " or ";
            len += (size_t)snprintf(buf + len, n - len, "%s%s", sep, *c);
        }
        break;
    }
    default:
        snprintf(buf, n, "%s", d->value_name ? d->value_name : "a value");
        break;
    }
}

/* The value name shown in the help: "N", or "show|hide" for a choice. */
static void value_label(const opt_def *d, char *buf, size_t n)
{
    buf[0] = '\0';
    if (d->value_name) {
        snprintf(buf, n, "%s", d->value_name);
    } else if (d->kind == OPT_CHOICE) {
        size_t len = 0;
        for (const char *const *c = d->choices; *c && len < n; c++)
            len += (size_t)snprintf(buf + len, n - len, "%s%s", c == d->choices ? "" : "|", *c);
    }
}

bool opt_int_value(const char *cmd, const char *what, const char *text, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) {
        opt_def d = { .kind = OPT_INT, .lo = lo, .hi = hi };
        char allowed[96];
        describe_allowed(&d, allowed, sizeof allowed);
        fprintf(stderr, "localseek %s: %s expects %s, not '%s'\n", cmd, what, allowed, text);
        return false;
    }
    *out = v;
    return true;
}

/* ======================================================================== */
/* Taking one value                                                          */
/* ======================================================================== */

static bool bad_value(const opt_spec *s, const opt_def *d, const char *opt, const char *v)
{
    char allowed[256];
    describe_allowed(d, allowed, sizeof allowed);
    if (d->noun)
        say(s, "%s expects %s; %s '%s' is not one", opt, allowed, d->noun, v);
    else
        say(s, "%s expects %s, not '%s'", opt, allowed, v);
    return false;
}

/* Stores `v` for row d (spelled `opt` on the command line); false after
 * saying why it is not allowed. `seen_count` is how often d came before. */
static bool take_value(const opt_spec *s, const opt_def *d, const char *opt, const char *v, int seen_count)
{
    char *end;
    switch (d->kind) {
    case OPT_INT: {
        errno = 0;
        long x = strtol(v, &end, 10);
        if (errno || end == v || *end || x < d->lo || x > d->hi)
            return bad_value(s, d, opt, v);
        *d->i = x;
        return true;
    }
    case OPT_FLOAT: {
        errno = 0;
        double x = strtod(v, &end);
        if (errno || end == v || *end || !(x >= d->flo && x <= d->fhi)) /* NaN fails too */
            return bad_value(s, d, opt, v);
        *d->f = x;
        return true;
    }
    case OPT_SIZE:
        /* guard_parse_size's sentence already quotes the value and the units. */
        if (guard_parse_size(v, d->size) != LS_OK) {
            say(s, "%s: %s", opt, ls_error_msg());
            return false;
        }
        return true;
    case OPT_CHOICE:
        for (const char *const *c = d->choices; *c; c++)
            if (strcmp(*c, v) == 0) {
                *d->str = *c;
                return true;
            }
        return bad_value(s, d, opt, v);
    case OPT_LIST:
        if (seen_count >= d->max) {
            say(s, "%s can be given at most %d times", opt, d->max);
            return false;
        }
        d->list[seen_count] = v;
        *d->count = seen_count + 1;
        return true;
    case OPT_STRING:
        *d->str = v;
        return true;
    case OPT_FLAG:
    case OPT_POSITIONAL:
    case OPT_SECTION:
        break;
    }
    assert(!"take_value: a row kind without a value");
    return false;
}

/* ======================================================================== */
/* Unknown words                                                             */
/* ======================================================================== */

/* Edit distance between a[0..na) and b[0..nb), both at most 63 characters
 * (longer words are cut: they are far from every option anyway). */
static int edit_distance(const char *a, size_t na, const char *b, size_t nb)
{
    enum { MAXW = 63 };
    na = na > MAXW ? MAXW : na;
    nb = nb > MAXW ? MAXW : nb;
    int row[MAXW + 1];
    for (size_t j = 0; j <= nb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= nb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

/* The known spelling nearest to word[0..n), or NULL when none is close. */
static const char *nearest(const opt_spec *s, const char *word, size_t n)
{
    if (n <= 2)
        return NULL;
    const char *best = NULL, *prefix_of = NULL;
    int best_d = INT_MAX, n_prefix = 0;
    for (size_t k = 0; k <= s->n_defs; k++) {
        const char *names[2] = { "--help", NULL };
        if (k < s->n_defs) {
            names[0] = s->defs[k].name;
            names[1] = s->defs[k].alias;
        }
        for (int j = 0; j < 2; j++) {
            const char *c = names[j];
            if (!c || (k < s->n_defs && (s->defs[k].kind == OPT_POSITIONAL || s->defs[k].kind == OPT_SECTION)))
                continue;
            size_t nc = strlen(c);
            if (nc > n && strncmp(c, word, n) == 0) {
                prefix_of = c;
                n_prefix++;
            }
            int d = edit_distance(word, n, c, nc);
            if (d < best_d) {
                best_d = d;
                best = c;
            }
        }
    }
    int limit = n <= 4 ? 1 : 2;
    if (best && best_d <= limit)
        return best;
    return n_prefix == 1 ? prefix_of : NULL;
}

/* The row spelled word[0..n), or NULL. */
static const opt_def *find(const opt_spec *s, const char *word, size_t n)
{
    for (size_t k = 0; k < s->n_defs; k++) {
        const opt_def *d = &s->defs[k];
        if (d->kind == OPT_POSITIONAL || d->kind == OPT_SECTION)
            continue;
        if ((d->name && strlen(d->name) == n && strncmp(d->name, word, n) == 0) ||
            (d->alias && strlen(d->alias) == n && strncmp(d->alias, word, n) == 0))
            return d;
    }
    return NULL;
}

/* True when the command line spells row d somewhere (as "-m X", "--model X"
 * or "--model=X"), whatever comes before it. */
static bool given_anywhere(const opt_def *d, int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        for (int j = 0; j < 2; j++) {
            const char *c = j ? d->alias : d->name;
            size_t nc = c ? strlen(c) : 0;
            if (c && strncmp(argv[i], c, nc) == 0 && (argv[i][nc] == '\0' || argv[i][nc] == '='))
                return true;
        }
    return false;
}

/* A word someone may have meant as the model: a .gguf name or a file. */
static bool looks_like_model(const char *word)
{
    size_t n = strlen(word);
    if (n > 5 && strcasecmp(word + n - 5, ".gguf") == 0)
        return true;
    struct stat st;
    return stat(word, &st) == 0 && S_ISREG(st.st_mode);
}

/* "IN.gguf OUT.gguf TYPE": the positional rows' names, into buf. */
static void positional_names(const opt_spec *s, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < s->n_defs && len < n; k++)
        if (s->defs[k].kind == OPT_POSITIONAL)
            len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? " " : "", s->defs[k].value_name);
}

static void stray_word(const opt_spec *s, const char *word, int argc, char **argv)
{
    char names[256];
    positional_names(s, names, sizeof names);
    const opt_def *m = find(s, "-m", 2);
    if (m && m->kind == OPT_STRING && !given_anywhere(m, argc, argv) && looks_like_model(word))
        say(s, "unexpected argument '%s' (to use it as the model, write -m %s)", word, word);
    else if (names[0])
        say(s, "unexpected argument '%s' (expected only %s)", word, names);
    else
        say(s, "unexpected argument '%s'", word);
}

/* ======================================================================== */
/* The pass                                                                  */
/* ======================================================================== */

/* After the pass: the required rows not given, in one sentence. */
static bool check_required(const opt_spec *s, const int *seen)
{
    char missing[512];
    size_t len = 0;
    int n_missing = 0, n_missing_pos = 0;
    for (size_t k = 0; k < s->n_defs; k++) {
        const opt_def *d = &s->defs[k];
        if (!d->required || seen[k])
            continue;
        if (d->kind == OPT_POSITIONAL) {
            n_missing_pos++;
            continue;
        }
        n_missing++;
    }
    if (n_missing_pos) {
        char names[256];
        positional_names(s, names, sizeof names);
        opt_usage_error(s, "expected %s", names);
        return false;
    }
    if (!n_missing)
        return true;
    int k_missing = 0;
    missing[0] = '\0';
    for (size_t k = 0; k < s->n_defs && len < sizeof missing; k++) {
        const opt_def *d = &s->defs[k];
        if (!d->required || seen[k] || d->kind == OPT_POSITIONAL)
            continue;
        k_missing++;
        const char *sep = k_missing == 1 ? "" : k_missing == n_missing ? " and " : ", ";
        char label[64];
        value_label(d, label, sizeof label);
        len += (size_t)snprintf(missing + len, sizeof missing - len, "%s%s%s%s", sep, d->name, label[0] ? " " : "",
                                label);
    }
    opt_usage_error(s, "%s %s required", missing, n_missing == 1 ? "is" : "are");
    return false;
}

int opt_parse(const opt_spec *s, int argc, char **argv)
{
    assert(s->n_defs <= OPT_MAX_DEFS);
    int seen[OPT_MAX_DEFS] = { 0 }; /* times each row was given */
    bool only_positional = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_positional && strcmp(a, "--") == 0) {
            only_positional = true;
            continue;
        }
        if (only_positional || a[0] != '-' || a[1] == '\0') {
            size_t k = 0;
            while (k < s->n_defs && (s->defs[k].kind != OPT_POSITIONAL || seen[k]))
                k++;
            if (k == s->n_defs) {
                stray_word(s, a, argc, argv);
                return OPT_BAD_USAGE;
            }
            *s->defs[k].str = a;
            if (s->defs[k].set)
                *s->defs[k].set = true;
            seen[k]++;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            opt_print_help(s, s->out ? s->out : stdout);
            return OPT_HELP_SHOWN;
        }
        const char *eq = a[1] == '-' ? strchr(a, '=') : NULL;
        size_t n = eq ? (size_t)(eq - a) : strlen(a);
        char opt[64]; /* the option as typed, without "=value", for messages */
        snprintf(opt, sizeof opt, "%.*s", (int)(n < sizeof opt ? n : sizeof opt - 1), a);
        const opt_def *d = find(s, a, n);
        if (!d) {
            const char *near = nearest(s, a, n);
            if (near)
                say(s, "unknown option '%s' (did you mean %s?)", opt, near);
            else
                say(s, "unknown option '%s'", opt);
            return OPT_BAD_USAGE;
        }
        size_t k = (size_t)(d - s->defs);
        if (d->kind == OPT_FLAG) {
            if (eq) {
                say(s, "%s takes no value, not '%s'", opt, eq + 1);
                return OPT_BAD_USAGE;
            }
            *d->flag = true;
        } else {
            const char *v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
            if (!v) {
                char allowed[256];
                describe_allowed(d, allowed, sizeof allowed);
                if (d->kind == OPT_INT || d->kind == OPT_FLOAT)
                    say(s, "%s needs a number after it (%s)", opt, allowed);
                else
                    say(s, "%s needs a value after it (%s)", opt, allowed);
                return OPT_BAD_USAGE;
            }
            if (!take_value(s, d, opt, v, seen[k]))
                return OPT_BAD_USAGE;
        }
        if (d->set)
            *d->set = true;
        seen[k]++;
    }
    return check_required(s, seen) ? OPT_GO_ON : OPT_BAD_USAGE;
}

/* ======================================================================== */
/* The help                                                                  */
/* ======================================================================== */

/* "  -m, --model FILE" into buf; returns its length. */
static int row_label(const opt_def *d, char *buf, size_t n)
{
    char value[128];
    value_label(d, value, sizeof value);
    if (d->kind == OPT_POSITIONAL)
        return snprintf(buf, n, "  %s", value);
    return snprintf(buf, n, "  %s%s%s%s%s", d->name, d->alias ? ", " : "", d->alias ? d->alias : "",
                    d->kind == OPT_FLAG ? "" : " ", d->kind == OPT_FLAG ? "" : value);
}

/* Prints text from column `col` on, breaking lines at spaces before
 * WRAP_COLUMNS, each new line indented to `col`. A '\n' in the text is a
 * space like any other: the layout is made here, not in the tables. */
enum { WRAP_COLUMNS = 100 };

static void print_wrapped(FILE *out, const char *text, int col)
{
    int at = col;
    bool space = false; /* a space is owed before the next word on this line */
    for (const char *p = text; *p;) {
        if (*p == ' ' || *p == '\n') {
            space = at > col;
            p++;
            continue;
        }
        size_t word = strcspn(p, " \n");
        if (at > col && at + (int)space + (int)word > WRAP_COLUMNS) {
            fprintf(out, "\n%*s", col, "");
            at = col;
            space = false;
        }
        if (space)
            fputc(' ', out);
        fwrite(p, 1, word, out);
        at += (int)space + (int)word;
        space = false;
        p += word;
    }
}

void opt_print_help(const opt_spec *s, FILE *out)
{
    /* The help column: after the longest label, but labels longer than
     * 26 characters put their sentence on the next line instead of pushing
     * every other sentence to the right. */
    enum { MAX_COL = 28 };
    int col = 14;
    char label[256];
    for (size_t k = 0; k < s->n_defs; k++) {
        if (s->defs[k].kind == OPT_SECTION)
            continue;
        int len = row_label(&s->defs[k], label, sizeof label) + 2;
        if (len > col && len <= MAX_COL)
            col = len;
    }
    fprintf(out, "usage: %s\n", s->usage);
    if (s->intro)
        fprintf(out, "\n%s", s->intro);
    if (s->n_defs == 0 || s->defs[0].kind != OPT_SECTION)
        fputs("\noptions:\n", out);
    for (size_t k = 0; k < s->n_defs; k++) {
        const opt_def *d = &s->defs[k];
        if (d->kind == OPT_SECTION) {
            fprintf(out, "\n%s\n", d->help);
            continue;
        }
        int len = row_label(d, label, sizeof label);
        fputs(label, out);
        if (len + 2 > col)
            fprintf(out, "\n%*s", col, "");
        else
            fprintf(out, "%*s", col - len, "");
        char text[1024];
        size_t n = (size_t)snprintf(text, sizeof text, "%s", d->help ? d->help : "");
        if (d->kind == OPT_LIST && n < sizeof text)
            n += (size_t)snprintf(text + n, sizeof text - n, " (repeatable, up to %d times)", d->max);
        if (d->dflt && n < sizeof text)
            snprintf(text + n, sizeof text - n, " (default: %s)", d->dflt);
        print_wrapped(out, text, col);
        fputc('\n', out);
    }
    fprintf(out, "  -h, --help%*sthis help\n", col - 12, "");
    if (s->outro)
        fprintf(out, "\n%s", s->outro);
    if (s->more_help)
        s->more_help(out);
}

/* ======================================================================== */
/* Shared options                                                            */
/* ======================================================================== */

opt_def opt_model(const char **path)
{
    return (opt_def){ .kind = OPT_STRING, .name = "-m", .alias = "--model", .value_name = "FILE",
                      .help = "the GGUF model file", .required = true, .str = path };
}

opt_def opt_threads(long *n_threads)
{
    return (opt_def){ .kind = OPT_INT, .name = "-t", .alias = "--threads", .value_name = "N", .help = "threads",
                      .dflt = "physical cores", .noun = "thread count", .i = n_threads, .lo = 1, .hi = 1024 };
}

opt_def opt_ctx(long *n_ctx, long lo)
{
    return (opt_def){ .kind = OPT_INT, .name = "--ctx", .value_name = "N", .help = "context size in tokens",
                      .dflt = "4096", .i = n_ctx, .lo = lo, .hi = 1 << 24 };
}

opt_def opt_temp(double *temp, bool *set, const char *dflt)
{
    return (opt_def){ .kind = OPT_FLOAT, .name = "--temp", .value_name = "T",
                      .help = "temperature; 0 = always the most likely token", .dflt = dflt, .f = temp, .set = set,
                      .flo = 0.0, .fhi = 100.0 };
}

opt_def opt_top_k(long *top_k, bool *set, const char *dflt)
{
    return (opt_def){ .kind = OPT_INT, .name = "--top-k", .value_name = "K",
                      .help = "sample among the K most likely tokens only; 0 = all of them", .dflt = dflt, .i = top_k,
                      .set = set, .lo = 0, .hi = 1 << 24 };
}

opt_def opt_top_p(double *top_p, bool *set, const char *dflt)
{
    return (opt_def){ .kind = OPT_FLOAT, .name = "--top-p", .value_name = "P",
                      .help = "sample among the most likely tokens that together reach probability P", .dflt = dflt,
                      .f = top_p, .set = set, .flo = 1e-6, .fhi = 1.0 };
}

opt_def opt_min_p(double *min_p, bool *set, const char *dflt)
{
    return (opt_def){ .kind = OPT_FLOAT, .name = "--min-p", .value_name = "P",
                      .help = "drop tokens less likely than P times the most likely one", .dflt = dflt, .f = min_p,
                      .set = set, .flo = 0.0, .fhi = 0.999 };
}

opt_def opt_seed(long *seed)
{
    return (opt_def){ .kind = OPT_INT, .name = "--seed", .value_name = "S",
                      .help = "random seed: the same seed gives the same text", .dflt = "42", .i = seed, .lo = 0,
                      .hi = 0x7fffffffL };
}

opt_def opt_mem_budget(size_t *bytes)
{
    return (opt_def){ .kind = OPT_SIZE, .name = "--mem-budget", .value_name = "SIZE",
                      .help = "memory this run may use, e.g. 8G or 512M", .dflt = "what the machine can give",
                      .size = bytes };
}

opt_def opt_timeout(double *seconds)
{
    return (opt_def){ .kind = OPT_FLOAT, .name = "--timeout", .value_name = "SECONDS",
                      .help = "stop generating after this long, keeping what was written", .dflt = "no limit",
                      .f = seconds, .flo = 0.001, .fhi = 1e7 };
}

opt_def opt_chat_template(const char **name)
{
    /* The names come from generate/template.h, so a new family shows up
     * here by itself. Written once; every call writes the same text. */
    static char help[256];
    if (!help[0]) {
        size_t len = (size_t)snprintf(help, sizeof help, "the chat template family: ");
        for (int f = 1; f < TPL_N_FAMILIES && len < sizeof help; f++)
            len += (size_t)snprintf(help + len, sizeof help - len, "%s%s",
                                    f == 1 ? "" : f + 1 == TPL_N_FAMILIES ? " or " : ", ",
                                    tpl_family_info((tpl_family)f)->name);
    }
    return (opt_def){ .kind = OPT_STRING, .name = "--chat-template", .value_name = "NAME", .help = help,
                      .dflt = "the model's own", .str = name };
}

opt_def opt_db(const char **path)
{
    return (opt_def){ .kind = OPT_STRING, .name = "--db", .value_name = "PATH", .help = "the memory file",
                      .dflt = "$XDG_DATA_HOME/localseek/memory.db", .str = path };
}

opt_def opt_act_bits(const char **bits_name)
{
    static const char *const bits[] = { "16", "8", NULL };
    return (opt_def){ .kind = OPT_CHOICE, .name = "--act-bits", .choices = bits, .str = bits_name, .dflt = "16",
                      .help = "activations in two 8-bit levels (16), or in one as llama.cpp does (8)" };
}

opt_def opt_json(bool *json)
{
    return (opt_def){ .kind = OPT_FLAG, .name = "--json", .help = "print JSON instead of text (for scripts)",
                      .flag = json };
}
