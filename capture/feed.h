/*
 * A capture file that is not a regular file (a FIFO, a pipe on standard
 * input), read on a thread of its own.  Its writer may pause for as long as
 * it likes: the engine thread must not wait in read(2) meanwhile, holding the
 * model (so SNMP and the notifications), its signals and the reloads.  So the
 * feed's thread reads the records through libpcap (filter and all), blocking
 * as it must, into chunks of whole records; the engine thread takes them when
 * feed_fd() is readable, in order, without ever blocking.  The model is never
 * touched here.
 *
 *   feed_new(fd)         before the file is opened: feed_file() is the FILE
 *                        libpcap reads (through fd) from then on, and closing
 *                        it (pcap_close) closes fd
 *   feed_start(f, pcap)  the thread starts; pcap is its alone until feed_stop
 *   feed_take(f, ...)    engine thread: hands over records, never blocks
 *   feed_stop(f)         stops the thread (even in a read) and joins it;
 *                        then pcap_close, then feed_free
 *
 * What is read ahead is bounded (FEED_MAX_CHUNKS chunks): past that the
 * thread waits for the engine, as a writer then waits for the thread.
 */
#ifndef MVPN_FEED_H
#define MVPN_FEED_H

#include <stdbool.h>
#include <stdio.h>

#include <pcap/pcap.h>

struct feed;

enum feed_state { FEED_READING, FEED_ENDED, FEED_FAILED };

/* A feed reading fd, NULL when out of memory or descriptors (fd is then the
 * caller's to close).  buf (bufsize bytes, not owned) becomes the FILE's buffer. */
struct feed *feed_new(int fd, char *buf, size_t bufsize);
/* The FILE to give pcap_fopen_offline; NULL when out of memory.  Until
 * feed_start it blocks its reader as a plain read would (the file's header
 * is read at open). */
FILE *feed_file(struct feed *f);
/* Starts the thread reading p, whose FILE is feed_file(f); -1 if it cannot. */
int feed_start(struct feed *f, pcap_t *p);
bool feed_started(const struct feed *f);
/* Readable when records, the end or an error wait and the engine had taken
 * everything before; feed_take clears it. */
int feed_fd(const struct feed *f);
/* Whether feed_take has something to hand over now (records, or the end). */
bool feed_pending(struct feed *f);
/* Calls fn for up to max waiting records, in order; returns how many. */
int feed_take(struct feed *f, int max, pcap_handler fn, u_char *user);
/* Once feed_take has nothing left: reading, at the end, or failed (why: its
 * libpcap message). */
enum feed_state feed_state(struct feed *f, const char **why);
/* Stops and joins the thread, wherever it waits, and frees what it read and
 * was not taken.  Before pcap_close. */
void feed_stop(struct feed *f);
/* After pcap_close (or the FILE's fclose). */
void feed_free(struct feed *f);

#endif
