/*
 * Token counts of Chat payloads and the local count_tokens estimate, as
 * the reference computes them (contract in count.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "tokenize/bpe.h"
#include "tokenize/count.h"

/* ---- JavaScript value semantics over cJSON ---- */

/* One own property as Object.entries() lists it. */
struct js_prop {
	const char *key;
	const cJSON *val;
	size_t pos;                /* first occurrence among the children */
	unsigned long index;       /* value of an array-index key */
	int is_index;
	char num[24];              /* the key of an array element */
};

/* "0" or [1-9][0-9]* below 2^32 - 1: V8 lists such keys first. */
static int
array_index(const char *k, unsigned long *out)
{
	unsigned long v = 0;
	const char *p;

	if (k[0] == '\0' || (k[0] == '0' && k[1] != '\0'))
		return 0;
	for (p = k; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 4294967294ul)
			return 0;
	}
	*out = v;
	return 1;
}

static int
cmp_pos(size_t a, size_t b)
{
	return (a > b) - (a < b);
}

static int
prop_by_key(const void *a, const void *b)
{
	const struct js_prop *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c != 0 ? c : cmp_pos(x->pos, y->pos);
}

static int
prop_by_js_order(const void *a, const void *b)
{
	const struct js_prop *x = a, *y = b;

	if (x->is_index != y->is_index)
		return x->is_index ? -1 : 1;
	if (x->is_index)
		return cmp_pos(x->index, y->index);
	return cmp_pos(x->pos, y->pos);
}

/*
 * The entries of an object (or array) in JS order: array-index keys
 * ascending, then the others in first-appearance order, a repeated key
 * holding its last value (what JSON.parse builds).  *out is malloc'd;
 * anything else than an object or array has no entries.
 */
static GW_MUST_CHECK enum gw_err
js_props(const cJSON *v, struct js_prop **out, size_t *count)
{
	const cJSON *c;
	struct js_prop *p;
	size_t n = 0, i, j, k;
	int arr = cJSON_IsArray(v);

	*out = NULL;
	*count = 0;
	if (!arr && !cJSON_IsObject(v))
		return GW_OK;
	for (c = v->child; c != NULL; c = c->next)
		n++;
	if (n == 0)
		return GW_OK;
	if ((p = calloc(n, sizeof(*p))) == NULL)
		return GW_ENOMEM;
	for (i = 0, c = v->child; c != NULL; c = c->next, i++) {
		p[i].val = c;
		p[i].pos = i;
		if (arr) {
			p[i].is_index = 1;
			p[i].index = i;
		} else {
			p[i].key = c->string != NULL ? c->string : "";
			p[i].is_index = array_index(p[i].key, &p[i].index);
		}
	}
	if (!arr && n > 1) {
		qsort(p, n, sizeof(*p), prop_by_key);
		for (i = 0, k = 0; i < n; i = j, k++) {
			for (j = i + 1; j < n && strcmp(p[j].key, p[i].key) == 0; j++)
				;
			p[k] = p[i];
			p[k].val = p[j - 1].val;
		}
		n = k;
		qsort(p, n, sizeof(*p), prop_by_js_order);
	}
	for (i = 0; arr && i < n; i++) {
		snprintf(p[i].num, sizeof(p[i].num), "%zu", i);
		p[i].key = p[i].num;
	}
	*out = p;
	*count = n;
	return GW_OK;
}

/* obj[key] as JS reads it (the last duplicate wins); NULL is undefined. */
static const cJSON *
js_get(const cJSON *obj, const char *key)
{
	const cJSON *c, *found = NULL;

	if (!cJSON_IsObject(obj))
		return NULL;
	for (c = obj->child; c != NULL; c = c->next)
		if (c->string != NULL && strcmp(c->string, key) == 0)
			found = c;
	return found;
}

static int
js_truthy(const cJSON *v)
{
	if (v == NULL || cJSON_IsFalse(v) || cJSON_IsNull(v))
		return 0;
	if (cJSON_IsNumber(v))
		return v->valuedouble != 0 && !isnan(v->valuedouble);
	if (cJSON_IsString(v))
		return v->valuestring[0] != '\0';
	return 1;
}

