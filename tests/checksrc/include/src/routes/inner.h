/* inner: private to routes. */
#ifndef INNER_H
#define INNER_H

#define INNER_ZERO 0

#endif
