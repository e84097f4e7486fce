/* types: declarations only, needs no .c. */
#ifndef TYPES_H
#define TYPES_H

struct t { int (*fn)(void); };
typedef int (*t_fn)(int);
extern int t_count;

#define T_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
