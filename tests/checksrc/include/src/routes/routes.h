/* routes: the one routes header the outer layers may see. */
#ifndef ROUTES_H
#define ROUTES_H

int routes_handle(void);

#endif
