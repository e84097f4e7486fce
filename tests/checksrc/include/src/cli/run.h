/* run: the cli entry. */
#ifndef RUN_H
#define RUN_H

int run_main(void);

#endif
