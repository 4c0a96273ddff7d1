/* cmd_prompt.c — `localseek prompt`: show the exact prompt a model would read.
 *
 *   localseek prompt -m MODEL --messages FILE.json [--no-generation-prompt] [--tokens]
 *                    [--chat-template NAME]
 *
 * FILE.json is an OpenAI-style array: [{"role": "user", "content": "Hi"}, …]
 * with roles system, user and assistant. The conversation is rendered with
 * the model's chat template (the GGUF key tokenizer.chat_template, its family
 * recognised by generate/template.h) and printed exactly: no newline is
 * added, so `localseek prompt … | xxd` shows every byte. With --tokens the
 * prompt is encoded instead, template markers as special tokens and message
 * text as plain text, and the ids are printed on one line.
 *
 * A model without a template, or with one localseek does not recognise, is
 * rendered as ChatML with a warning on stderr; --chat-template NAME chooses
 * the family. Exit status: 0 ok, 1 a file cannot be read or the messages are
 * malformed (one sentence on stderr), 2 bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/options.h"
#include "base/alloc.h"
#include "base/platform.h"
#include "generate/template.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

/* ======================================================================== */
/* Reading the messages                                                      */
/* ======================================================================== */

/* Parses FILE.json into msgs (views into *root, which the caller deletes
 * with cJSON_Delete) and *n. On failure prints one sentence and returns false. */
static bool read_messages(const char *path, cJSON **root, tpl_message **msgs, size_t *n)
{
    *root = NULL;
    *msgs = NULL;
    *n = 0;
    plat_map map = { 0 };
    if (plat_map_file(path, &map) != LS_OK) {
        fprintf(stderr, "localseek prompt: %s\n", ls_error_msg());
        return false;
    }
    const char *data = map.data ? (const char *)map.data : "";
    *root = cJSON_ParseWithLength(data, map.size_bytes);
    if (!*root) {
        const char *at = cJSON_GetErrorPtr();
        size_t where = at && at >= data && at <= data + map.size_bytes ? (size_t)(at - data) : 0;
        fprintf(stderr, "localseek prompt: %s is not valid JSON (error near byte %zu)\n", path, where);
        plat_unmap(&map);
        return false;
    }
    plat_unmap(&map); /* cJSON copied the strings */
    if (!cJSON_IsArray(*root)) {
        fprintf(stderr, "localseek prompt: %s must hold a JSON array of messages, "
                        "[{\"role\": \"user\", \"content\": \"...\"}, ...]\n", path);
        return false;
    }
    size_t count = (size_t)cJSON_GetArraySize(*root);
    *msgs = ls_malloc((count ? count : 1) * sizeof **msgs);
    if (!*msgs) {
        fprintf(stderr, "localseek prompt: out of memory reading %s\n", path);
        return false;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, *root) {
        size_t i = (*n)++;
        const char *role = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "role"));
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (!cJSON_IsObject(m) || !role) {
            fprintf(stderr, "localseek prompt: %s: message %zu of %zu is not an object with a string \"role\"\n",
                    path, i + 1, count);
            return false;
        }
        if (!cJSON_IsString(content)) {
            fprintf(stderr, "localseek prompt: %s: message %zu of %zu (%s) has no string \"content\" "
                            "(content parts and tool calls are not supported)\n", path, i + 1, count, role);
            return false;
        }
        (*msgs)[i] = (tpl_message){ role, content->valuestring };
    }
    return true;
}

/* ======================================================================== */
/* The command                                                               */
/* ======================================================================== */

/* The text of token `id` as a new NUL-terminated string ("" if id < 0). */
static char *token_text(const tok_tokenizer *tok, int32_t id)
{
    size_t n = 0;
    const char *p = id >= 0 ? tok_piece(tok, id, &n) : NULL;
    return ls_strndup(p ? p : "", p ? n : 0);
}

