/* calc: the undeclared-functions sample. */
#ifndef CALC_H
#define CALC_H

int calc_one(void);

#endif
