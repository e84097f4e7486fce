/* solo: a .c without a header. */
int solo_value(void);

int
solo_value(void)
{
	return 0;
}