static int
is_str(const cJSON *v, const char *s)
{
	return cJSON_IsString(v) && strcmp(v->valuestring, s) == 0;
}

/* Number::toString, or JSON.stringify's form of it when json is set. */
static GW_MUST_CHECK enum gw_err
js_number(double d, int json, struct buf *b)
{
	if (!json && isnan(d))
		return buf_puts(b, "NaN");
	if (!json && isinf(d))
		return buf_puts(b, d > 0 ? "Infinity" : "-Infinity");
	return json_number(b, d);
}

/* String(v); v NULL is undefined. */
static GW_MUST_CHECK enum gw_err
js_string(const cJSON *v, struct buf *b)
{
	const cJSON *c;
	enum gw_err err = GW_OK;

	if (v == NULL)
		return buf_puts(b, "undefined");
	if (cJSON_IsString(v))
		return buf_puts(b, v->valuestring);
	if (cJSON_IsNumber(v))
		return js_number(v->valuedouble, 0, b);
	if (cJSON_IsBool(v))
		return buf_puts(b, cJSON_IsTrue(v) ? "true" : "false");
	if (cJSON_IsNull(v))
		return buf_puts(b, "null");
	if (cJSON_IsArray(v)) {
		/* Array.prototype.join: null elements become "" */
		for (c = v->child; c != NULL && err == GW_OK; c = c->next) {
			if (c != v->child)
				err = buf_putc(b, ',');
			if (err == GW_OK && !cJSON_IsNull(c))
				err = js_string(c, b);
		}
		return err;
	}
	return buf_puts(b, "[object Object]");
}

/* JSON.stringify(v) with no indentation. */
static GW_MUST_CHECK enum gw_err
js_json(const cJSON *v, struct buf *b)
{
	struct js_prop *p = NULL;
	const cJSON *c;
	size_t n = 0, i;
	enum gw_err err = GW_OK;

	if (v == NULL || cJSON_IsNull(v))
		return buf_puts(b, "null");
	if (cJSON_IsString(v))
		return json_quote(b, v->valuestring, strlen(v->valuestring));
	if (cJSON_IsNumber(v))
		return js_number(v->valuedouble, 1, b);
	if (cJSON_IsBool(v))
		return buf_puts(b, cJSON_IsTrue(v) ? "true" : "false");
	if (cJSON_IsArray(v)) {
		err = buf_putc(b, '[');
		for (c = v->child; c != NULL && err == GW_OK; c = c->next) {
			if (c != v->child)
				err = buf_putc(b, ',');
			if (err == GW_OK)
				err = js_json(c, b);
		}
		return err == GW_OK ? buf_putc(b, ']') : err;
	}
	if (!cJSON_IsObject(v))
		return buf_puts(b, "null");
	if ((err = js_props(v, &p, &n)) != GW_OK)
		return err;
	err = buf_putc(b, '{');
	for (i = 0; i < n && err == GW_OK; i++) {
		if (i > 0)
			err = buf_putc(b, ',');
		if (err == GW_OK)
			err = json_quote(b, p[i].key, strlen(p[i].key));
		if (err == GW_OK)
			err = buf_putc(b, ':');
		if (err == GW_OK)
			err = js_json(p[i].val, b);
	}
	free(p);
	return err == GW_OK ? buf_putc(b, '}') : err;
}

/*
 * What a WHATWG UTF-8 decoder (the reference's body parser) makes of
 * bytes that are not UTF-8: one U+FFFD per maximal invalid subpart.
 */
static GW_MUST_CHECK enum gw_err
utf8_repair(const char *s, size_t n, struct buf *b)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, j, need;
	unsigned lo, hi;
	enum gw_err err = GW_OK;

	while (i < n && err == GW_OK) {
		unsigned c = p[i];

		need = 0;
		lo = 0x80;
		hi = 0xbf;
		if (c < 0x80) {
			err = buf_putc(b, (char)c);
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			lo = c == 0xe0 ? 0xa0 : 0x80;
			hi = c == 0xed ? 0x9f : 0xbf;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			lo = c == 0xf0 ? 0x90 : 0x80;
			hi = c == 0xf4 ? 0x8f : 0xbf;
		}
		for (j = i + 1; need > 0 && j < n && p[j] >= lo && p[j] <= hi; j++) {
			need--;
			lo = 0x80;
			hi = 0xbf;
		}
		if (c >= 0xc2 && c <= 0xf4 && need == 0) {
			err = buf_append(b, p + i, j - i);
		} else {
			/* the byte that broke the sequence is decoded afresh */
			err = buf_append(b, "\xef\xbf\xbd", 3);
			if (j == i)
				j = i + 1;
		}
		i = j;
	}
	return err;
}

