// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control API's operations on the VMM thread: one function per ctl_op.
 * Requests arrive validated (src/api/request.c); what depends on the VM's
 * state (409) or size is checked here.  Wrong-state calls are 409, never
 * silently ignored: pause when paused, resume when running, anything but
 * status once the VM is stopping.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "control.h"
#include "hw/pm.h"
#include "mem_host.h"
#include "snapshot.h"
#include "util.h"
#include "virtio/balloon.h"
#include "vm.h"
#include "vm_ctl.h"

typedef void (*vm_ctl_fn)(struct vm *vm, struct ctl_request *req);

static const char *vm_state_name(const struct vm *vm)
{
	return vm_stopping(vm) ? "stopping" : vm->paused ? "paused" : "running";
}

static const char *virtio_type_name(uint16_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_NET: return "virtio-net";
	case VIRTIO_ID_BLOCK: return "virtio-blk";
	case VIRTIO_ID_CONSOLE: return "virtio-console";
	case VIRTIO_ID_RNG: return "virtio-rng";
	case VIRTIO_ID_BALLOON: return "virtio-balloon";
	case VIRTIO_ID_VSOCK: return "virtio-vsock";
	case VIRTIO_ID_FS: return "virtio-fs";
	}
	return "virtio";
}

static struct json_object *device_json(const char *type, const char *name, int slot)
{
	struct json_object *d = json_object_new_object();

	json_object_object_add(d, "type", json_object_new_string(type));
	json_object_object_add(d, "name", json_object_new_string(name));
	json_object_object_add(d, "pci_slot", slot < 0 ? NULL : json_object_new_int(slot));
	return d;
}

/* GET /vm's body; also the answer to pause, resume, shutdown and reset. */
static struct json_object *vm_status_json(struct vm *vm)
{
	static const struct { const char *type, *name; } platform[] = {
		{ "serial", "com1" }, { "rtc", "rtc" }, { "i8042", "i8042" },
		{ "acpi-pm", "acpi-pm" }, { "pvpanic", "pvpanic" },
	};
	struct json_object *o = json_object_new_object();
	struct json_object *mem = json_object_new_object();
	struct json_object *devs = json_object_new_array();
	struct timespec ts;
	char uptime[32];
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	json_object_object_add(o, "state", json_object_new_string(vm_state_name(vm)));
	json_object_object_add(o, "vcpus", json_object_new_int((int)vm->nr_vcpus));
	json_object_object_add(mem, "bytes", json_object_new_uint64(vm->mem.total));
	json_object_object_add(mem, "backend",
			       json_object_new_string(mem_backend_name(vm->mem.backend)));
	json_object_object_add(o, "memory", mem);
	for (size_t i = 0; i < sizeof(platform) / sizeof(platform[0]); i++)
		json_object_array_add(devs, device_json(platform[i].type, platform[i].name, -1));
	for (unsigned int i = 0; i < vm->nr_virtio; i++) {
		const struct vm_virtio *v = &vm->virtio[i];

		json_object_array_add(devs, device_json(virtio_type_name(v->vd->device_id),
							v->vd->name, (int)v->vp.pci.slot));
	}
	json_object_object_add(o, "devices", devs);
	snprintf(uptime, sizeof(uptime), "%.3f", (double)(now - vm->start_ns) / 1e9);
	json_object_object_add(o, "uptime_s",
			       json_object_new_double_s((double)(now - vm->start_ns) / 1e9, uptime));
	return o;
}

/* 409 if the VM is stopping (every operation but status). */
static bool vm_ctl_stopping(struct vm *vm, struct ctl_request *req)
{
	if (!vm_stopping(vm))
		return false;
	ctl_fail(req, 409, "the VM is stopping");
	return true;
}

static void vm_ctl_status(struct vm *vm, struct ctl_request *req)
{
	ctl_reply(req, 200, vm_status_json(vm));
}

static void vm_ctl_pause(struct vm *vm, struct ctl_request *req)
{
	int ret;

	if (vm_ctl_stopping(vm, req))
		return;
	if (vm->paused) {
		ctl_fail(req, 409, "the VM is already paused");
		return;
	}
	ret = vm_pause(vm);
	if (ret == -ESHUTDOWN)
		ctl_fail(req, 409, "the VM is stopping");
	else if (ret)
		ctl_fail(req, 500, "cannot pause the VM: %s", strerror(-ret));
	else
		ctl_reply(req, 200, vm_status_json(vm));
}

static void vm_ctl_resume(struct vm *vm, struct ctl_request *req)
{
	int ret;

	if (vm_ctl_stopping(vm, req))
		return;
	if (!vm->paused) {
		ctl_fail(req, 409, "the VM is not paused");
		return;
	}
	ret = vm_resume(vm);
	if (ret)
		ctl_fail(req, 500, "cannot resume the VM: %s", strerror(-ret));
	else
		ctl_reply(req, 200, vm_status_json(vm));
}

