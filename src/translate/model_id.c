/*
 * Anthropic SDK model ids -> Copilot model ids (translation spec §3.1).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "translate/model_id.h"

struct span {
	const char *p;
	size_t n;
};

/* The recognised parts of an id: family and version ("4", "4.7"). */
struct parts {
	struct span family, major, minor;   /* minor.n == 0: no minor */
};

/* The patterns are written with JavaScript's \w, i.e. [A-Za-z0-9_]. */
static int
is_word(struct span s)
{
	for (size_t i = 0; i < s.n; i++)
		if (!((s.p[i] >= 'a' && s.p[i] <= 'z') ||
		    (s.p[i] >= '0' && s.p[i] <= '9') || s.p[i] == '_'))
			return 0;
	return s.n > 0;
}

static int
is_digits(struct span s)
{
	for (size_t i = 0; i < s.n; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return 0;
	return s.n > 0;
}

/* "<digits>.<digits>": splits it into a and b. */
static int
is_dotted(struct span s, struct span *a, struct span *b)
{
	const char *dot = memchr(s.p, '.', s.n);

	if (dot == NULL)
		return 0;
	a->p = s.p;
	a->n = (size_t)(dot - s.p);
	b->p = dot + 1;
	b->n = s.n - a->n - 1;
	return is_digits(*a) && is_digits(*b);
}

/*
 * lower is the lower-cased id.  Drops a trailing "-YYYYMMDD", then tries
 * the five shapes in the reference's order.  Segments are split on '-',
 * which \w cannot match, so this is the same as the regular expressions.
 */
static int
parse(const char *lower, size_t len, struct parts *out)
{
	struct span seg[3], a, b;
	size_t n = 0, i, start;

	if (len >= 9 && lower[len - 9] == '-') {
		for (i = len - 8; i < len && lower[i] >= '0' && lower[i] <= '9'; i++)
			;
		if (i == len)
			len -= 9;
	}
	if (len < 7 || memcmp(lower, "claude-", 7) != 0)
		return 0;
	start = 7;
	for (i = 7; i <= len; i++) {
		if (i < len && lower[i] != '-')
			continue;
		if (n == 3)
			return 0;
		seg[n].p = lower + start;
		seg[n].n = i - start;
		n++;
		start = i + 1;
	}
	memset(out, 0, sizeof(*out));
	if (n == 2 && is_word(seg[0]) && is_dotted(seg[1], &a, &b)) {
		out->family = seg[0];
		out->major = a;
		out->minor = b;
		return 1;
	}
	if (n == 3 && is_word(seg[0]) && is_digits(seg[1]) && is_digits(seg[2])) {
		out->family = seg[0];
		out->major = seg[1];
		out->minor = seg[2];
		return 1;
	}
	if (n == 3 && is_digits(seg[0]) && is_digits(seg[1]) && is_word(seg[2])) {
		out->family = seg[2];
		out->major = seg[0];
		out->minor = seg[1];
		return 1;
	}
	if (n == 2 && is_word(seg[0]) && is_digits(seg[1])) {
		out->family = seg[0];
		out->major = seg[1];
		return 1;
	}
	if (n == 2 && is_digits(seg[0]) && is_word(seg[1])) {
		out->family = seg[1];
		out->major = seg[0];
		return 1;
	}
	return 0;
}

/* Lower-cases id into buf and parses it; spans point into buf. */
static int
parse_id(const char *id, char buf[TR_MODEL_ID_MAX + 1], struct parts *out)
{
	size_t len, i;

	if (id == NULL || (len = strlen(id)) > TR_MODEL_ID_MAX)
		return 0;
	for (i = 0; i < len; i++)
		buf[i] = (id[i] >= 'A' && id[i] <= 'Z') ? (char)(id[i] + 32) : id[i];
	buf[len] = '\0';
	return parse(buf, len, out);
}

int
tr_model_normalize(const char *id, char *out, size_t outsz)
{
	char buf[TR_MODEL_ID_MAX + 1];
	struct parts p;
	int n;

	if (outsz > 0)
		out[0] = '\0';
	if (!parse_id(id, buf, &p))
		return 0;
	if (p.minor.n > 0)
		n = snprintf(out, outsz, "claude-%.*s-%.*s.%.*s",
		    (int)p.family.n, p.family.p, (int)p.major.n, p.major.p,
		    (int)p.minor.n, p.minor.p);
	else
		n = snprintf(out, outsz, "claude-%.*s-%.*s",
		    (int)p.family.n, p.family.p, (int)p.major.n, p.major.p);
	if (n < 0 || (size_t)n >= outsz) {
		if (outsz > 0)
			out[0] = '\0';
		return 0;
	}
	return 1;
}

void
tr_model_client_id(const char *id, char *out, size_t outsz)
{
	char *c;

	if (outsz == 0)
		return;
	if (!tr_model_normalize(id, out, outsz)) {
		snprintf(out, outsz, "%s", id != NULL ? id : "");
		return;
	}
	for (c = out; *c != '\0'; c++)
		if (*c == '.')
			*c = '-';
}

static long
span_long(struct span s)
{
	long v = 0;

	for (size_t i = 0; i < s.n; i++) {
		if (v > (LONG_MAX - 9) / 10)
			return LONG_MAX;
		v = v * 10 + (s.p[i] - '0');
	}
	return v;
}

/* The version an id normalises to (minor 0 when it has none).  1 when the
 * id is recognised, else 0.  Numbers too large for a long saturate. */
static int
tr_model_claude_version(const char *id, long *major, long *minor)
{
	char buf[TR_MODEL_ID_MAX + 1];
	struct parts p;

	if (!parse_id(id, buf, &p))
		return 0;
	*major = span_long(p.major);
	*minor = span_long(p.minor);
	return 1;
}

int
tr_model_version_at_least(const char *id, long major, long minor)
{
	long ma, mi;

	if (!tr_model_claude_version(id, &ma, &mi))
		return 0;
	return ma > major || (ma == major && mi >= minor);
}

static const cJSON *
find_id(const cJSON *arr, const char *id)
{
	const cJSON *m;
	const char *mid;

	cJSON_ArrayForEach(m, arr) {
		mid = json_str(m, "id");
		if (mid != NULL && strcmp(mid, id) == 0)
			return m;
	}
	return NULL;
}

/* The entry named by id without its "[1m]" suffix, whatever its window;
 * NULL when id has no such suffix or the rest names no entry. */
const cJSON *
tr_model_1m_base(const cJSON *models, const char *id)
{
	char base[TR_MODEL_ID_MAX + 16];
	size_t len = id != NULL ? strlen(id) : 0;

	if (len <= 4 || len - 4 >= sizeof(base) ||
	    strcmp(id + len - 4, "[1m]") != 0)
		return NULL;
	memcpy(base, id, len - 4);
	base[len - 4] = '\0';
	return tr_model_resolve(models, base);
}

long
tr_model_context_window(const cJSON *entry)
{
	return json_long(json_obj(json_obj(entry, "capabilities"), "limits"),
	    "max_context_window_tokens", 0);
}

const cJSON *
tr_model_resolve(const cJSON *models, const char *id)
{
	char norm[TR_MODEL_ID_MAX + 16];
	const cJSON *m;

	if (cJSON_IsObject(models))
		models = json_arr(models, "data");
	if (!cJSON_IsArray(models) || id == NULL)
		return NULL;
	if ((m = find_id(models, id)) != NULL)
		return m;
	/* /v1/models lists 1M-context models as "<id>[1m]" (for Claude
	 * Code); a client that sends that id back means the model itself,
	 * but only one whose window is that large. */
	if ((m = tr_model_1m_base(models, id)) != NULL)
		return tr_model_context_window(m) >= TR_MODEL_1M_TOKENS ? m : NULL;
	if (!tr_model_normalize(id, norm, sizeof(norm)))
		return NULL;
	return find_id(models, norm);
}