/* Length of a valid UTF-8 string in UTF-16 code units. */
static size_t
utf16_len(const char *s, size_t n)
{
	size_t i, u = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c & 0xc0) != 0x80)
			u += c >= 0xf0 ? 2 : 1;
	}
	return u;
}

/* ---- getTokenCount ---- */

struct cc {
	enum tok_encoding enc;
	long func_init, func_end, prop_init, prop_key, enum_init, enum_item;
	int gpt;                   /* tools counted field by field */
	struct buf line;           /* text being assembled for counting */
	struct buf fixed;          /* U+FFFD-repaired copy of a text */
};

static GW_MUST_CHECK enum gw_err
bad(const char *why)
{
	log_debug("count_tokens: %s (the reference would throw)", why);
	return GW_EINVAL;
}

static GW_MUST_CHECK enum gw_err
repaired(struct cc *c, const char **s, size_t *n)
{
	enum gw_err err;

	if (tok_utf8_valid(*s, *n))
		return GW_OK;
	buf_reset(&c->fixed);
	if ((err = utf8_repair(*s, *n, &c->fixed)) != GW_OK)
		return err;
	*s = buf_cstr(&c->fixed);
	*n = c->fixed.len;
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
count_text(struct cc *c, const char *s, size_t n, long *acc)
{
	size_t k = 0;
	enum gw_err err;

	if ((err = repaired(c, &s, &n)) != GW_OK ||
	    (err = tok_count(c->enc, s, n, &k)) != GW_OK)
		return err;
	*acc += (long)k;
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
count_str(struct cc *c, const char *s, long *acc)
{
	return count_text(c, s, strlen(s), acc);
}

static GW_MUST_CHECK enum gw_err
count_line(struct cc *c, long *acc)
{
	return count_text(c, buf_cstr(&c->line), c->line.len, acc);
}

/* Appends a description the way `(d || "")` then slicing one trailing "."
 * works; a truthy non-string has no endsWith() and throws. */
static GW_MUST_CHECK enum gw_err
put_desc(const cJSON *d, struct buf *b)
{
	size_t n;

	if (!js_truthy(d))
		return GW_OK;
	if (!cJSON_IsString(d))
		return bad("description is not a string");
	n = strlen(d->valuestring);
	if (d->valuestring[n - 1] == '.')
		n--;
	return buf_append(b, d->valuestring, n);
}

/* `${k}:${typeof v === "string" ? v : JSON.stringify(v)}` */
static GW_MUST_CHECK enum gw_err
count_key_value(struct cc *c, const char *k, const cJSON *v, long *acc)
{
	enum gw_err err;

	buf_reset(&c->line);
	if ((err = buf_printf(&c->line, "%s:", k)) != GW_OK ||
	    (err = cJSON_IsString(v) ? buf_puts(&c->line, v->valuestring) :
	    js_json(v, &c->line)) != GW_OK)
		return err;
	return count_line(c, acc);
}

static GW_MUST_CHECK enum gw_err parameters_tokens(struct cc *c, const cJSON *params, long *acc);

static GW_MUST_CHECK enum gw_err
parameter_tokens(struct cc *c, const char *key, const cJSON *prop, long *acc)
{
	static const char *const std[] = { "type", "description", "enum", "items" };
	const cJSON *type, *en, *item;
	struct js_prop *p = NULL;
	size_t n = 0, i, s;
	enum gw_err err = GW_OK;

	*acc += c->prop_key;
	if (!cJSON_IsObject(prop) && !cJSON_IsArray(prop))
		return GW_OK;
	type = js_get(prop, "type");
	en = js_get(prop, "enum");
	if (cJSON_IsArray(en)) {
		*acc += c->enum_init;
		cJSON_ArrayForEach(item, en) {
			*acc += c->enum_item;
			buf_reset(&c->line);
			if ((err = js_string(item, &c->line)) != GW_OK ||
			    (err = count_line(c, acc)) != GW_OK)
				return err;
		}
	}
	buf_reset(&c->line);
	if ((err = buf_printf(&c->line, "%s:", key)) != GW_OK ||
	    (err = js_truthy(type) ? js_string(type, &c->line) :
	    buf_puts(&c->line, "string")) != GW_OK ||
	    (err = buf_putc(&c->line, ':')) != GW_OK ||
	    (err = put_desc(js_get(prop, "description"), &c->line)) != GW_OK ||
	    (err = count_line(c, acc)) != GW_OK)
		return err;
	if (is_str(type, "array") && js_truthy(js_get(prop, "items")) &&
	    (err = parameters_tokens(c, js_get(prop, "items"), acc)) != GW_OK)
		return err;
	if ((err = js_props(prop, &p, &n)) != GW_OK)
		return err;
	for (i = 0; i < n && err == GW_OK; i++) {
		for (s = 0; s < ARRAY_LEN(std) && strcmp(p[i].key, std[s]) != 0; s++)
			;
		if (s == ARRAY_LEN(std))
			err = count_key_value(c, p[i].key, p[i].val, acc);
	}
	free(p);
	return err;
}

static GW_MUST_CHECK enum gw_err
properties_tokens(struct cc *c, const cJSON *props, long *acc)
{
	struct js_prop *p = NULL;
	size_t n = 0, i;
	const char *s;
	enum gw_err err;

	if (cJSON_IsNull(props))
		return bad("properties is null");
	if (cJSON_IsString(props)) {
		/* Object.keys of a string: one key per UTF-16 unit, each a
		 * one-character string, so propKey each */
		s = props->valuestring;
		n = strlen(s);
		if ((err = repaired(c, &s, &n)) != GW_OK)
			return err;
		n = utf16_len(s, n);
		if (n > 0)
			*acc += c->prop_init + c->prop_key * (long)n;
		return GW_OK;
	}
	if ((err = js_props(props, &p, &n)) != GW_OK)
		return err;
	if (n > 0)
		*acc += c->prop_init;
	for (i = 0; i < n && err == GW_OK; i++)
		err = parameter_tokens(c, p[i].key, p[i].val, acc);
	free(p);
	return err;
}

static GW_MUST_CHECK enum gw_err
parameters_tokens(struct cc *c, const cJSON *params, long *acc)
{
	struct js_prop *p = NULL;
	size_t n = 0, i;
	enum gw_err err;

	if ((err = js_props(params, &p, &n)) != GW_OK)
		return err;
	for (i = 0; i < n && err == GW_OK; i++) {
		if (strcmp(p[i].key, "$schema") == 0 ||
		    strcmp(p[i].key, "additionalProperties") == 0)
			continue;
		if (strcmp(p[i].key, "properties") == 0)
			err = properties_tokens(c, p[i].val, acc);
		else
			err = count_key_value(c, p[i].key, p[i].val, acc);
	}
	free(p);
	return err;
}

static GW_MUST_CHECK enum gw_err
tool_tokens(struct cc *c, const cJSON *tool, long *acc)
{
	const cJSON *fn = js_get(tool, "function"), *params;
	enum gw_err err;

	if (fn == NULL || cJSON_IsNull(fn))
		return bad("tool without function");
	*acc += c->func_init;
	buf_reset(&c->line);
	if ((err = js_string(js_get(fn, "name"), &c->line)) != GW_OK ||
	    (err = buf_putc(&c->line, ':')) != GW_OK ||
	    (err = put_desc(js_get(fn, "description"), &c->line)) != GW_OK ||
	    (err = count_line(c, acc)) != GW_OK)
		return err;
	params = js_get(fn, "parameters");
	if (cJSON_IsObject(params) || cJSON_IsArray(params))
		return parameters_tokens(c, params, acc);
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
tools_tokens(struct cc *c, const cJSON *tools, long *acc)
{
	const cJSON *t;
	enum gw_err err = GW_OK;

	if (!cJSON_IsArray(tools) || tools->child == NULL)
		return GW_OK;
	cJSON_ArrayForEach(t, tools) {
		if (c->gpt) {
			err = tool_tokens(c, t, acc);
		} else {
			buf_reset(&c->line);
			if ((err = js_json(t, &c->line)) == GW_OK)
				err = count_line(c, acc);
		}
		if (err != GW_OK)
			return err;
	}
	if (c->gpt)
		*acc += c->func_end;
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
tool_calls_tokens(struct cc *c, const cJSON *v, long *acc)
{
	const cJSON *tc, *fn, *id, *name, *args, *list = v;
	enum gw_err err;

	/* for..of over "" runs no iteration; any other non-array throws */
	if (!cJSON_IsArray(v) && !is_str(v, ""))
		return bad("tool_calls is not an array");
	if (!cJSON_IsArray(v))
		list = NULL;
	cJSON_ArrayForEach(tc, list) {
		fn = js_get(tc, "function");
		id = js_get(tc, "id");
		name = js_get(fn, "name");
		args = js_get(fn, "arguments");
		if (!cJSON_IsString(id) || !cJSON_IsString(name) || !cJSON_IsString(args))
			return bad("tool call without string id/name/arguments");
		*acc += c->func_init;
		if ((err = count_str(c, id->valuestring, acc)) != GW_OK ||
		    (err = count_str(c, name->valuestring, acc)) != GW_OK ||
		    (err = count_str(c, args->valuestring, acc)) != GW_OK)
			return err;
	}
	*acc += c->func_end;
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
parts_tokens(struct cc *c, const cJSON *parts, long *acc)
{
	const cJSON *part, *type, *v, *file;
	enum gw_err err = GW_OK;

	cJSON_ArrayForEach(part, parts) {
		if (cJSON_IsNull(part))
			return bad("null content part");
		type = js_get(part, "type");
		if (is_str(type, "image_url")) {
			v = js_get(js_get(part, "image_url"), "url");
			if (!cJSON_IsString(v))
				return bad("image_url part without url");
			err = count_str(c, v->valuestring, acc);
			*acc += 85;
		} else if (is_str(type, "file")) {
			file = js_get(part, "file");
			v = js_get(file, "file_data");
			if (!cJSON_IsString(v))
				return bad("file part without file_data");
			err = count_str(c, v->valuestring, acc);
			v = js_get(file, "filename");
			if (err == GW_OK && js_truthy(v))
				err = cJSON_IsString(v) ? count_str(c, v->valuestring, acc) :
				    bad("filename is not a string");
		} else {
			v = js_get(part, "text");
			if (js_truthy(v))
				err = cJSON_IsString(v) ? count_str(c, v->valuestring, acc) :
				    bad("text is not a string");
		}
		if (err != GW_OK)
			return err;
	}
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
message_tokens(struct cc *c, const cJSON *msg, long *acc)
{
	struct js_prop *p = NULL;
	size_t n = 0, i;
	const char *k;
	const cJSON *v;
	enum gw_err err;

	if (cJSON_IsString(msg))
		return bad("message is a string");
	*acc += 3;
	if ((err = js_props(msg, &p, &n)) != GW_OK)
		return err;
	for (i = 0; i < n && err == GW_OK; i++) {
		k = p[i].key;
		v = p[i].val;
		if (strcmp(k, "reasoning_opaque") == 0)
			continue;
		if (cJSON_IsString(v))
			err = count_str(c, v->valuestring, acc);
		if (err == GW_OK && strcmp(k, "name") == 0)
			*acc += 1;
		if (err == GW_OK && strcmp(k, "tool_calls") == 0)
			err = tool_calls_tokens(c, v, acc);
		if (err == GW_OK && strcmp(k, "content") == 0 && cJSON_IsArray(v))
			err = parts_tokens(c, v, acc);
	}
	free(p);
	return err;
}

/* Sum over the messages of one side, plus 3 for the reply priming; 0
 * when that side has no message. */
static GW_MUST_CHECK enum gw_err
messages_tokens(struct cc *c, const cJSON *msgs, int assistant, long *out)
{
	const cJSON *m;
	long sum = 0;
	size_t seen = 0;
	enum gw_err err;

	cJSON_ArrayForEach(m, msgs) {
		if (cJSON_IsNull(m))
			return bad("null message");
		if (is_str(js_get(m, "role"), "assistant") != assistant)
			continue;
		seen++;
		if ((err = message_tokens(c, m, &sum)) != GW_OK)
			return err;
	}
	*out = seen > 0 ? sum + 3 : 0;
	return GW_OK;
}

enum gw_err
tok_count_chat_model(const cJSON *chat_payload, const char *model,
    enum tok_encoding enc, long *input_tokens, long *output_tokens)
{
	struct cc c = { .enc = enc, .line = BUF_INIT, .fixed = BUF_INIT };
	const cJSON *msgs = js_get(chat_payload, "messages");
	long in = 0, out = 0;
	enum gw_err err;

	*input_tokens = *output_tokens = 0;
	if (model == NULL)
		model = "";
	/* the reference's constants: only gpt-3.5-turbo and gpt-4 differ */
	c.gpt = strncmp(model, "gpt-", 4) == 0;
	c.func_init = strcmp(model, "gpt-3.5-turbo") == 0 || strcmp(model, "gpt-4") == 0 ?
	    10 : 7;
	c.func_end = 12;
	c.prop_init = 3;
	c.prop_key = 3;
	c.enum_init = -3;
	c.enum_item = 3;
	if (!cJSON_IsArray(msgs)) {
		err = bad("messages is not an array");
		goto out;
	}
	if ((err = messages_tokens(&c, msgs, 0, &in)) != GW_OK ||
	    (err = tools_tokens(&c, js_get(chat_payload, "tools"), &in)) != GW_OK ||
	    (err = messages_tokens(&c, msgs, 1, &out)) != GW_OK)
		goto out;
	*input_tokens = in;
	*output_tokens = out;
out:
	buf_free(&c.line);
	buf_free(&c.fixed);
	return err;
}

/*
 * Input tokens (every non-assistant message, plus the tools) and output
 * tokens (assistant messages) of a Chat Completions payload.  The model
 * constants (function-call overheads, gpt-style tool counting) come from
 * chat_payload's "model".  No caller in the gateway: test_tokenize.c
 * includes this file to reach it.
 */
static __attribute__((unused)) enum gw_err
tok_count_chat(const cJSON *chat_payload, enum tok_encoding enc,
    long *input_tokens, long *output_tokens)
{
	const cJSON *m = js_get(chat_payload, "model");

	return tok_count_chat_model(chat_payload,
	    cJSON_IsString(m) ? m->valuestring : "", enc, input_tokens, output_tokens);
}

/* Math.round for |x| < 2^53: halves go up, also for negative values.
 * (Done by hand so that the library needs no libm.) */
static double
js_round(double x)
{
	double f = (double)(long long)x;

	if (f > x)
		f -= 1;                /* truncation went up: x < 0 */
	return x - f >= 0.5 ? f + 1 : f;
}

enum gw_err
tok_estimate(const cJSON *chat_payload, const char *model,
    const char *tokenizer_name, int anthropic_beta_present,
    const char *const *tool_names, size_t ntools, double claude_multiplier,
    long *out)
{
	long in = 0, outp = 0, total;
	int overhead = ntools > 0 && anthropic_beta_present;
	int claude;
	double scaled;
	size_t i;
	enum gw_err err;

	*out = 0;
	if (model == NULL)
		model = "";
	claude = strncmp(model, "claude", 6) == 0;
	for (i = 0; i < ntools; i++) {
		if (tool_names == NULL || tool_names[i] == NULL)
			return bad("tool without a name");
		if (strncmp(tool_names[i], "mcp__", 5) == 0 ||
		    (ntools == 1 && strcmp(tool_names[i], "Skill") == 0))
			overhead = 0;
	}
	if ((err = tok_count_chat_model(chat_payload, model,
	    tok_encoding_for_name(tokenizer_name), &in, &outp)) != GW_OK)
		return err;
	/* the tool-use system prompt the providers add */
	if (overhead && claude)
		in += 346;
	else if (overhead && strncmp(model, "grok", 4) == 0)
		in += 120;
	total = in + outp;
	if (claude) {
		scaled = (double)total * claude_multiplier;
		if (!isfinite(scaled) || scaled < -9e15 || scaled > 9e15)
			return bad("token multiplier out of range");
		total = (long)js_round(scaled);
	}
	*out = total;
	return GW_OK;
}
