/*
 * test_agent.c — the agent's (src/agent/agent.c) checks on what reaches it
 * from a browser: the listen address must be loopback, the Host header
 * must name the agent itself (a DNS-rebinding page sends its own), an
 * origin in the configuration is scheme://host[:port] and nothing more,
 * and only a login challenge's shape is signed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "agent/agent.h"

static void
listen_addresses(void **state)
{
	(void)state;
	assert_true(oc_agent_listen_ok("127.0.0.1:17650"));
	assert_true(oc_agent_listen_ok("127.0.0.1:0"));
	/* another loopback address: the Host check would refuse every request */
	assert_false(oc_agent_listen_ok("127.0.0.2:17650"));
	assert_false(oc_agent_listen_ok("127.example.com:17650"));
	assert_true(oc_agent_listen_ok("[::1]:17650"));
	assert_true(oc_agent_listen_ok("localhost:17650"));
	assert_false(oc_agent_listen_ok("0.0.0.0:17650"));
	assert_false(oc_agent_listen_ok("192.168.1.5:17650"));
	assert_false(oc_agent_listen_ok("[::]:17650"));
	assert_false(oc_agent_listen_ok("127.0.0.1"));
	assert_false(oc_agent_listen_ok("127.0.0.1:"));
	assert_false(oc_agent_listen_ok("127.0.0.1:70000"));
	assert_false(oc_agent_listen_ok("127.0.0.1:80x"));
	assert_false(oc_agent_listen_ok("::1:80"));
	assert_false(oc_agent_listen_ok(""));
	assert_false(oc_agent_listen_ok(NULL));
}

static void
host_header(void **state)
{
	(void)state;
	assert_true(oc_agent_host_ok("127.0.0.1:17650", 17650));
	assert_true(oc_agent_host_ok("localhost:17650", 17650));
	assert_true(oc_agent_host_ok("[::1]:17650", 17650));
	/* a rebinding page: its own name, resolving to 127.0.0.1 */
	assert_false(oc_agent_host_ok("evil.example.com:17650", 17650));
	assert_false(oc_agent_host_ok("127.0.0.1.evil.example.com:17650", 17650));
	assert_false(oc_agent_host_ok("127.0.0.1:17651", 17650));
	assert_false(oc_agent_host_ok("127.0.0.1", 17650));   /* no port: :80 */
	assert_false(oc_agent_host_ok("127.0.0.2:17650", 17650));
	assert_false(oc_agent_host_ok("", 17650));
}

static void
agent_urls(void **state)
{
	(void)state;
	assert_true(oc_agent_url_ok("http://127.0.0.1:17650"));
	assert_true(oc_agent_url_ok("http://localhost:1"));
	assert_true(oc_agent_url_ok("http://[::1]:65535"));
	assert_false(oc_agent_url_ok("https://127.0.0.1:17650"));
	assert_false(oc_agent_url_ok("http://agent.example.cn:17650"));
	assert_false(oc_agent_url_ok("http://127.0.0.1:17650/x"));
	assert_false(oc_agent_url_ok("http://127.0.0.1:0"));
	assert_false(oc_agent_url_ok("http://127.0.0.1:017"));
	assert_false(oc_agent_url_ok("http://127.0.0.1:65536"));
	assert_false(oc_agent_url_ok("http://127.0.0.1"));
	assert_false(oc_agent_url_ok("http://127.0.0.2:17650"));
	assert_false(oc_agent_url_ok(""));
}

static void
origins(void **state)
{
	(void)state;
	assert_true(oc_agent_origin_valid("https://hall.example.cn"));
	assert_true(oc_agent_origin_valid("https://127.0.0.1:9443"));
	assert_true(oc_agent_origin_valid("http://localhost:8080"));
	assert_true(oc_agent_origin_valid("https://[::1]:9443"));
	assert_false(oc_agent_origin_valid("https://hall.example.cn/"));
	assert_false(oc_agent_origin_valid("https://hall.example.cn/login"));
	assert_false(oc_agent_origin_valid("https://user@hall.example.cn"));
	assert_false(oc_agent_origin_valid("ftp://hall.example.cn"));
	assert_false(oc_agent_origin_valid("https://"));
	assert_false(oc_agent_origin_valid("null"));
	assert_false(oc_agent_origin_valid("*"));
}

static void
challenges(void **state)
{
	(void)state;
	/* the hall's: base64 of 32 random bytes */
	assert_true(oc_agent_challenge_ok("q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="));
	assert_true(oc_agent_challenge_ok("0123456789abcdef"));
	assert_true(oc_agent_challenge_ok("AAAAAAAAAAAAAAAAAAAA-_=="));
	assert_false(oc_agent_challenge_ok("0123456789abcde"));          /* 15 */
	assert_false(oc_agent_challenge_ok(
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")); /* 129 */
	assert_false(oc_agent_challenge_ok("I hereby transfer all shares"));
	assert_false(oc_agent_challenge_ok("AAAA=AAAAAAAAAAAAAAA"));      /* = inside */
	assert_false(oc_agent_challenge_ok("AAAAAAAAAAAAAAAA\nAAAA"));
	assert_false(oc_agent_challenge_ok(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(listen_addresses),
		cmocka_unit_test(host_header),
		cmocka_unit_test(agent_urls),
		cmocka_unit_test(origins),
		cmocka_unit_test(challenges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
