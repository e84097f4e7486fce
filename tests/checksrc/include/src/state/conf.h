/* conf: types only, included by core (not allowed). */
#ifndef CONF_H
#define CONF_H

struct conf { int x; };

#endif
