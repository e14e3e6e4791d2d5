/* mib/addr and mib/oidx: address parsing and the SNMP index order. */
#include "unit.h"

#include <stdlib.h>

#include "../../mib/addr.h"
#include "../../mib/oidx.h"

TEST(parses_and_formats_v4_and_v6)
{
	struct inet_addr a;
	char buf[INET_ADDR_STRLEN];

	CHECK(inet_addr_parse(&a, "198.18.0.1"));
	CHECK_EQ_INT(a.type, INET_IPV4);
	CHECK_EQ_INT(inet_addr_len(&a), 4);
	CHECK_EQ_STR(inet_addr_format(&a, buf), "198.18.0.1");
	CHECK(inet_addr_parse(&a, "2001:DB8::5"));
	CHECK_EQ_INT(a.type, INET_IPV6);
	CHECK_EQ_INT(inet_addr_len(&a), 16);
	CHECK_EQ_STR(inet_addr_format(&a, buf), "2001:db8::5");
}

TEST(rejects_what_is_not_an_address)
{
	struct inet_addr a;
	const char *bad[] = {"", "198.18.0", "198.18.0.256", "host.example", "1.2.3.4/32",
			     "2001:db8:::1", " 198.18.0.1"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(!inet_addr_parse(&a, bad[i]));
		CHECK_EQ_INT(a.type, INET_UNKNOWN);
	}
}

TEST(classifies_multicast_and_unicast)
{
	struct inet_addr a;

	inet_addr_parse(&a, "239.192.0.1");
	CHECK(inet_addr_is_multicast(&a) && !inet_addr_is_unicast(&a));
	inet_addr_parse(&a, "ff3e::8000:1");
	CHECK(inet_addr_is_multicast(&a) && !inet_addr_is_unicast(&a));
	inet_addr_parse(&a, "198.18.0.1");
	CHECK(!inet_addr_is_multicast(&a) && inet_addr_is_unicast(&a));
	inet_addr_parse(&a, "0.0.0.0");
	CHECK(!inet_addr_is_unicast(&a));
	inet_addr_parse(&a, "255.255.255.255");
	CHECK(!inet_addr_is_unicast(&a));
	inet_addr_parse(&a, "::");
	CHECK(!inet_addr_is_unicast(&a));
}

static void random_addr(struct inet_addr *a)
{
	uint8_t b[16];

	for (int i = 0; i < 16; i++)
		b[i] = (uint8_t)(rand() % 4); /* small alphabet: many near-equal pairs */
	if (rand() % 2)
		inet_addr_v4(a, b);
	else
		inet_addr_v6(a, b);
}

static int sign(int x) { return (x > 0) - (x < 0); }

/* The tables keep rows with inet_addr_cmp; GETNEXT compares encoded OIDs. They must agree. */
TEST(address_order_is_the_oid_order)
{
	srand(1);
	for (int i = 0; i < 20000; i++) {
		struct inet_addr a, b;
		struct oidx x, y;

		random_addr(&a);
		random_addr(&b);
		oidx_reset(&x);
		oidx_reset(&y);
		oidx_push_addr(&x, &a);
		oidx_push_addr(&y, &b);
		CHECK_EQ_INT(sign(inet_addr_cmp(&a, &b)), sign(oidx_cmp(x.sub, x.len, y.sub, y.len)));
	}
}

TEST(oid_order_puts_prefixes_first)
{
	uint32_t a[] = {1, 2, 3}, b[] = {1, 2}, c[] = {1, 3};

	CHECK(oidx_cmp(b, 2, a, 3) < 0);
	CHECK(oidx_cmp(a, 3, b, 2) > 0);
	CHECK(oidx_cmp(a, 3, c, 2) < 0);
	CHECK(oidx_cmp(a, 3, a, 3) == 0);
	CHECK(oidx_cmp(a, 0, b, 2) < 0);
}

TEST(address_encodes_as_type_length_bytes)
{
	struct inet_addr a;
	struct oidx x;

	inet_addr_parse(&a, "198.18.0.7");
	oidx_reset(&x);
	oidx_push_addr(&x, &a);
	CHECK_EQ_INT(x.len, 6);
	CHECK(x.sub[0] == 1 && x.sub[1] == 4 && x.sub[2] == 198 && x.sub[5] == 7);
	a.type = INET_UNKNOWN;
	oidx_reset(&x);
	oidx_push_addr(&x, &a);
	CHECK(x.len == 2 && x.sub[0] == 0 && x.sub[1] == 0);
}

/* RFC 4607 1: 232/8, and FF3x::/32 (RFC 3306's prefix length 0). */
TEST(ssm_ranges_are_rfc_4607s)
{
	static const struct {
		const char *text;
		bool ssm;
	} cases[] = {
		{"232.0.0.1", true},   {"232.255.255.255", true}, {"231.255.255.255", false},
		{"233.0.0.1", false},  {"239.192.0.1", false},   {"ff3e::8000:1", true},
		{"ff35::1", true},     {"ff3e:1::1", false},  {"ff3e:20:2001:db8::1", false},
		{"ff1e::1", false},    {"ff0e::1", false},      {"198.18.0.1", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct inet_addr a;
		CHECK(inet_addr_parse(&a, cases[i].text));
		if (inet_addr_is_ssm(&a) != cases[i].ssm)
			printf("#   %s\n", cases[i].text);
		CHECK(inet_addr_is_ssm(&a) == cases[i].ssm);
	}
}

UNIT_MAIN("addr", T(parses_and_formats_v4_and_v6), T(rejects_what_is_not_an_address),
	  T(classifies_multicast_and_unicast), T(address_order_is_the_oid_order),
	  T(oid_order_puts_prefixes_first), T(address_encodes_as_type_length_bytes),
	  T(ssm_ranges_are_rfc_4607s))
