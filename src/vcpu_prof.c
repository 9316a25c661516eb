// SPDX-License-Identifier: GPL-2.0-only
/* A sampling profile of vCPU 0 (see vcpu_prof.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "memory.h"
#include "vcpu.h"
#include "vcpu_prof.h"
#include "vm.h"

#define PROF_PERIOD_NS   1000000L        /* 1 kHz */
#define PROF_STACK_WORDS 64              /* read at RSP (512 bytes) ... */
#define PROF_KEEP_WORDS  16              /* ... of which this many are kept */

struct vcpu_prof {
	struct vcpu *vcpu;
	FILE *out;
	timer_t timer;
};

struct vcpu_prof *vcpu_prof_start(struct vcpu *vcpu, const char *path)
{
	struct vcpu_prof *p = calloc(1, sizeof(*p));
	struct sigevent sev = {
		.sigev_notify = SIGEV_THREAD_ID,
		.sigev_signo = VCPU_KICK_SIGNAL,
	};
	struct itimerspec its = {
		.it_interval = { 0, PROF_PERIOD_NS },
		.it_value = { 0, PROF_PERIOD_NS },
	};

	if (!p) {
		pr_err("--profile-guest: out of memory");
		return NULL;
	}
	p->vcpu = vcpu;
	/* Appended: main() truncated it, and a VM that restarts adds its samples. */
	p->out = fopen(path, "a");
	if (!p->out) {
		pr_err("--profile-guest: cannot write '%s': %s", path, strerror(errno));
		free(p);
		return NULL;
	}
	sev._sigev_un._tid = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &p->timer) < 0 ||
	    timer_settime(p->timer, 0, &its, NULL) < 0) {
		pr_err("--profile-guest: cannot start the sampling timer: %s", strerror(errno));
		fclose(p->out);
		free(p);
		return NULL;
	}
	pr_info("profiling vCPU %u into %s (1 kHz)", vcpu->id, path);
	return p;
}

void vcpu_prof_sample(struct vcpu_prof *p)
{
	struct kvm_regs regs;
	struct kvm_translation tr;
	uint64_t words[PROF_STACK_WORDS];
	struct timespec ts;
	unsigned int n = 0;

	if (ioctl(p->vcpu->fd, KVM_GET_REGS, &regs) < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	memset(&tr, 0, sizeof(tr));
	tr.linear_address = regs.rsp;
	if (ioctl(p->vcpu->fd, KVM_TRANSLATE, &tr) == 0 && tr.valid) {
		/* Only what lies in the stack's page: the next may not be mapped there. */
		uint64_t room = (4096 - (tr.physical_address & 4095)) / 8;

		n = room < PROF_STACK_WORDS ? (unsigned int)room : PROF_STACK_WORDS;
		if (mem_read(&p->vcpu->vm->mem, tr.physical_address, words, n * 8ULL))
			n = 0;
	}
	fprintf(p->out, "%lld.%06ld %llx", (long long)ts.tv_sec, ts.tv_nsec / 1000,
		(unsigned long long)regs.rip);
	/* Only words that could be return addresses into a higher-half kernel. */
	for (unsigned int i = 0, kept = 0; i < n && kept < PROF_KEEP_WORDS; i++) {
		if (words[i] >> 48 != 0xffff)
			continue;
		fprintf(p->out, " %llx", (unsigned long long)words[i]);
		kept++;
	}
	fputc('\n', p->out);
}

void vcpu_prof_stop(struct vcpu_prof *p)
{
	if (!p)
		return;
	timer_delete(p->timer);
	if (fclose(p->out))
		pr_warn("--profile-guest: writing the profile failed: %s", strerror(errno));
	free(p);
}
