/* client/table and client/json: what every mvpnmon command prints. */
#include "unit.h"

#include <stdlib.h>

#include "../../client/json.h"
#include "../../client/table.h"

/* What a function printed, in a string the test frees. */
struct capture {
	char *buf;
	size_t len;
	FILE *f;
};

static FILE *capture_open(struct capture *c)
{
	c->buf = NULL;
	c->len = 0;
	return c->f = open_memstream(&c->buf, &c->len);
}

static const char *capture_text(struct capture *c)
{
	fclose(c->f);
	return c->buf;
}

static const struct table_column cols[] = {
	{"VPN", TABLE_LEFT}, {"PE", TABLE_LEFT}, {"Hellos", TABLE_RIGHT}, {"Status", TABLE_LEFT}};

TEST(columns_align_and_lines_have_no_trailing_blanks)
{
	struct capture c;
	struct table *t = table_new(cols, 4);

	table_cell(t, "red");
	table_cell(t, "198.18.0.1");
	table_cellf(t, "%u", 7u);
	table_cell(t, "active");
	table_cell(t, "blue-long");
	table_cell(t, "2001:db8::5");
	table_cellf(t, "%u", 12345u);
	table_cell(t, "");
	CHECK_EQ_INT(table_rows(t), 2);
	CHECK_EQ_INT(table_print(t, capture_open(&c)), 0);
	CHECK_EQ_STR(capture_text(&c),
		     "VPN        PE           Hellos  Status\n"
		     "red        198.18.0.1        7  active\n"
		     "blue-long  2001:db8::5   12345  -\n");
	free(c.buf);
	table_free(t);
}

TEST(utf8_names_are_measured_in_columns)
{
	struct capture c;
	static const struct table_column two[] = {{"Name", TABLE_LEFT}, {"N", TABLE_RIGHT}};
	struct table *t = table_new(two, 2);

	table_cell(t, "r\xc3\xa9seau"); /* "réseau": 6 columns, 7 bytes */
	table_cell(t, "1");
	table_cell(t, "\xe6\x9d\xb1\xe4\xba\xac"); /* two wide characters: 4 columns */
	table_cell(t, "2");
	table_cell(t, "a");
	table_cell(t, "3");
	CHECK_EQ_INT(table_print(t, capture_open(&c)), 0);
	CHECK_EQ_STR(capture_text(&c),
		     "Name    N\n"
		     "r\xc3\xa9seau  1\n"
		     "\xe6\x9d\xb1\xe4\xba\xac    2\n"
		     "a       3\n");
	free(c.buf);
	table_free(t);
}

TEST(control_bytes_and_bad_utf8_are_escaped_for_the_terminal)
{
	size_t w;
	char *s = table_cell_text("red\x1b[31m\xff\xc2\x85!", &w);

	CHECK(s != NULL);
	CHECK_EQ_STR(s, "red\\x1b[31m\\xff\\xc2\\x85!");
	CHECK_EQ_INT(w, strlen(s));
	free(s);
	s = table_cell_text("", &w);
	CHECK_EQ_STR(s, "-");
	free(s);
}

TEST(an_incomplete_row_is_completed)
{
	struct capture c;
	struct table *t = table_new(cols, 4);

	table_cell(t, "red");
	table_cell(t, "198.18.0.1");
	CHECK_EQ_INT(table_print(t, capture_open(&c)), 0);
	CHECK_EQ_STR(capture_text(&c), "VPN  PE          Hellos  Status\n"
				       "red  198.18.0.1       -  -\n");
	free(c.buf);
	table_free(t);
}

TEST(json_strings_are_escaped)
{
	struct capture c;

	json_write_string(capture_open(&c), "say \"hi\"\\ \n\t\x01\x7f");
	CHECK_EQ_STR(capture_text(&c), "\"say \\\"hi\\\"\\\\ \\n\\t\\u0001\\u007f\"");
	free(c.buf);
	/* UTF-8 passes through; what is not UTF-8 becomes U+FFFD; U+2028 is escaped. */
	json_write_string(capture_open(&c), "r\xc3\xa9seau \xff \xc0\xaf \xed\xa0\x80 \xe2\x80\xa8");
	CHECK_EQ_STR(capture_text(&c),
		     "\"r\xc3\xa9seau \\ufffd \\ufffd\\ufffd \\ufffd\\ufffd\\ufffd \\u2028\"");
	free(c.buf);
}

TEST(json_documents_nest_with_commas_in_place)
{
	struct capture c;
	struct json j;
	struct inet_addr a, none = {0};

	inet_addr_parse(&a, "2001:db8::5");
	json_init(&j, capture_open(&c));
	json_object_begin(&j);
	json_key(&j, "vpn");
	json_string(&j, "a \"quoted\" name");
	json_key(&j, "n");
	json_uint(&j, 18446744073709551615ULL);
	json_key(&j, "loss");
	json_double(&j, 1.5, 3);
	json_key(&j, "pe");
	json_addr(&j, &a);
	json_key(&j, "rp");
	json_addr(&j, &none);
	json_key(&j, "rows");
	json_array_begin(&j);
	json_array_end(&j);
	json_key(&j, "list");
	json_array_begin(&j);
	json_int(&j, -1);
	json_bool(&j, true);
	json_object_begin(&j);
	json_time(&j, "time", 1796090415250000000ULL);
	json_object_end(&j);
	json_array_end(&j);
	json_object_end(&j);
	CHECK_EQ_INT(json_finish(&j), 0);
	CHECK_EQ_STR(capture_text(&c),
		     "{\n"
		     "  \"vpn\": \"a \\\"quoted\\\" name\",\n"
		     "  \"n\": 18446744073709551615,\n"
		     "  \"loss\": 1.5,\n"
		     "  \"pe\": \"2001:db8::5\",\n"
		     "  \"rp\": null,\n"
		     "  \"rows\": [],\n"
		     "  \"list\": [\n"
		     "    -1,\n"
		     "    true,\n"
		     "    {\n"
		     "      \"time\": \"2026-12-01T02:00:15.250Z\",\n"
		     "      \"time_ns\": 1796090415250000000\n"
		     "    }\n"
		     "  ]\n"
		     "}\n");
	free(c.buf);
}

TEST(json_numbers_are_plain)
{
	struct capture c;
	struct json j;

	json_init(&j, capture_open(&c));
	json_array_begin(&j);
	json_double(&j, 2.0, 3);
	json_double(&j, 0.0, 2);
	json_double(&j, -0.0001, 2);
	json_double(&j, 12.3456, 2);
	json_double(&j, 1.0 / 0.0, 2);
	json_array_end(&j);
	json_finish(&j);
	CHECK_EQ_STR(capture_text(&c), "[\n  2,\n  0,\n  0,\n  12.35,\n  null\n]\n");
	free(c.buf);
}

UNIT_MAIN("client_output", T(columns_align_and_lines_have_no_trailing_blanks),
	  T(utf8_names_are_measured_in_columns),
	  T(control_bytes_and_bad_utf8_are_escaped_for_the_terminal),
	  T(an_incomplete_row_is_completed), T(json_strings_are_escaped),
	  T(json_documents_nest_with_commas_in_place), T(json_numbers_are_plain))
