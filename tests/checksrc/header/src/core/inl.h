/* inl: a static inline function is a function too. */
#ifndef INL_H
#define INL_H

static inline int
inl_f(void)
{
	return 1;
}

#endif
