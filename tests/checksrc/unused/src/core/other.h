/* other: a second declaration is not a use. */
#ifndef OTHER_H
#define OTHER_H

int kit_declared_twice(void);
int other_f(void);

#endif