/* Graceful: the guest sees the ACPI power button and decides (202: not done yet). */
static void vm_ctl_shutdown(struct vm *vm, struct ctl_request *req)
{
	if (vm_ctl_stopping(vm, req))
		return;
	if (vm->paused) {
		ctl_fail(req, 409, "the VM is paused: resume it first, the guest must see the "
			 "power button");
		return;
	}
	pm_power_button(&vm->pm);
	ctl_reply(req, 202, vm_status_json(vm));
}

/* As if the guest reset: --on-reboot decides between restart and exit (status 3). */
static void vm_ctl_reset(struct vm *vm, struct ctl_request *req)
{
	if (vm_ctl_stopping(vm, req))
		return;
	vm_request_stop(vm, VM_STOP_RESET);
	ctl_reply(req, 202, vm_status_json(vm));
}

/* ---- The balloon (--balloon: src/virtio/balloon.h) ---- */

static struct json_object *balloon_json(struct virtio_dev *vd, bool refresh)
{
	struct virtio_balloon_info bi;
	struct json_object *o = json_object_new_object();
	struct json_object *stats = json_object_new_object();
	struct timespec ts;
	uint64_t now;

	virtio_balloon_info(vd, &bi, refresh);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	json_object_object_add(o, "target_bytes",
			       json_object_new_uint64((uint64_t)bi.target_pages * VIRTIO_BALLOON_PAGE));
	json_object_object_add(o, "actual_bytes",
			       json_object_new_uint64((uint64_t)bi.actual_pages * VIRTIO_BALLOON_PAGE));
	json_object_object_add(o, "driver", json_object_new_boolean(bi.driver_ok));
	for (unsigned int t = 0; t < VIRTIO_BALLOON_S_NR; t++)
		if (bi.stats_valid & (1u << t))
			json_object_object_add(stats, virtio_balloon_stat_name(t),
					       json_object_new_uint64(bi.stats[t]));
	json_object_object_add(o, "stats", stats);
	json_object_object_add(o, "stats_age_ms", bi.stats_ns ?
			       json_object_new_int64((int64_t)((now - bi.stats_ns) / 1000000)) : NULL);
	json_object_object_add(o, "released_bytes", json_object_new_uint64(bi.released_bytes));
	json_object_object_add(o, "reported_bytes", json_object_new_uint64(bi.reported_bytes));
	json_object_object_add(o, "bad_pfns", json_object_new_uint64(bi.bad_pfns));
	return o;
}

/* 409 without a balloon device. */
static bool vm_ctl_no_balloon(struct vm *vm, struct ctl_request *req)
{
	if (vm->balloon)
		return false;
	ctl_fail(req, 409, "the VM has no balloon device: start kite with --balloon");
	return true;
}

static void vm_ctl_balloon_set(struct vm *vm, struct ctl_request *req)
{
	uint64_t pages = req->args.balloon.target_bytes / VIRTIO_BALLOON_PAGE;
	char a[32], b[32];

	if (req->args.balloon.target_bytes > vm->mem.total) {
		ctl_fail(req, 400, "target_bytes %s is more than the guest's memory (%s)",
			 fmt_size(req->args.balloon.target_bytes, a, sizeof(a)),
			 fmt_size(vm->mem.total, b, sizeof(b)));
		return;
	}
	if (pages > UINT32_MAX) {
		ctl_fail(req, 400, "target_bytes %s is more than a balloon holds (16 TiB)",
			 fmt_size(req->args.balloon.target_bytes, a, sizeof(a)));
		return;
	}
	if (vm_ctl_stopping(vm, req) || vm_ctl_no_balloon(vm, req))
		return;
	virtio_balloon_set_target(vm->balloon, (uint32_t)pages);
	ctl_reply(req, 200, balloon_json(vm->balloon, false));
}

/* The latest statistics, and a request for fresh ones (seen by the next GET). */
static void vm_ctl_balloon_get(struct vm *vm, struct ctl_request *req)
{
	if (vm_ctl_stopping(vm, req) || vm_ctl_no_balloon(vm, req))
		return;
	ctl_reply(req, 200, balloon_json(vm->balloon, !vm->paused));
}

/* Pauses (if running), writes the directory, resumes: see snapshot.h. */
static void vm_ctl_snapshot(struct vm *vm, struct ctl_request *req)
{
	char err[256];
	int ret;

	if (vm_ctl_stopping(vm, req))
		return;
	ret = vm_snapshot(vm, req->args.snapshot.dir, err, sizeof(err));
	if (ret == -ESHUTDOWN)
		ctl_fail(req, 409, "the VM is stopping");
	else if (ret)
		ctl_fail(req, ret == -EINVAL || ret == -ENOENT || ret == -EACCES || ret == -ENOTDIR ||
			 ret == -EEXIST || ret == -ENOSPC || ret == -EROFS ? 400 : 500, "%s",
			 err[0] ? err : strerror(-ret));
	else
		ctl_reply(req, 200, vm_status_json(vm));
}

