/*
 * The model's one lock.  Two threads touch the model: the engine thread
 * (capture, probing, timers, reloads: it writes) and the AgentX thread (the
 * MIB's views and the notifications: it reads, and pops the notice queue).
 * The engine thread holds the lock for a whole turn of its loop and lets go
 * only while it waits in select(); the AgentX thread takes it for one request.
 *
 * The lock is FIFO (a ticket lock on a mutex and a condition variable): a
 * plain mutex lets the engine thread, which releases and retakes it in a
 * tight loop during a replay, take it again before a waiting manager's
 * request ever gets it.  With tickets, a request waits at most one turn.
 */
#ifndef MVPN_MODELLOCK_H
#define MVPN_MODELLOCK_H

void model_lock(void);
void model_unlock(void);

#endif
