#include "feed.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Read ahead in chunks of this size (a record larger gets a chunk of its
 * own), at most FEED_MAX_CHUNKS of them between the thread and the engine. */
#define FEED_CHUNK_BYTES (256u << 10)
#define FEED_MAX_CHUNKS 8

/* Records one after the other: a struct pcap_pkthdr, then caplen bytes. */
struct chunk {
	struct chunk *next;
	size_t cap, used; /* bytes of data */
	size_t pos;       /* the engine's: where the next record starts */
	unsigned char data[];
};

struct feed {
	int fd, stop_fd, wake_fd;
	FILE *file;
	char *buf;
	size_t bufsize;
	pcap_t *pcap;
	pthread_t thread;
	bool started;
	struct chunk *filling; /* the thread's: records not handed over yet */
	struct chunk *taking;  /* the engine's: the chunk it takes records from */

	pthread_mutex_t mu; /* guards what follows */
	pthread_cond_t room;       /* a chunk came back, or stop */
	struct chunk *head, *tail; /* handed over, in order */
	struct chunk *spare;       /* came back, to be filled again */
	unsigned in_flight;        /* chunks being filled, handed over or taken */
	bool stopping;
	bool engine_waiting;       /* the engine found nothing: wake it */
	enum feed_state state;     /* the thread has read all it will */
	char why[PCAP_ERRBUF_SIZE];
};

static void wake_engine_locked(struct feed *f)
{
	uint64_t one = 1;

	if (!f->engine_waiting)
		return;
	f->engine_waiting = false;
	/* An eventfd write fails only when the count would overflow: it is set. */
	if (write(f->wake_fd, &one, sizeof(one)) < 0)
		return;
}

/* Thread: what it has read goes to the engine. */
static void hand_over(struct feed *f)
{
	struct chunk *c = f->filling;

	if (!c || !c->used)
		return;
	f->filling = NULL;
	c->next = NULL;
	pthread_mutex_lock(&f->mu);
	if (f->tail)
		f->tail->next = c;
	else
		f->head = c;
	f->tail = c;
	wake_engine_locked(f);
	pthread_mutex_unlock(&f->mu);
}

/* Thread: a chunk with room for need bytes, waiting for the engine to give
 * one back if FEED_MAX_CHUNKS are out; NULL when stopping or out of memory. */
static struct chunk *room_for(struct feed *f, size_t need)
{
	struct chunk *c = f->filling;

	if (c && c->cap - c->used >= need)
		return c;
	hand_over(f);
	pthread_mutex_lock(&f->mu);
	while (!f->stopping && f->in_flight >= FEED_MAX_CHUNKS)
		pthread_cond_wait(&f->room, &f->mu);
	c = NULL;
	if (!f->stopping) {
		f->in_flight++;
		if (f->spare && need <= FEED_CHUNK_BYTES) {
			c = f->spare;
			f->spare = c->next;
		}
	}
	bool stopping = f->stopping;
	pthread_mutex_unlock(&f->mu);
	if (!c && !stopping) {
		size_t cap = need > FEED_CHUNK_BYTES ? need : FEED_CHUNK_BYTES;
		if (!(c = malloc(sizeof(*c) + cap))) {
			pthread_mutex_lock(&f->mu);
			f->in_flight--;
			pthread_mutex_unlock(&f->mu);
			return NULL;
		}
		c->cap = cap;
	}
	if (c)
		c->used = c->pos = 0;
	f->filling = c;
	return c;
}

static bool append(struct feed *f, const struct pcap_pkthdr *h, const u_char *bytes)
{
	size_t need = sizeof(*h) + h->caplen;
	struct chunk *c = room_for(f, need);

	if (!c)
		return false;
	memcpy(c->data + c->used, h, sizeof(*h));
	memcpy(c->data + c->used + sizeof(*h), bytes, h->caplen);
	c->used += need;
	return true;
}

static void *feed_main(void *arg)
{
	struct feed *f = arg;
	struct pcap_pkthdr *h;
	const u_char *bytes;
	int rc;

	while ((rc = pcap_next_ex(f->pcap, &h, &bytes)) == 1 && append(f, h, bytes))
		continue;
	hand_over(f);
	pthread_mutex_lock(&f->mu);
	if (rc == PCAP_ERROR_BREAK) { /* what pcap_next_ex says at the end of a file */
		f->state = FEED_ENDED;
	} else {
		f->state = FEED_FAILED;
		snprintf(f->why, sizeof(f->why), "%s",
			 rc == 1 ? "out of memory reading ahead" : pcap_geterr(f->pcap));
	}
	wake_engine_locked(f);
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

/*
 * stdio calls this when its buffer is empty.  Nothing to read now: what the
 * thread has read goes to the engine first, then it waits for the writer or
 * for feed_stop, which ends the wait as an error (the thread then ends).
 */
static ssize_t cookie_read(void *cookie, char *buf, size_t size)
{
	struct feed *f = cookie;
	struct pollfd p[2] = {{.fd = f->fd, .events = POLLIN}, {.fd = f->stop_fd, .events = POLLIN}};

	for (;;) {
		int n = poll(p, 2, 0);
		if (n == 0) {
			hand_over(f); /* before feed_start nothing is held: a no-op */
			n = poll(p, 2, -1);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (p[1].revents) {
			errno = ECANCELED;
			return -1;
		}
		ssize_t got = read(f->fd, buf, size);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		return got;
	}
}

static int cookie_close(void *cookie)
{
	struct feed *f = cookie;

	return close(f->fd);
}

struct feed *feed_new(int fd, char *buf, size_t bufsize)
{
	struct feed *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->fd = fd;
	f->buf = buf;
	f->bufsize = bufsize;
	f->state = FEED_READING;
	f->stop_fd = eventfd(0, EFD_CLOEXEC);
	f->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->stop_fd < 0 || f->wake_fd < 0) {
		if (f->stop_fd >= 0)
			close(f->stop_fd);
		if (f->wake_fd >= 0)
			close(f->wake_fd);
		free(f);
		return NULL;
	}
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->room, NULL);
	return f;
}

