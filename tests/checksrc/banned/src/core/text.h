/* text: the banned-calls sample; a macro body counts too. */
#ifndef TEXT_H
#define TEXT_H

#define TEXT_JOIN(d, s) strcat(d, s)

#endif
