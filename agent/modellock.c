#include "modellock.h"

#include <pthread.h>

static pthread_mutex_t guard = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static unsigned long next_ticket, now_serving;

void model_lock(void)
{
	pthread_mutex_lock(&guard);
	unsigned long mine = next_ticket++;
	while (mine != now_serving)
		pthread_cond_wait(&turn_changed, &guard);
	pthread_mutex_unlock(&guard);
}

void model_unlock(void)
{
	pthread_mutex_lock(&guard);
	now_serving++;
	if (next_ticket != now_serving) /* someone waits */
		pthread_cond_broadcast(&turn_changed);
	pthread_mutex_unlock(&guard);
}
