/*
 * libFuzzer harness: the Anthropic -> Chat request translator and the Chat
 * -> Anthropic response translator on arbitrary JSON.  The input is used
 * whole (so the fixture .in.json files are seeds as they are); the options
 * come from its length.  Must hold: no crash, no leak, the input is never
 * modified, success gives a document and a rejection gives a reason.
 * Build and run: see tests/fixtures/anthropic_chat/README.md.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "translate/anthropic_chat.h"

static const char model_entry[] =
    "{\"id\":\"claude-sonnet-4\",\"capabilities\":{\"limits\":"
    "{\"max_output_tokens\":16000},\"supports\":{\"max_thinking_budget\":"
    "32000,\"min_thinking_budget\":1024}}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static cJSON *model;
	cJSON *in, *out = NULL;
	char *before, *after;
	struct tr_chat_opts o;
	struct buf err = BUF_INIT;
	enum gw_err e;

	if (model == NULL) {
		log_set_level(LOG_ERROR);
		model = cJSON_Parse(model_entry);
	}
	if ((in = json_parse((const char *)data, size, NULL, NULL)) == NULL)
		return 0;
	before = cJSON_PrintUnformatted(in);
	memset(&o, 0, sizeof(o));
	o.copilot = size & 1;
	o.tool_content = (size >> 1) & 7;
	o.support_pdf = (size >> 4) & 1;
	o.model = (size >> 5) & 1 ? model : NULL;

	e = tr_anthropic_to_chat(in, &o, &out, &err);
	if ((e == GW_OK) != (out != NULL) || (e == GW_EINVAL && err.len == 0) ||
	    (e != GW_OK && e != GW_EINVAL))
		abort();
	cJSON_Delete(out);
	out = NULL;
	buf_reset(&err);

	e = tr_chat_to_anthropic(in, "m", &out, &err);
	if ((e == GW_OK) != (out != NULL) || (e == GW_EUPSTREAM && err.len == 0) ||
	    (e != GW_OK && e != GW_EUPSTREAM))
		abort();
	/* printed, not cJSON_Compare: that one is wrong on duplicate keys */
	after = cJSON_PrintUnformatted(in);
	if (after == NULL || strcmp(before, after) != 0)
		abort();
	free(after);
	free(before);
	cJSON_Delete(out);
	cJSON_Delete(in);
	buf_free(&err);
	return 0;
}
