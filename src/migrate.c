// SPDX-License-Identifier: GPL-2.0-only
/* Live migration: pre-copy source thread and the receiving side. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "arch/x86/vcpu_state.h"
#include "log.h"
#include "migrate.h"
#include "migrate_stream.h"
#include "state/format.h"
#include "util.h"
#include "vm.h"
#include "vm_state.h"

#define UNIX_PATH_MAX   sizeof(((struct sockaddr_un){ 0 }).sun_path)
#define MIG_MAGIC       "KITEMIG1"
#define MIG_VERSION     1
#define MIG_MAX_STATE   (256u << 20)
#define MIG_MAX_PASSES  30
#define MIG_READY       0x59444552u     /* target -> source: restored, waiting for GO */
#define MIG_GO          0x21214f47u     /* source -> target: run it (we stopped) */
#define MIG_ACK_ERR     0x52524545u     /* target -> source: refused, a message follows */

enum { REC_CONFIG = 1, REC_PAGES, REC_ZEROS, REC_STATE, REC_END };

struct mig_hdr {
	char magic[8];
	uint32_t version;
	uint32_t page_size;
} __attribute__((packed));

struct rec_hdr {
	uint32_t type;
	uint32_t crc;
	uint64_t len;
} __attribute__((packed));

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

static uint64_t now_ms(void)
{
	return now_us() / 1000;
}

/* ---- sockets ---------------------------------------------------------------- */

static int parse_uri(const char *uri, bool *is_unix, char *host, size_t hostlen, char *port,
		     size_t portlen, char *err, size_t errlen)
{
	size_t n = strlen(uri);
	const char *colon;

	if (n > 5 && n - 5 < UNIX_PATH_MAX && !strncmp(uri, "unix:", 5)) {
		*is_unix = true;
		snprintf(host, hostlen, "%s", uri + 5);
		return 0;
	}
	if (!strncmp(uri, "tcp:", 4) && (colon = strrchr(uri + 4, ':')) && colon > uri + 4 &&
	    colon[1] && (size_t)(colon - uri - 4) < hostlen && strlen(colon + 1) < portlen &&
	    strspn(colon + 1, "0123456789") == strlen(colon + 1) && atoi(colon + 1) > 0 &&
	    atoi(colon + 1) < 65536) {
		*is_unix = false;
		snprintf(host, hostlen, "%.*s", (int)(colon - uri - 4), uri + 4);
		if (host[0] == '[' && host[strlen(host) - 1] == ']') {     /* [IPv6] */
			memmove(host, host + 1, strlen(host) - 2);
			host[strlen(host) - 2] = '\0';
		}
		snprintf(port, portlen, "%s", colon + 1);
		return 0;
	}
	snprintf(err, errlen, "migration URI '%s': use tcp:HOST:PORT or unix:PATH", uri);
	return -EINVAL;
}

int migrate_check_uri(const char *uri, char *err, size_t errlen)
{
	char host[256], port[16];
	bool is_unix;

	return parse_uri(uri, &is_unix, host, sizeof(host), port, sizeof(port), err, errlen);
}

/* connect() that a cancel (or 30 s) interrupts; 0 or -1 with errno set. */
static int connect_cancellable(int fd, const struct sockaddr *sa, socklen_t len, const bool *cancel)
{
	int flags = fcntl(fd, F_GETFL), soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (!cancel)
		return connect(fd, sa, len);
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (connect(fd, sa, len) < 0) {
		if (errno != EINPROGRESS)
			return -1;
		for (int waited = 0;; waited += 100) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			if (__atomic_load_n(cancel, __ATOMIC_ACQUIRE)) {
				errno = ECANCELED;
				return -1;
			}
			if (waited >= 30000) {
				errno = ETIMEDOUT;
				return -1;
			}
			if (poll(&p, 1, 100) > 0)
				break;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
			errno = soerr ? soerr : errno;
			return -1;
		}
	}
	fcntl(fd, F_SETFL, flags);
	return 0;
}

