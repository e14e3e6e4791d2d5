/* capture/feed: a pipe's records read on a thread, handed over without waiting. */
#include "unit.h"

#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../../capture/feed.h"

#define SNAPLEN 262144 /* libpcap's largest for Ethernet */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t k = write(fd, c, n);
		if (k <= 0)
			abort();
		c += k;
		n -= (size_t)k;
	}
}

static void put_header(int fd)
{
	uint32_t h[6] = {0xa1b2c3d4, 2 | 4u << 16, 0, 0, SNAPLEN, 1 /* Ethernet */};

	put(fd, h, sizeof(h));
}

/* Record i: i seconds, caplen bytes each i + k (mod 256). */
static void put_record(int fd, uint32_t i, uint32_t caplen)
{
	uint32_t h[4] = {i, 0, caplen, caplen};
	unsigned char *b = malloc(caplen);

	for (uint32_t k = 0; k < caplen; k++)
		b[k] = (unsigned char)(i + k);
	put(fd, h, sizeof(h));
	put(fd, b, caplen);
	free(b);
}

struct seen {
	uint32_t n, bad, bytes;
};

static void check_record(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct seen *s = (struct seen *)user;

	if ((uint32_t)h->ts.tv_sec != s->n || h->caplen != h->len)
		s->bad++;
	for (uint32_t k = 0; k < h->caplen; k++)
		if (bytes[k] != (unsigned char)(s->n + k)) {
			s->bad++;
			break;
		}
	s->bytes += h->caplen;
	s->n++;
}

/* Takes records until want have come or ms pass, waiting on feed_fd between. */
static void take_until(struct feed *f, struct seen *s, uint32_t want, int ms)
{
	int64_t until = now_ms() + ms;

	while (s->n < want && now_ms() < until) {
		if (feed_take(f, 1000, check_record, (u_char *)s) == 0) {
			struct pollfd p = {.fd = feed_fd(f), .events = POLLIN};
			poll(&p, 1, 100);
		}
	}
}

struct opened {
	int pipe_fd[2];
	char buf[1 << 16];
	struct feed *f;
	pcap_t *pcap;
};

/* A feed on a pipe whose header is written; NULL on failure. */
static struct opened *open_feed(void)
{
	struct opened *o = calloc(1, sizeof(*o));
	char err[PCAP_ERRBUF_SIZE];

	if (!o || pipe(o->pipe_fd) < 0 || !(o->f = feed_new(o->pipe_fd[0], o->buf, sizeof(o->buf))))
		abort();
	put_header(o->pipe_fd[1]);
	o->pcap = pcap_fopen_offline(feed_file(o->f), err);
	if (!o->pcap || feed_start(o->f, o->pcap) < 0)
		abort();
	return o;
}

static void close_feed(struct opened *o)
{
	feed_stop(o->f);
	pcap_close(o->pcap);
	feed_free(o->f);
	if (o->pipe_fd[1] >= 0)
		close(o->pipe_fd[1]);
	free(o);
}

/* The writer sends three records and goes quiet, the pipe open: the three
 * come at once, taking never waits, and the thread, waiting in the read,
 * stops when asked. */
TEST(records_come_while_the_writer_pauses_and_stop_ends_the_wait)
{
	struct opened *o = open_feed();
	struct seen s = {0};

	for (uint32_t i = 0; i < 3; i++)
		put_record(o->pipe_fd[1], i, 60 + i);
	take_until(o->f, &s, 3, 10000);
	CHECK_EQ_INT(s.n, 3);
	CHECK_EQ_INT(s.bad, 0);
	int64_t t0 = now_ms();
	CHECK_EQ_INT(feed_take(o->f, 1000, check_record, (u_char *)&s), 0);
	CHECK(now_ms() - t0 < 1000); /* nothing there: it came back, it did not wait */
	const char *why;
	CHECK_EQ_INT(feed_state(o->f, &why), FEED_READING);
	CHECK(!feed_pending(o->f));
	put_record(o->pipe_fd[1], 3, 70); /* after the pause, the next one */
	take_until(o->f, &s, 4, 10000);
	CHECK_EQ_INT(s.n, 4);
	t0 = now_ms();
	close_feed(o); /* the thread waits for the writer, which never writes again */
	CHECK(now_ms() - t0 < 5000);
}

