/* num: doubling; the clean sample of the checksrc self-test. */
#ifndef NUM_H
#define NUM_H

int num_twice(int n);

/* Callers reach num_twice only through this macro. */
#define NUM_QUAD(n) num_twice(num_twice(n))

#endif
