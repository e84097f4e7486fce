
/* fine: a blank line before the opening comment is allowed. */