/* The end of the file is the end once every record before it was taken. */
TEST(the_end_comes_after_every_record)
{
	struct opened *o = open_feed();
	struct seen s = {0};
	const char *why;

	for (uint32_t i = 0; i < 5; i++)
		put_record(o->pipe_fd[1], i, 100);
	close(o->pipe_fd[1]);
	o->pipe_fd[1] = -1;
	int64_t until = now_ms() + 10000;
	while (feed_state(o->f, &why) == FEED_READING && now_ms() < until) {
		take_until(o->f, &s, s.n + 1, 100);
	}
	CHECK_EQ_INT(feed_state(o->f, &why), FEED_ENDED);
	CHECK_EQ_INT(s.n, 5);
	CHECK_EQ_INT(s.bad, 0);
	close_feed(o);
}

/* A record cut short by the end of the file: what came before it, then
 * libpcap's word on it. */
TEST(a_truncated_file_fails_after_its_whole_records)
{
	struct opened *o = open_feed();
	struct seen s = {0};
	const char *why;
	uint32_t h[4] = {2, 0, 100, 100};

	put_record(o->pipe_fd[1], 0, 50);
	put_record(o->pipe_fd[1], 1, 50);
	put(o->pipe_fd[1], h, sizeof(h));
	put(o->pipe_fd[1], "short", 5);
	close(o->pipe_fd[1]);
	o->pipe_fd[1] = -1;
	int64_t until = now_ms() + 10000;
	while (feed_state(o->f, &why) == FEED_READING && now_ms() < until)
		take_until(o->f, &s, s.n + 1, 100);
	CHECK_EQ_INT(s.n, 2);
	CHECK_EQ_INT(feed_state(o->f, &why), FEED_FAILED);
	CHECK(strstr(why, "truncated") != NULL);
	close_feed(o);
}

struct writer_job {
	int fd;
	uint32_t records;
};

/* 3,000 records of 1,500 bytes with one of the largest size among them. */
static void *write_many(void *arg)
{
	struct writer_job *j = arg;

	for (uint32_t i = 0; i < j->records; i++)
		put_record(j->fd, i, i == 1000 ? SNAPLEN : 1500);
	close(j->fd);
	return NULL;
}

/* More than the feed reads ahead (4.7 MB against 2 MiB of chunks), taken
 * slowly: every record comes, whole and in order, a chunk-sized one too. */
TEST(a_slow_taker_holds_the_reader_back_and_loses_nothing)
{
	struct opened *o = open_feed();
	struct seen s = {0};
	struct writer_job j = {.fd = o->pipe_fd[1], .records = 3000};
	pthread_t t;
	const char *why;

	o->pipe_fd[1] = -1;
	CHECK(pthread_create(&t, NULL, write_many, &j) == 0);
	int64_t until = now_ms() + 60000;
	while (feed_state(o->f, &why) == FEED_READING && now_ms() < until) {
		if (feed_take(o->f, 7, check_record, (u_char *)&s) == 0) {
			struct pollfd p = {.fd = feed_fd(o->f), .events = POLLIN};
			poll(&p, 1, 100);
		}
	}
	pthread_join(t, NULL);
	CHECK_EQ_INT(feed_state(o->f, &why), FEED_ENDED);
	CHECK_EQ_INT(s.n, 3000);
	CHECK_EQ_INT(s.bad, 0);
	CHECK_EQ_INT(s.bytes, 2999u * 1500 + SNAPLEN);
	close_feed(o);
}

UNIT_MAIN("feed", T(records_come_while_the_writer_pauses_and_stop_ends_the_wait),
	  T(the_end_comes_after_every_record), T(a_truncated_file_fails_after_its_whole_records),
	  T(a_slow_taker_holds_the_reader_back_and_loses_nothing))
