#include "addr.h"

#include <arpa/inet.h>
#include <string.h>

void inet_addr_v4(struct inet_addr *a, const uint8_t bytes[4])
{
	memset(a, 0, sizeof(*a));
	a->type = INET_IPV4;
	memcpy(a->bytes, bytes, 4);
}

void inet_addr_v6(struct inet_addr *a, const uint8_t bytes[16])
{
	a->type = INET_IPV6;
	memcpy(a->bytes, bytes, 16);
}

bool inet_addr_parse(struct inet_addr *a, const char *text)
{
	uint8_t buf[16];

	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, text, buf) == 1) {
		inet_addr_v4(a, buf);
		return true;
	}
	if (inet_pton(AF_INET6, text, buf) == 1) {
		inet_addr_v6(a, buf);
		return true;
	}
	return false;
}

const char *inet_addr_format(const struct inet_addr *a, char buf[INET_ADDR_STRLEN])
{
	buf[0] = '\0';
	if (a->type == INET_IPV4)
		inet_ntop(AF_INET, a->bytes, buf, INET_ADDR_STRLEN);
	else if (a->type == INET_IPV6)
		inet_ntop(AF_INET6, a->bytes, buf, INET_ADDR_STRLEN);
	return buf;
}

bool inet_addr_is_multicast(const struct inet_addr *a)
{
	if (a->type == INET_IPV4)
		return (a->bytes[0] & 0xf0) == 0xe0;
	if (a->type == INET_IPV6)
		return a->bytes[0] == 0xff;
	return false;
}

bool inet_addr_is_ssm(const struct inet_addr *a)
{
	if (a->type == INET_IPV4)
		return a->bytes[0] == 232;
	if (a->type == INET_IPV6)
		return a->bytes[0] == 0xff && (a->bytes[1] & 0xf0) == 0x30 && !a->bytes[2] &&
		       !a->bytes[3];
	return false;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

bool inet_addr_is_unicast(const struct inet_addr *a)
{
	size_t len = inet_addr_len(a);

	if (len == 0 || inet_addr_is_multicast(a) || all_zero(a->bytes, len))
		return false;
	if (a->type == INET_IPV4 && a->bytes[0] == 255 && a->bytes[1] == 255 &&
	    a->bytes[2] == 255 && a->bytes[3] == 255)
		return false;
	return true;
}