int cmd_prompt(int argc, char **argv)
{
    const char *model = NULL, *messages = NULL, *template_name = NULL;
    bool no_generation_prompt = false, tokens = false;
    const opt_def defs[] = {
        { .kind = OPT_STRING, .name = "-m", .alias = "--model", .value_name = "FILE", .str = &model,
          .required = true, .help = "a GGUF file with a tokenizer (a model or a vocab-only file)" },
        { .kind = OPT_STRING, .name = "--messages", .value_name = "FILE.json", .str = &messages, .required = true,
          .help = "the conversation: [{\"role\": \"user\", \"content\": \"Hi\"}, ...]; "
                  "roles system, user, assistant (tool messages are not supported)" },
        { .kind = OPT_FLAG, .name = "--no-generation-prompt", .flag = &no_generation_prompt,
          .help = "stop after the last message (default: end with the opening of "
                  "the assistant's turn, where the model starts writing)" },
        { .kind = OPT_FLAG, .name = "--tokens", .flag = &tokens,
          .help = "print the token ids instead (one line): template markers become "
                  "special tokens, message text never does; BOS added once if the "
                  "model wants it" },
        opt_chat_template(&template_name),
    };
    const opt_spec spec = {
        .cmd = "prompt",
        .usage = "localseek prompt -m MODEL --messages FILE.json [--no-generation-prompt] [--tokens]\n"
                 "                        [--chat-template NAME]",
        .intro = "Prints the prompt MODEL reads for a conversation, byte for byte (no newline added).\n",
        .outro = "A model with no chat template, or one localseek does not recognise, is rendered as chatml\n"
                 "with a warning on stderr; --chat-template NAME chooses the family instead.\n",
        .defs = defs,
        .n_defs = OPT_COUNT(defs),
    };
    int rc = opt_parse(&spec, argc, argv);
    if (rc != OPT_GO_ON)
        return rc;
    const bool generation_prompt = !no_generation_prompt;
    tpl_family forced = TPL_UNKNOWN;
    if (template_name && !cli_chat_template("prompt", template_name, &forced))
        return 2;

    rc = 1;
    cJSON *root = NULL;
    tpl_message *msgs = NULL;
    size_t n_msgs = 0;
    gguf_file *f = NULL;
    tok_tokenizer *tok = NULL;
    char *bos = NULL, *eos = NULL;
    tpl_prompt p = { 0 };
    int32_t *ids = NULL;
    size_t n_ids = 0;

    if (!read_messages(messages, &root, &msgs, &n_msgs))
        goto done;
    if (gguf_open(model, &f) != LS_OK || tok_load(f, &tok) != LS_OK) {
        fprintf(stderr, "localseek prompt: %s\n", ls_error_msg());
        goto done;
    }
    tpl_family family = cli_model_family("prompt", f, model, forced);
    bos = token_text(tok, tok_bos(tok));
    eos = token_text(tok, tok_eos(tok));
    if (!bos || !eos) {
        fprintf(stderr, "localseek prompt: out of memory\n");
        goto done;
    }
    tpl_options opt = { .add_generation_prompt = generation_prompt, .bos = bos, .eos = eos };
    if (tpl_render(family, msgs, n_msgs, &opt, &p) != LS_OK) {
        fprintf(stderr, "localseek prompt: %s: %s\n", messages, ls_error_msg());
        goto done;
    }
    if (tokens) {
        if (tpl_encode(tok, &p, &ids, &n_ids) != LS_OK) {
            fprintf(stderr, "localseek prompt: %s\n", ls_error_msg());
            goto done;
        }
        for (size_t i = 0; i < n_ids; i++)
            printf(i ? " %d" : "%d", ids[i]);
        putchar('\n');
    } else {
        fwrite(p.text, 1, p.n_bytes, stdout);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "localseek prompt: cannot write the output\n");
        goto done;
    }
    rc = 0;
done:
    ls_free(ids);
    tpl_prompt_free(&p);
    ls_free(bos);
    ls_free(eos);
    tok_free(tok);
    gguf_close(f);
    ls_free(msgs);
    cJSON_Delete(root);
    return rc;
}
