/* libFuzzer: config.json validation (json_parse + cfg_from_json). */
#include <stdint.h>
#include <stdlib.h>

#include "core/json.h"
#include "state/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf err = BUF_INIT;
	struct cfg *cfg = NULL;
	cJSON *root = json_parse((const char *)data, size, NULL, NULL);

	if (root != NULL && cfg_from_json(root, "config.json", &cfg, &err) == GW_OK) {
		(void)cfg_copilot_url(cfg, "https://api.example.test");
		(void)cfg_reasoning_effort(cfg, "gpt-5.4");
		(void)cfg_provider_find(cfg, "x");
	}
	cfg_free(cfg);
	cJSON_Delete(root);
	buf_free(&err);
	return 0;
}
