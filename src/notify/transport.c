/* SPDX-License-Identifier: MIT */
/*
 * libcurl plumbing shared by smtp.c and webhook.c: the process-wide
 * curl_global_init, and the one place where curl's result codes become
 * CLOVER_E* codes and a transient/permanent verdict. Transient means another
 * attempt may well succeed (no connection, timeout, a dropped connection);
 * permanent means it will not until someone changes something (login
 * refused, TLS required but not offered, certificate not trusted, bad URL).
 */
#include "notify/internal.h"

#include <pthread.h>
#include <stdio.h>

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int notify_curl_init(void)
{
	pthread_once(&global_once, global_init);
	return global_rc == CURLE_OK ? 0 : CLOVER_ESYS;
}

void notify_curl_result(CURLcode rc, const char *errbuf, struct notify_result *r)
{
	r->transient = false;
	switch (rc) {
	case CURLE_OK:
		r->error = 0;
		break;
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		r->error = CLOVER_ECONN;
		r->transient = true;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		r->error = CLOVER_ETIMEDOUT;
		r->transient = true;
		break;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_UPLOAD_FAILED:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_AGAIN:
		r->error = CLOVER_EIO;
		r->transient = true;
		break;
	case CURLE_LOGIN_DENIED:
		r->error = CLOVER_EAUTH;
		break;
	case CURLE_OUT_OF_MEMORY:
		r->error = CLOVER_ENOMEM;
		r->transient = true;
		break;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		r->error = CLOVER_EINVAL;
		break;
	case CURLE_USE_SSL_FAILED:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
		r->error = CLOVER_EPROTO;
		break;
	default:
		r->error = CLOVER_EIO;
		break;
	}
	if (rc != CURLE_OK)
		snprintf(r->detail, sizeof(r->detail), "%s",
		         errbuf && errbuf[0] ? errbuf : curl_easy_strerror(rc));
}
