/*
 * ref: spec references (spec/demo.md §1.2, §1.2.3 and demo spec §2, demo
 * §2.10), all fine; §3 is not in demo.md, nor is §2.1 nor demo.md
 * §1.4.
 */
#ifndef REF_H
#define REF_H

struct ref { int x; };      /* §1, the document named last (demo) */

#endif