FILE *feed_file(struct feed *f)
{
	if (!f->file) {
		f->file = fopencookie(f, "rb", (cookie_io_functions_t){.read = cookie_read,
								.close = cookie_close});
		if (f->file && f->buf)
			setvbuf(f->file, f->buf, _IOFBF, f->bufsize);
	}
	return f->file;
}

int feed_start(struct feed *f, pcap_t *p)
{
	f->pcap = p;
	if (pthread_create(&f->thread, NULL, feed_main, f) != 0)
		return -1;
	f->started = true;
	return 0;
}

bool feed_started(const struct feed *f)
{
	return f->started;
}

int feed_fd(const struct feed *f)
{
	return f->wake_fd;
}

bool feed_pending(struct feed *f)
{
	pthread_mutex_lock(&f->mu);
	bool pending = !f->started || f->taking || f->head || f->state != FEED_READING;
	pthread_mutex_unlock(&f->mu);
	return pending;
}

/* Engine: the next chunk handed over; NULL, and a wake asked for, if none. */
static struct chunk *next_chunk(struct feed *f)
{
	uint64_t count;

	pthread_mutex_lock(&f->mu);
	struct chunk *c = f->head;
	if (c) {
		f->head = c->next;
		if (!f->head)
			f->tail = NULL;
	} else if (f->state == FEED_READING) {
		f->engine_waiting = true;
		if (read(f->wake_fd, &count, sizeof(count)) < 0) /* clears it; EAGAIN if clear */
			count = 0;
	}
	pthread_mutex_unlock(&f->mu);
	return c;
}

/* Engine: a chunk it has taken everything from. */
static void give_back(struct feed *f, struct chunk *c)
{
	pthread_mutex_lock(&f->mu);
	f->in_flight--;
	if (c->cap == FEED_CHUNK_BYTES) {
		c->next = f->spare;
		f->spare = c;
		c = NULL;
	}
	pthread_cond_signal(&f->room);
	pthread_mutex_unlock(&f->mu);
	free(c);
}

int feed_take(struct feed *f, int max, pcap_handler fn, u_char *user)
{
	int n = 0;

	while (n < max) {
		if (!f->taking && !(f->taking = next_chunk(f)))
			break;
		struct chunk *c = f->taking;
		while (n < max && c->pos < c->used) {
			struct pcap_pkthdr h;
			memcpy(&h, c->data + c->pos, sizeof(h));
			fn(user, &h, c->data + c->pos + sizeof(h));
			c->pos += sizeof(h) + h.caplen;
			n++;
		}
		if (c->pos == c->used) {
			f->taking = NULL;
			give_back(f, c);
		}
	}
	return n;
}

enum feed_state feed_state(struct feed *f, const char **why)
{
	pthread_mutex_lock(&f->mu);
	/* The end is the end once every record before it was taken. */
	enum feed_state st = f->taking || f->head ? FEED_READING : f->state;
	pthread_mutex_unlock(&f->mu);
	*why = f->why;
	return st;
}

static void free_chunks(struct chunk *c)
{
	while (c) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
}

void feed_stop(struct feed *f)
{
	uint64_t one = 1;

	if (!f || !f->started)
		return;
	pthread_mutex_lock(&f->mu);
	f->stopping = true;
	pthread_cond_broadcast(&f->room);
	pthread_mutex_unlock(&f->mu);
	/* Ends a wait in cookie_read; stays readable, so no later one starts. */
	if (write(f->stop_fd, &one, sizeof(one)) < 0)
		abort(); /* a fresh eventfd takes a write; else the join would hang */
	pthread_join(f->thread, NULL);
	f->started = false;
	free(f->filling); /* single chunks: their next is not theirs */
	free(f->taking);
	free_chunks(f->head);
	f->filling = f->taking = f->head = f->tail = NULL;
}

void feed_free(struct feed *f)
{
	if (!f)
		return;
	feed_stop(f);
	free_chunks(f->spare);
	close(f->stop_fd);
	close(f->wake_fd);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->room);
	free(f);
}
