/* text: copies and parses, some of it the banned way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"

static int
copy(char *d, size_t n, const char *s)
{
	sprintf(d, "%s", s);
	strcpy (d, s);
	/* atoi(s) in a comment is fine, and so is "gets(" in a string */
	snprintf(d, n, "%s", "gets(");
	if (fgets(d, (int)n, stdin) == NULL)
		return atoi(s);
	return (int)strtol(s, NULL, 10);
}

static char *
split(char *s, char **save)
{
	(void)copy;
	return strtok_r(s, ",", save) ? s : strtok(s, ",");
}
