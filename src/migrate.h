/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_MIGRATE_H
#define KITE_MIGRATE_H

/*
 * Live migration, pre-copy.
 *
 * Source: a thread of its own connects to the target, sends the VM's
 * configuration, enables dirty tracking (KVM's dirty log for what vCPUs
 * write, mem_mark_dirty() for what devices write), sends all non-zero RAM,
 * then the pages dirtied meanwhile, pass after pass, until what is left can
 * go within max_downtime at the measured bandwidth; it then pauses the VM,
 * sends the last pages and the device state, and waits for the target's
 * READY (everything checked and applied), answers GO and stops; the target
 * runs the VM only after GO, so a connection lost anywhere leaves exactly
 * one copy running (the source, unless GO was sent).  If the guest dirties memory faster than the link, the status
 * says so and the vCPUs are throttled (auto-converge).  Cancel, a failure
 * of any kind, or a target that dies: tracking off, the VM resumes, nothing
 * lost.  On success the source VM stops (exit status 0).
 *
 * Stream: "KITEMIG1", version, then records {type, CRC32, length, payload}:
 * CONFIG (a state image with the configuration), PAGES (gpas then 4 KiB
 * pages), ZEROS (gpas), STATE (the full state image), END.  The target
 * answers READY, or ERR and a message; the source then sends GO.  The receiver checks every record's length, CRC and every gpa
 * before using it.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vm_config;

enum mig_state { MIG_NONE, MIG_ACTIVE, MIG_COMPLETED, MIG_FAILED, MIG_CANCELLED };

struct migration {
	pthread_t thread;
	bool started;
	struct vm *vm;
	char uri[320];
	uint32_t max_downtime_ms;
	pthread_mutex_t lock;           /* the fields below */
	enum mig_state state;
	const char *phase;              /* "connecting", "precopy", "stop-and-copy", ... */
	char error[256];
	char note[160];                 /* e.g. the guest dirties memory faster than the link */
	bool cancel;
	bool stop_throttle;             /* the throttle thread ends */
	uint64_t bytes_sent, pages_sent, iterations, remaining_bytes;
	uint64_t bandwidth;             /* bytes/s, last pass */
	uint64_t dirty_rate;            /* bytes/s dirtied, last pass */
	unsigned int throttle_pct;
	uint64_t downtime_ms, total_ms;
	int fd;
};

/* Parse "tcp:HOST:PORT" or "unix:PATH"; 0 or -EINVAL with one line in err. */
int migrate_check_uri(const char *uri, char *err, size_t errlen);

/* Start migrating vm (VMM thread).  -EBUSY if one is active. */
int migrate_start(struct migration *m, struct vm *vm, const char *uri, uint32_t max_downtime_ms,
		  char *err, size_t errlen);
void migrate_cancel(struct migration *m);
/* Join a finished migration thread (VMM thread; also at teardown, after cancel). */
void migrate_join(struct migration *m);

/*
 * Target: accept one connection on uri and read the configuration into cfg
 * (vm_state_config()).  Returns the connection fd, or -errno with one line in err.
 */
int migrate_incoming_accept(const char *uri, struct vm_config *cfg, char *err, size_t errlen);
/*
 * Target: receive memory and state into vm (created from that configuration,
 * not started), apply the state.  On failure, migrate_incoming_ack(fd, ret,
 * err) tells the source why (it resumes).  On success, migrate_incoming_commit()
 * says READY and waits for the source's GO (sent once the source stopped its
 * copy): only then may the caller start the VM.  If GO does not come, the
 * source kept the VM: exit.
 */
int migrate_incoming_receive(struct vm *vm, int fd, char *err, size_t errlen);
void migrate_incoming_ack(int fd, int ret, const char *err);
int migrate_incoming_commit(int fd, char *err, size_t errlen);

/* mig_apply_pages(), the receiver's page records: migrate_stream.h */

#endif