static int mig_socket(const char *uri, bool listen_side, const bool *cancel, char *err,
		      size_t errlen)
{
	char host[256], port[16];
	bool is_unix;
	int fd = -1, ret;

	ret = parse_uri(uri, &is_unix, host, sizeof(host), port, sizeof(port), err, errlen);
	if (ret)
		return ret;
	if (is_unix) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		if (strlen(host) >= sizeof(sa.sun_path)) {
			snprintf(err, errlen, "migration URI '%s': the path is too long", uri);
			return -EINVAL;
		}
		memcpy(sa.sun_path, host, strlen(host) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			goto fail;
		if (listen_side) {
			unlink(host);
			if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0)
				goto fail;
		} else if (connect_cancellable(fd, (struct sockaddr *)&sa, sizeof(sa), cancel) < 0) {
			goto fail;
		}
		return fd;
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = listen_side ? AI_PASSIVE : 0 };
	struct addrinfo *res = NULL, *ai;

	ret = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (ret) {
		snprintf(err, errlen, "migration URI '%s': %s", uri, gai_strerror(ret));
		return -EINVAL;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		int one = 1;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (listen_side) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1) == 0)
				break;
		} else if (connect_cancellable(fd, ai->ai_addr, ai->ai_addrlen, cancel) == 0) {
			break;
		} else if (errno == ECANCELED) {
			close(fd);
			freeaddrinfo(res);
			return -ECANCELED;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		return fd;
	errno = errno ? errno : ECONNREFUSED;
fail:
	ret = -errno;
	snprintf(err, errlen, "cannot %s %s: %s", listen_side ? "listen on" : "connect to", uri,
		 strerror(errno));
	if (fd >= 0)
		close(fd);
	return ret;
}

static int send_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EPIPE;
		p = (const uint8_t *)p + w;
		n -= w;
	}
	return 0;
}

