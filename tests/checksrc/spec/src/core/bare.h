/* bare: "spec §1" names no document, and this file named none before. */
#ifndef BARE_H
#define BARE_H

/* §2 the same; "the spec §1" is no name either.  Code is no comment: */
#define BARE "§9"

#endif
