

#ifndef LATE_H
#define LATE_H
/* a comment, but not the first thing */
#endif
