/*
 * libFuzzer harness for the /v1/messages pipeline: arbitrary bytes are
 * parsed as JSON and, when they parse, run through pp_messages() and then
 * nm_prepare() (the native flow's rewrites), with options picked by a
 * checksum of the input so that plain JSON files make good seeds.  Its corpus
 * (tests/fuzz/corpus/preprocess) started from the golden files.  Build and
 * run: `make fuzz` (doc/fuzzing.md).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "translate/model_id.h"
#include "translate/native_messages.h"
#include "translate/preprocess.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char model_entry[] =
    "{\"id\":\"claude-opus-4.7\",\"capabilities\":{\"supports\":"
    "{\"adaptive_thinking\":true,\"reasoning_effort\":[\"low\",\"high\"]}},"
    "\"supported_endpoints\":[\"/v1/messages\"]}";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pp_opts o = { 0 };
	struct pp_result r;
	struct nm_opts no = { 0 };
	struct nm_result nr;
	struct buf err = BUF_INIT;
	cJSON *payload, *model;
	uint8_t flags = 0;
	char norm[TR_MODEL_ID_MAX + 16];
	size_t i;

	for (i = 0; i < size; i++)
		flags = (uint8_t)(flags * 31 + data[i]);
	payload = json_parse((const char *)data, size, NULL, NULL);
	if (payload == NULL)
		return 0;
	o.anthropic_beta_present = flags & 1;
	o.x_session_id = (flags & 2) ? "session-123" : NULL;
	o.machine_id = (flags & 4) ? "machine" : NULL;
	o.model_mapping = (flags & 8) ? "dash/qwen-plus" : NULL;
	o.small_model = (flags & 16) ? "small-model" : NULL;
	if (pp_messages(payload, &o, &r, &err) == GW_OK && r.provider == NULL) {
		(void)pp_final_initiator(r.initiator, &r);
		(void)tr_model_normalize(json_str(payload, "model"), norm, sizeof(norm));
		model = json_parse(model_entry, strlen(model_entry), NULL, NULL);
		no.model = (flags & 32) ? model : NULL;
		no.reasoning_effort = (flags & 64) ? "minimal" : NULL;
		no.opencode = flags >> 7;
		if (nm_prepare(payload, (flags & 1) ? "interleaved-thinking-2025-05-14,"
		    " x ,context-management-2025-06-27" : NULL, &no, &nr, &err) == GW_OK)
			free(json_print(payload));
		nm_result_free(&nr);
		cJSON_Delete(model);
	}
	pp_result_free(&r);
	buf_free(&err);
	cJSON_Delete(payload);
	return 0;
}
