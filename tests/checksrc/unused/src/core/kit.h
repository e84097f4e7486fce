/* kit: the unused-exports sample. */
#ifndef KIT_H
#define KIT_H

int kit_used(void);
int kit_lonely(void);
int kit_by_macro(int n);
int kit_declared_twice(void);
int tok_load(void);

#define KIT_MACRO(n) kit_by_macro(n)

#endif
