/* lone: declares a function nobody implements in lone.c. */
#ifndef LONE_H
#define LONE_H

int lone_f(void);

#endif