static struct json_object *migrate_status_json(struct migration *m)
{
	static const char *const states[] = {
		[MIG_NONE] = "none", [MIG_ACTIVE] = "active", [MIG_COMPLETED] = "completed",
		[MIG_FAILED] = "failed", [MIG_CANCELLED] = "cancelled",
	};
	struct json_object *o = json_object_new_object();

	if (!m->started && m->state == MIG_NONE) {
		json_object_object_add(o, "state", json_object_new_string("none"));
		return o;
	}
	pthread_mutex_lock(&m->lock);
	json_object_object_add(o, "state", json_object_new_string(states[m->state]));
	json_object_object_add(o, "phase", json_object_new_string(m->phase ? m->phase : ""));
	json_object_object_add(o, "uri", json_object_new_string(m->uri));
	json_object_object_add(o, "max_downtime_ms", json_object_new_int64(m->max_downtime_ms));
	json_object_object_add(o, "iterations", json_object_new_int64(m->iterations));
	json_object_object_add(o, "bytes_sent", json_object_new_int64(m->bytes_sent));
	json_object_object_add(o, "pages_sent", json_object_new_int64(m->pages_sent));
	json_object_object_add(o, "remaining_bytes", json_object_new_int64(m->remaining_bytes));
	json_object_object_add(o, "bandwidth_bytes_per_s", json_object_new_int64(m->bandwidth));
	json_object_object_add(o, "dirty_bytes_per_s", json_object_new_int64(m->dirty_rate));
	json_object_object_add(o, "throttle_percent", json_object_new_int(m->throttle_pct));
	if (m->note[0])
		json_object_object_add(o, "note", json_object_new_string(m->note));
	if (m->state == MIG_COMPLETED) {
		json_object_object_add(o, "downtime_ms", json_object_new_int64(m->downtime_ms));
		json_object_object_add(o, "total_ms", json_object_new_int64(m->total_ms));
	}
	if (m->error[0])
		json_object_object_add(o, "error", json_object_new_string(m->error));
	pthread_mutex_unlock(&m->lock);
	return o;
}

static void vm_ctl_migrate(struct vm *vm, struct ctl_request *req)
{
	char err[256];
	int ret;

	if (vm_ctl_stopping(vm, req))
		return;
	ret = migrate_start(&vm->mig, vm, req->args.migrate.uri, req->args.migrate.max_downtime_ms,
			    err, sizeof(err));
	if (ret)
		ctl_fail(req, ret == -EBUSY ? 409 : ret == -EINVAL ? 400 : 500, "%s", err);
	else
		ctl_reply(req, 202, migrate_status_json(&vm->mig));
}

static void vm_ctl_migrate_get(struct vm *vm, struct ctl_request *req)
{
	ctl_reply(req, 200, migrate_status_json(&vm->mig));
}

static void vm_ctl_migrate_cancel(struct vm *vm, struct ctl_request *req)
{
	if (!vm->mig.started || __atomic_load_n(&vm->mig.state, __ATOMIC_ACQUIRE) != MIG_ACTIVE) {
		ctl_fail(req, 409, "no migration is running");
		return;
	}
	migrate_cancel(&vm->mig);
	ctl_reply(req, 202, migrate_status_json(&vm->mig));
}

static const vm_ctl_fn vm_ctl_ops[CTL_NR_OPS] = {
	[CTL_STATUS] = vm_ctl_status,
	[CTL_PAUSE] = vm_ctl_pause,
	[CTL_RESUME] = vm_ctl_resume,
	[CTL_SHUTDOWN] = vm_ctl_shutdown,
	[CTL_RESET] = vm_ctl_reset,
	[CTL_BALLOON_SET] = vm_ctl_balloon_set,
	[CTL_BALLOON_GET] = vm_ctl_balloon_get,
	[CTL_SNAPSHOT] = vm_ctl_snapshot,
	[CTL_MIGRATE] = vm_ctl_migrate,
	[CTL_MIGRATE_GET] = vm_ctl_migrate_get,
	[CTL_MIGRATE_CANCEL] = vm_ctl_migrate_cancel,
};

static void vm_ctl_handle(void *opaque, struct ctl_request *req)
{
	if ((unsigned int)req->op >= CTL_NR_OPS || !vm_ctl_ops[req->op]) {
		ctl_fail(req, 500, "internal error: no handler for operation %d", (int)req->op);
		return;
	}
	vm_ctl_ops[req->op](opaque, req);
}

int vm_ctl_attach(struct ctl_queue *q, struct vm *vm)
{
	return q ? ctl_attach(q, vm->ev, vm_ctl_handle, vm) : 0;
}

void vm_ctl_detach(struct ctl_queue *q)
{
	if (q)
		ctl_detach(q);
}
