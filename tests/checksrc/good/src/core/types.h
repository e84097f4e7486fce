/* Types only: a header that needs no .c. */
#ifndef TYPES_H
#define TYPES_H

struct pair {
	int a;
	int (*pick)(int a, int b);
};

#define PAIR_MAX 4

#endif
