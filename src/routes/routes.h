/*
 * The gateway's HTTP surface: the one entry point the responder pool calls
 * for each request (the route table lives in routes.c).
 */
#ifndef GW_ROUTES_H
#define GW_ROUTES_H

#include "http/response.h"

/* Answers one request on c; worker is the calling thread's struct worker.
 * Never fails: every outcome is an HTTP answer. */
void routes_handle(void *worker, struct http_conn *c);

#endif