static int recv_all(int fd, void *p, size_t n)
{
	while (n) {
		ssize_t r = recv(fd, p, n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ECONNRESET;
		p = (uint8_t *)p + r;
		n -= r;
	}
	return 0;
}

/* One record whose payload is the concatenation of parts. */
static int send_rec(int fd, uint32_t type, const struct iovec *parts, unsigned int n)
{
	struct rec_hdr h = { .type = type };
	uint32_t crc = state_crc32(NULL, 0);
	int ret;

	for (unsigned int i = 0; i < n; i++) {
		crc = state_crc32_update(crc, parts[i].iov_base, parts[i].iov_len);
		h.len += parts[i].iov_len;
	}
	h.crc = crc;
	ret = send_all(fd, &h, sizeof(h));
	for (unsigned int i = 0; i < n && !ret; i++)
		ret = send_all(fd, parts[i].iov_base, parts[i].iov_len);
	return ret;
}

/* ---- source ---------------------------------------------------------------- */

static void mig_set(struct migration *m, const char *phase)
{
	pthread_mutex_lock(&m->lock);
	m->phase = phase;
	pthread_mutex_unlock(&m->lock);
}

static bool mig_cancelled(struct migration *m)
{
	return __atomic_load_n(&m->cancel, __ATOMIC_ACQUIRE);
}

struct batch {
	uint64_t gpa[MIG_BATCH];
	/* Copies: the guest keeps writing, and the CRC must match what is sent. */
	uint8_t data[MIG_BATCH][MIG_PAGE];
	unsigned int n;
	uint64_t zgpa[MIG_BATCH];
	unsigned int nz;
};

static int flush_batch(struct migration *m, struct batch *b)
{
	struct iovec iov[3];
	uint32_t cnt;
	int ret = 0;

	if (b->n) {
		cnt = b->n;
		iov[0] = (struct iovec){ &cnt, 4 };
		iov[1] = (struct iovec){ b->gpa, b->n * 8 };
		iov[2] = (struct iovec){ b->data, (size_t)b->n * MIG_PAGE };
		ret = send_rec(m->fd, REC_PAGES, iov, 3);
		pthread_mutex_lock(&m->lock);
		m->bytes_sent += 16 + 4 + b->n * (8 + MIG_PAGE);
		m->pages_sent += b->n;
		pthread_mutex_unlock(&m->lock);
		b->n = 0;
	}
	if (!ret && b->nz) {
		cnt = b->nz;
		iov[0] = (struct iovec){ &cnt, 4 };
		iov[1] = (struct iovec){ b->zgpa, b->nz * 8 };
		ret = send_rec(m->fd, REC_ZEROS, iov, 2);
		b->nz = 0;
	}
	return ret;
}

static int queue_page(struct migration *m, struct batch *b, uint64_t gpa, const uint8_t *p,
		      bool skip_zero)
{
	/*
	 * Zero pages are looked at in place and not copied (a write after the
	 * look is in the dirty log and sends the page again); others are copied
	 * so the CRC covers exactly what is sent.
	 */
	if (mem_page_is_zero(p)) {
		if (skip_zero)
			return 0;
		b->zgpa[b->nz++] = gpa;
	} else {
		memcpy(b->data[b->n], p, MIG_PAGE);
		b->gpa[b->n++] = gpa;
	}
	if (b->n == MIG_BATCH || b->nz == MIG_BATCH)
		return flush_batch(m, b);
	return 0;
}

/* Send the pages set in the bitmaps (or all, for the first pass). */
static int send_pages(struct migration *m, uint64_t **bitmaps, bool all, uint64_t *sent)
{
	struct guest_mem *gm = &m->vm->mem;
	struct batch *b = calloc(1, sizeof(*b));
	int ret = 0;

	if (!b)
		return -ENOMEM;
	*sent = 0;
	for (unsigned int r = 0; r < gm->nr && !ret; r++) {
		uint64_t pages = gm->regions[r].size / MIG_PAGE;

		for (uint64_t p = 0; p < pages && !ret; p++) {
			if (!all && !(bitmaps[r][p / 64] & (1ULL << (p % 64))))
				continue;
			ret = queue_page(m, b, gm->regions[r].gpa + p * MIG_PAGE,
					 gm->regions[r].hva + p * MIG_PAGE, all);
			(*sent)++;
			if (!(p % 4096) && mig_cancelled(m))
				ret = -ECANCELED;
		}
	}
	if (!ret)
		ret = flush_batch(m, b);
	free(b);
	return ret;
}

/* Collect what vCPUs (KVM) and devices dirtied since the last call; returns the page count. */
/*
 * keep: add to what the bitmaps hold (pages collected by the last pass and
 * not sent yet, because the loop stopped to go to stop-and-copy).
 */
static int collect_dirty(struct migration *m, uint64_t **bitmaps, bool keep, uint64_t *count)
{
	struct guest_mem *gm = &m->vm->mem;
	int ret;

	*count = 0;
	for (unsigned int r = 0; r < gm->nr; r++) {
		uint64_t words = (gm->regions[r].size / MIG_PAGE + 63) / 64;

		if (!keep)
			memset(bitmaps[r], 0, words * 8);
		ret = vm_get_dirty_log(m->vm, r, bitmaps[r]);
		if (ret)
			return ret;
		mem_dirty_collect(gm, r, bitmaps[r]);
		for (uint64_t w = 0; w < words; w++)
			*count += __builtin_popcountll(bitmaps[r][w]);
	}
	return 0;
}

/* Auto-converge: take the vCPUs off the CPU for throttle_pct of every 100 ms. */
static void *throttle_thread(void *arg)
{
	struct migration *m = arg;

	while (!__atomic_load_n(&m->stop_throttle, __ATOMIC_ACQUIRE) && !mig_cancelled(m)) {
		unsigned int pct = __atomic_load_n(&m->throttle_pct, __ATOMIC_RELAXED);

		if (pct)
			vm_throttle_vcpus(m->vm, pct);
		else
			usleep(20000);
	}
	return NULL;
}

static void *migrate_thread(void *arg)
{
	struct migration *m = arg;
	struct vm *vm = m->vm;
	struct guest_mem *gm = &vm->mem;
	uint64_t *bitmaps[MEM_MAX_REGIONS] = { 0 };
	struct mig_hdr hdr = { .magic = MIG_MAGIC, .version = MIG_VERSION, .page_size = MIG_PAGE };
	struct state_writer w;
	struct blob img;
	char err[256] = "";
	uint64_t t_start = now_ms(), dirty = 0, sent, t0, pass_bytes = 0;
	/* Stop-and-copy, in us: paused, pages sent, state sent, READY, GO. */
	uint64_t t_pause = 0, t_paused = 0, t_dirty = 0, t_pages = 0, t_state = 0, t_ready = 0,
		 t_go = 0;
	bool tracking = false, paused = false, throttling = false, handed_over = false;
	pthread_t throttler;
	uint32_t ack = 0;
	int ret;

	blob_init(&img);
	state_writer_init(&w);
	ret = mig_socket(m->uri, false, &m->cancel, err, sizeof(err));
	if (ret < 0)
		goto out;
	pthread_mutex_lock(&m->lock);
	m->fd = ret;
	pthread_mutex_unlock(&m->lock);
	ret = mig_cancelled(m) ? -ECANCELED : 0;
	if (ret)
		goto out;
	for (unsigned int r = 0; r < gm->nr; r++) {
		bitmaps[r] = calloc((gm->regions[r].size / MIG_PAGE + 63) / 64, 8);
		if (!bitmaps[r]) {
			ret = -ENOMEM;
			goto out;
		}
	}
	/* Header and configuration: the target builds the same VM from it. */
	vm_state_save_config(vm->cfg, &w);
	ret = state_finish(&w, x86_cpuid_fingerprint(vm->kvm), &img);
	ret = ret ?: send_all(m->fd, &hdr, sizeof(hdr));
	ret = ret ?: send_rec(m->fd, REC_CONFIG, &(struct iovec){ img.buf, img.len }, 1);
	blob_free(&img);
	state_writer_free(&w);
	state_writer_init(&w);
	if (ret)
		goto out;
	/* Track from here, then send everything once. */
	ret = mem_dirty_start(gm);
	ret = ret ?: vm_dirty_log(vm, true);
	if (ret)
		goto out;
	tracking = true;
	if (pthread_create(&throttler, NULL, throttle_thread, m) == 0)
		throttling = true;
	mig_set(m, "precopy");
	t0 = now_ms();
	pass_bytes = m->bytes_sent;
	ret = send_pages(m, bitmaps, true, &sent);
	for (unsigned int pass = 1; !ret; pass++) {
		uint64_t elapsed = MAX(now_ms() - t0, 1), bw, rate, budget;

		ret = collect_dirty(m, bitmaps, false, &dirty);
		if (ret)
			break;
		pthread_mutex_lock(&m->lock);
		/* What went over the link, not the zero pages skipped. */
		bw = m->bandwidth = MAX((m->bytes_sent - pass_bytes) * 1000 / elapsed, 1);
		rate = m->dirty_rate = dirty * MIG_PAGE * 1000 / elapsed;
		m->remaining_bytes = dirty * MIG_PAGE;
		m->iterations = pass;
		pthread_mutex_unlock(&m->lock);
		/*
		 * Stop when the rest goes over in 70% of max_downtime less 1 ms:
		 * the pause, the device state, the target's restore and GO take
		 * ~1-2 ms, and pages dirtied after this count come on top.
		 */
		budget = bw * (m->max_downtime_ms * 7 / 10 > 1 ? m->max_downtime_ms * 7 / 10 - 1 : 1)
			 / 1000;
		if (dirty * MIG_PAGE <= budget || pass >= MIG_MAX_PASSES)
			break;
		if (pass >= 2 && rate > bw / 2) {
			unsigned int pct = MIN(m->throttle_pct + 20, 95u);

			pthread_mutex_lock(&m->lock);
			m->throttle_pct = pct;
			snprintf(m->note, sizeof(m->note), "the guest dirties memory faster than the "
				 "link sends it (%llu MB/s vs %llu MB/s): vCPUs throttled to %u%%",
				 (unsigned long long)(rate >> 20), (unsigned long long)(bw >> 20), pct);
			pthread_mutex_unlock(&m->lock);
		}
		if (mig_cancelled(m)) {
			ret = -ECANCELED;
			break;
		}
		t0 = now_ms();
		pass_bytes = m->bytes_sent;
		ret = send_pages(m, bitmaps, false, &sent);
	}
	if (ret)
		goto out;
	/* Stop and copy. */
	mig_set(m, "stop-and-copy");
	__atomic_store_n(&m->throttle_pct, 0, __ATOMIC_RELAXED);
	t_pause = now_us();
	ret = vm_pause(vm);
	if (ret)
		goto out;
	paused = true;
	t_paused = now_us();
	ret = collect_dirty(m, bitmaps, true, &dirty);
	t_dirty = now_us();
	ret = ret ?: send_pages(m, bitmaps, false, &sent);
	t_pages = now_us();
	ret = ret ?: vm_state_save(vm, &w, err, sizeof(err));
	ret = ret ?: state_finish(&w, x86_cpuid_fingerprint(vm->kvm), &img);
	ret = ret ?: send_rec(m->fd, REC_STATE, &(struct iovec){ img.buf, img.len }, 1);
	ret = ret ?: send_rec(m->fd, REC_END, NULL, 0);
	if (ret)
		goto out;
	t_state = now_us();
	/* The target has everything: let it take the disks' locks. */
	vm_handover(vm, false);
	handed_over = true;
	/*
	 * Commit: the target checked everything and is ready (READY); we stop our
	 * copy and tell it to run (GO).  Until READY arrives, any failure means
	 * the target will not run the VM (it waits for GO), so we resume.
	 */
	mig_set(m, "waiting for the target");
	{
		struct timeval tv = { .tv_sec = 60 };

		setsockopt(m->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	ret = recv_all(m->fd, &ack, sizeof(ack));
	t_ready = now_us();
	if (!ret && ack != MIG_READY) {
		char msg[200] = "";

		recv(m->fd, msg, sizeof(msg) - 1, 0);
		snprintf(err, sizeof(err), "the target could not take the VM: %.190s", msg);
		ret = -EPROTO;
	} else if (ret) {
		snprintf(err, sizeof(err), "no answer from the target after the final state: %s",
			 strerror(-ret));
	} else if (mig_cancelled(m)) {
		ret = -ECANCELED;               /* the last moment a cancel can win */
	} else {
		uint32_t go = MIG_GO;

		/* From here the VM belongs to the target. */
		send_all(m->fd, &go, sizeof(go));
		t_go = now_us();
	}
out:
	if (tracking) {
		vm_dirty_log(vm, false);
		mem_dirty_stop(gm);
	}
	/* A cancel makes sends and receives fail: it is still a cancel. */
	if (ret && mig_cancelled(m))
		ret = -ECANCELED;
	__atomic_store_n(&m->stop_throttle, true, __ATOMIC_RELEASE);
	if (throttling)
		pthread_join(throttler, NULL);
	/* The VM is running again (or gone) before the status says how it ended. */
	if (ret) {
		/* Take the disks back (the target lets go when it gets no GO). */
		if (handed_over && vm_handover(vm, true))
			snprintf(err, sizeof(err), "the migration failed and the disks could not be "
				 "locked again (another VM holds them): the VM stays paused");
		else if (paused)
			vm_resume(vm);
	}
	pthread_mutex_lock(&m->lock);
	m->state = ret == 0 ? MIG_COMPLETED : ret == -ECANCELED ? MIG_CANCELLED : MIG_FAILED;
	m->total_ms = now_ms() - t_start;
	/* Downtime: from the pause to GO (the target runs the VM from there). */
	if (!ret)
		m->downtime_ms = (t_go - t_pause + 500) / 1000;
	if (ret && (ret != -ECANCELED || err[0]))
		snprintf(m->error, sizeof(m->error), "%s", err[0] ? err : strerror(-ret));
	m->phase = ret == 0 ? "completed" : ret == -ECANCELED ? "cancelled" : "failed";
	pthread_mutex_unlock(&m->lock);
	if (ret == 0) {
		pr_info("migration to %s completed: downtime %llu ms (pause %.1f ms, dirty log "
			"%.1f ms, last %llu pages %.1f ms, device state %.1f ms, target's restore "
			"%.1f ms, GO %.1f ms), %llu ms in all", m->uri,
			(unsigned long long)m->downtime_ms, (t_paused - t_pause) / 1e3,
			(t_dirty - t_paused) / 1e3, (unsigned long long)dirty,
			(t_pages - t_dirty) / 1e3, (t_state - t_pages) / 1e3,
			(t_ready - t_state) / 1e3, (t_go - t_ready) / 1e3,
			(unsigned long long)m->total_ms);
		vm_request_stop(vm, VM_STOP_MIGRATED);
	} else if (ret != -ECANCELED) {
		pr_warn("migration to %s failed: %s; the VM keeps running here", m->uri, m->error);
	}
	pthread_mutex_lock(&m->lock);
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	pthread_mutex_unlock(&m->lock);
	for (unsigned int r = 0; r < MEM_MAX_REGIONS; r++)
		free(bitmaps[r]);
	blob_free(&img);
	state_writer_free(&w);
	return NULL;
}

int migrate_start(struct migration *m, struct vm *vm, const char *uri, uint32_t max_downtime_ms,
		  char *err, size_t errlen)
{
	int ret;

	if (m->started && __atomic_load_n(&m->state, __ATOMIC_ACQUIRE) == MIG_ACTIVE) {
		snprintf(err, errlen, "a migration is already running");
		return -EBUSY;
	}
	ret = migrate_check_uri(uri, err, errlen);
	if (ret)
		return ret;
	migrate_join(m);
	pthread_mutex_destroy(&m->lock);
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->vm = vm;
	m->fd = -1;
	snprintf(m->uri, sizeof(m->uri), "%s", uri);
	m->max_downtime_ms = max_downtime_ms ? max_downtime_ms : 300;
	m->state = MIG_ACTIVE;
	m->phase = "connecting";
	ret = pthread_create(&m->thread, NULL, migrate_thread, m);
	if (ret) {
		m->state = MIG_FAILED;
		snprintf(err, errlen, "cannot start the migration thread: %s", strerror(ret));
		return -ret;
	}
	m->started = true;
	return 0;
}

void migrate_cancel(struct migration *m)
{
	__atomic_store_n(&m->cancel, true, __ATOMIC_RELEASE);
	/* A blocked send or receive returns at once. */
	pthread_mutex_lock(&m->lock);
	if (m->started && m->fd >= 0)
		shutdown(m->fd, SHUT_RDWR);
	pthread_mutex_unlock(&m->lock);
}

void migrate_join(struct migration *m)
{
	if (m->started) {
		pthread_join(m->thread, NULL);
		m->started = false;
	}
}

/* ---- target ---------------------------------------------------------------- */

static int recv_rec(int fd, struct rec_hdr *h, uint8_t **payload, size_t max, char *err,
		    size_t errlen)
{
	int ret = recv_all(fd, h, sizeof(*h));

	*payload = NULL;
	if (ret) {
		snprintf(err, errlen, "the migration stream ended early: %s", strerror(-ret));
		return ret;
	}
	if (h->type < REC_CONFIG || h->type > REC_END || h->len > max) {
		snprintf(err, errlen, "bad migration stream: record type %u of %llu bytes", h->type,
			 (unsigned long long)h->len);
		return -EPROTO;
	}
	*payload = malloc(h->len ? h->len : 1);
	if (!*payload)
		return -ENOMEM;
	ret = recv_all(fd, *payload, h->len);
	if (ret) {
		snprintf(err, errlen, "the migration stream ended early: %s", strerror(-ret));
		free(*payload);
		*payload = NULL;
		return ret;
	}
	if (state_crc32(*payload, h->len) != h->crc) {
		snprintf(err, errlen, "bad migration stream: CRC mismatch in a record of type %u",
			 h->type);
		free(*payload);
		*payload = NULL;
		return -EPROTO;
	}
	return 0;
}

int migrate_incoming_accept(const char *uri, struct vm_config *cfg, char *err, size_t errlen)
{
	struct mig_hdr hdr;
	struct rec_hdr h;
	struct state_image img;
	uint8_t *payload = NULL;
	char why[256];
	int lfd, fd, ret;

	lfd = mig_socket(uri, true, NULL, err, errlen);
	if (lfd < 0)
		return lfd;
	fprintf(stderr, "kite: waiting for a migration on %s\n", uri);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	ret = fd < 0 ? -errno : 0;
	close(lfd);
	if (!strncmp(uri, "unix:", 5))
		unlink(uri + 5);
	if (ret) {
		snprintf(err, errlen, "accept on %s: %s", uri, strerror(-ret));
		return ret;
	}
	/* A source that goes silent for 20 s is gone (it always has something to send). */
	{
		struct timeval tv = { .tv_sec = 20 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	ret = recv_all(fd, &hdr, sizeof(hdr));
	if (!ret && (memcmp(hdr.magic, MIG_MAGIC, 8) || hdr.version != MIG_VERSION ||
		     hdr.page_size != MIG_PAGE)) {
		snprintf(err, errlen, "not a kite migration stream of version %u", MIG_VERSION);
		ret = -EPROTO;
	} else if (ret) {
		snprintf(err, errlen, "the migration stream ended early");
	}
	if (!ret)
		ret = recv_rec(fd, &h, &payload, 1 << 20, err, errlen);
	if (!ret && h.type != REC_CONFIG) {
		snprintf(err, errlen, "bad migration stream: no configuration first");
		ret = -EPROTO;
	}
	if (!ret) {
		ret = state_parse(payload, h.len, &img, why, sizeof(why));
		if (ret)
			snprintf(err, errlen, "bad configuration in the migration stream: %s", why);
		else
			ret = vm_state_config(&img, cfg, err, errlen);
		state_image_free(&img);
	}
	free(payload);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

int migrate_incoming_receive(struct vm *vm, int fd, char *err, size_t errlen)
{
	for (;;) {
		struct rec_hdr h;
		uint8_t *p;
		int ret = recv_rec(fd, &h, &p, MIG_MAX_STATE, err, errlen);

		if (ret)
			return ret;
		if (h.type == REC_PAGES || h.type == REC_ZEROS) {
			ret = mig_apply_pages(&vm->mem, h.type == REC_PAGES, p, h.len, err, errlen);
			if (ret) {
				free(p);
				return ret;
			}
		} else if (h.type == REC_STATE) {
			struct state_image img;
			char why[256];

			ret = state_parse(p, h.len, &img, why, sizeof(why));
			if (ret)
				snprintf(err, errlen, "bad VM state in the migration stream: %s", why);
			else
				ret = vm_state_restore(vm, &img, err, errlen);
			state_image_free(&img);
			if (ret) {
				free(p);
				return ret;
			}
		} else if (h.type == REC_END) {
			free(p);
			return 0;
		} else {
			snprintf(err, errlen, "bad migration stream: unexpected record type %u", h.type);
			free(p);
			return -EPROTO;
		}
		free(p);
	}
}

void migrate_incoming_ack(int fd, int ret, const char *err)
{
	uint32_t word = MIG_ACK_ERR;

	if (!ret)
		return;
	send_all(fd, &word, sizeof(word));
	if (err)
		send_all(fd, err, strlen(err));
}

int migrate_incoming_commit(int fd, char *err, size_t errlen)
{
	uint32_t word = MIG_READY;
	struct timeval tv = { .tv_sec = 30 };
	int ret = send_all(fd, &word, sizeof(word));

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ret = ret ?: recv_all(fd, &word, sizeof(word));
	if (!ret && word != MIG_GO)
		ret = -EPROTO;
	if (ret)
		snprintf(err, errlen, "the source did not hand the VM over (%s): it keeps running "
			 "there", ret == -EPROTO ? "bad answer" : strerror(-ret));
	return ret;
}
