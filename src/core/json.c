#include <stdlib.h>
#include <string.h>

#include "core/json.h"

cJSON *
json_parse(const char *p, size_t n, int *line, int *col)
{
	const char *end = NULL;
	const char *q;
	cJSON *v;
	int l = 1, c = 1;

	v = cJSON_ParseWithLengthOpts(p, n, &end, 0);
	if (v != NULL) {
		/* cJSON stops after the first value: trailing garbage is an error. */
		q = end;
		while (q < p + n && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
			q++;
		if (q == p + n || *q == '\0')
			return v;
		cJSON_Delete(v);
		end = q;
	}
	if (end == NULL || end < p || end > p + n)
		end = p + n;
	for (q = p; q < end; q++) {
		if (*q == '\n') {
			l++;
			c = 1;
		} else
			c++;
	}
	if (line != NULL)
		*line = l;
	if (col != NULL)
		*col = c;
	return NULL;
}

const char *
json_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

double
json_num(const cJSON *obj, const char *key, double def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

int
json_bool(const cJSON *obj, const char *key, int def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

cJSON *
json_obj(const cJSON *obj, const char *key)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsObject(v) ? v : NULL;
}

cJSON *
json_arr(const cJSON *obj, const char *key)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsArray(v) ? v : NULL;
}

char *
json_print(const cJSON *v)
{
	return cJSON_PrintUnformatted(v);
}

enum gw_err
json_append(struct buf *b, const cJSON *v)
{
	char *s = cJSON_PrintUnformatted(v);
	enum gw_err e;

	if (s == NULL)
		return GW_ENOMEM;
	e = buf_puts(b, s);
	cJSON_free(s);
	return e;
}

enum gw_err
json_set(cJSON *obj, const char *key, cJSON *item)
{
	cJSON_bool ok;

	if (item == NULL)
		return GW_ENOMEM;
	if (cJSON_GetObjectItemCaseSensitive(obj, key) != NULL)
		ok = cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
	else
		ok = cJSON_AddItemToObject(obj, key, item);
	if (!ok) {
		cJSON_Delete(item);   /* it was given to us: never leak it */
		return GW_ENOMEM;
	}
	return GW_OK;
}

enum gw_err
json_add(cJSON *obj, const char *key, cJSON *item)
{
	if (item == NULL)
		return GW_ENOMEM;
	if (!cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		return GW_ENOMEM;
	}
	return GW_OK;
}

enum gw_err
json_add_str(cJSON *obj, const char *key, const char *s)
{
	return json_add(obj, key, cJSON_CreateString(s));
}

enum gw_err
json_push(cJSON *arr, cJSON *item)
{
	if (item == NULL)
		return GW_ENOMEM;
	if (!cJSON_AddItemToArray(arr, item)) {
		cJSON_Delete(item);
		return GW_ENOMEM;
	}
	return GW_OK;
}

long
json_long(const cJSON *obj, const char *key, long def)
{
	double d = json_num(obj, key, (double)def);

	if (!(d > -1e18))
		return d < 0 ? -1000000000000000000L : def;
	return d < 1e18 ? (long)d : 1000000000000000000L;
}

int
json_truthy(const cJSON *v)
{
	if (v == NULL || cJSON_IsNull(v) || cJSON_IsFalse(v))
		return 0;
	if (cJSON_IsNumber(v))
		return v->valuedouble == v->valuedouble && v->valuedouble != 0;
	if (cJSON_IsString(v))
		return v->valuestring != NULL && v->valuestring[0] != '\0';
	return 1;
}
