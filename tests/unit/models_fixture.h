/*
 * A Copilot /models list with one model per /v1/messages flow: a Claude
 * model with /v1/messages (native), gpt-5 with /responses, gpt-4o with
 * /chat/completions only.  Shared by the route suite and the request-path
 * fuzz harnesses, which cache it as the gateway would.
 */
#ifndef GW_TEST_MODELS_FIXTURE_H
#define GW_TEST_MODELS_FIXTURE_H

#define MODELS_FIXTURE_JSON "[" \
    "{\"id\":\"claude-sonnet-4\",\"vendor\":\"Anthropic\"," \
    "\"model_picker_enabled\":true," \
    "\"capabilities\":{\"type\":\"chat\",\"family\":\"claude-sonnet-4\"," \
    "\"tokenizer\":\"o200k_base\",\"limits\":{\"max_output_tokens\":16000}," \
    "\"supports\":{\"streaming\":true,\"tool_calls\":true}}," \
    "\"supported_endpoints\":[\"/chat/completions\",\"/v1/messages\"]}," \
    "{\"id\":\"gpt-5\",\"vendor\":\"Azure OpenAI\",\"model_picker_enabled\":true," \
    "\"capabilities\":{\"type\":\"chat\",\"family\":\"gpt-5\"," \
    "\"tokenizer\":\"o200k_base\",\"limits\":{\"max_output_tokens\":64000}," \
    "\"supports\":{\"streaming\":true,\"tool_calls\":true}}," \
    "\"supported_endpoints\":[\"/chat/completions\",\"/responses\"]}," \
    "{\"id\":\"gpt-4o\",\"vendor\":\"Azure OpenAI\",\"model_picker_enabled\":true," \
    "\"capabilities\":{\"type\":\"chat\",\"family\":\"gpt-4o\"," \
    "\"tokenizer\":\"o200k_base\",\"limits\":{\"max_output_tokens\":4096}," \
    "\"supports\":{\"streaming\":true,\"tool_calls\":true}}," \
    "\"supported_endpoints\":[\"/chat/completions\"]}" \
    "]"

#endif
