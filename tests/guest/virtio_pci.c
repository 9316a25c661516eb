/*
 * virtio_pci.c - the virtio 1.x PCI transport, modern interface only
 * (VIRTIO 1.2 section 4.1): vendor-specific capabilities for the common,
 * notify, ISR and device configuration structures, the initialisation
 * sequence, queue setup, MSI-X.
 */
#include "kit.h"

/* virtio_pci_cap.cfg_type */
#define VIRTIO_PCI_CAP_COMMON_CFG	1
#define VIRTIO_PCI_CAP_NOTIFY_CFG	2
#define VIRTIO_PCI_CAP_ISR_CFG		3
#define VIRTIO_PCI_CAP_DEVICE_CFG	4

/* struct virtio_pci_common_cfg */
#define VCC_DEVICE_FEATURE_SELECT	0
#define VCC_DEVICE_FEATURE		4
#define VCC_DRIVER_FEATURE_SELECT	8
#define VCC_DRIVER_FEATURE		12
#define VCC_CONFIG_MSIX_VECTOR		16
#define VCC_NUM_QUEUES			18
#define VCC_DEVICE_STATUS		20
#define VCC_CONFIG_GENERATION		21
#define VCC_QUEUE_SELECT		22
#define VCC_QUEUE_SIZE			24
#define VCC_QUEUE_MSIX_VECTOR		26
#define VCC_QUEUE_ENABLE		28
#define VCC_QUEUE_NOTIFY_OFF		30
#define VCC_QUEUE_DESC			32
#define VCC_QUEUE_DRIVER		40
#define VCC_QUEUE_DEVICE		48

static const char *virtio_type_name(u16 type)
{
	switch (type) {
	case VIRTIO_ID_NET: return "net";
	case VIRTIO_ID_BLOCK: return "blk";
	case VIRTIO_ID_CONSOLE: return "console";
	case VIRTIO_ID_RNG: return "rng";
	default: return "?";
	}
}

static void vcc_write64(struct virtio_dev *v, u32 off, u64 val)
{
	mmio_write32(v->common + off, (u32)val);
	mmio_write32(v->common + off + 4, (u32)(val >> 32));
}

const char *virtio_pci_find(u16 type, u32 instance, struct virtio_dev *v)
{
	const char *why;
	u16 pos = 0;

	char how[8] = "";

	memset(v, 0, sizeof(*v));
	v->type = type;
	pci_ecam_init();
	if (cmdline_value("pcicfg", how, sizeof(how)) && !strcmp(how, "mcfg") && !pci_ecam_base)
		return "pcicfg=mcfg: no usable MCFG table (segment 0, below 4 GiB)";
	if (!pcidev_find(VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE(type), instance, &v->pci))
		return kit_reason("no virtio-%s PCI device (%04x:%04x) on bus 0 (config access "
				  "through %s)", virtio_type_name(type), VIRTIO_PCI_VENDOR,
				  VIRTIO_PCI_DEVICE(type), pci_ecam_base ? "ECAM" : "0xCF8");
	serial_printf("virtio: %s at %02x:%02x.%x (%04x:%04x class %06x), config via %s\n",
		      virtio_type_name(type), PCI_BDF_BUS(v->pci.bdf), PCI_BDF_DEV(v->pci.bdf),
		      PCI_BDF_FN(v->pci.bdf), v->pci.vendor, v->pci.device, v->pci.class_rev >> 8,
		      pci_ecam_base ? "ECAM" : "0xCF8/0xCFC");
	why = pcidev_enable(&v->pci);
	if (why)
		return why;
	while ((pos = pcidev_find_cap(&v->pci, PCI_CAP_ID_VNDR, pos)) != 0) {
		u32 bdf = v->pci.bdf;
		u8 cfg_type = pci_conf_read8(bdf, pos + 3), bar = pci_conf_read8(bdf, pos + 4);
		u32 off = pci_conf_read32(bdf, pos + 8), len = pci_conf_read32(bdf, pos + 12);
		u64 addr;

		if (cfg_type < VIRTIO_PCI_CAP_COMMON_CFG || cfg_type > VIRTIO_PCI_CAP_DEVICE_CFG)
			continue;	/* PCI cfg access, shared memory, vendor: unused */
		if (bar > 5 || v->pci.bar_io[bar] || !v->pci.bar[bar])
			return kit_reason("virtio capability type %u at %x names BAR%u, which is "
					  "not an assigned memory BAR", cfg_type, pos, bar);
		if ((u64)off + len > v->pci.bar_size[bar])
			return kit_reason("virtio capability type %u: [%x, +%x) is outside BAR%u "
					  "(%lx bytes)", cfg_type, off, len, bar,
					  v->pci.bar_size[bar]);
		addr = v->pci.bar[bar] + off;
		serial_printf("virtio:   cap type %u: BAR%u + %x, %x bytes\n", cfg_type, bar, off,
			      len);
		/* the first capability of each type is the one to use */
		switch (cfg_type) {
		case VIRTIO_PCI_CAP_COMMON_CFG:
			if (!v->common) {
				if (len < 56)
					return kit_reason("common configuration only %u bytes", len);
				v->common = addr;
			}
			break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			if (!v->notify) {
				v->notify = addr;
				v->notify_mult = pci_conf_read32(bdf, pos + 16);
			}
			break;
		case VIRTIO_PCI_CAP_ISR_CFG:
			if (!v->isr)
				v->isr = addr;
			break;
		case VIRTIO_PCI_CAP_DEVICE_CFG:
			if (!v->devcfg) {
				v->devcfg = addr;
				v->devcfg_len = len;
			}
			break;
		}
	}
	if (!v->common || !v->notify || !v->isr)
		return kit_reason("missing virtio capabilities: common %s, notify %s, ISR %s",
				  v->common ? "ok" : "none", v->notify ? "ok" : "none",
				  v->isr ? "ok" : "none");
	if (type != VIRTIO_ID_RNG && !v->devcfg)
		return "no device configuration capability";
	pos = pcidev_find_cap(&v->pci, PCI_CAP_ID_MSIX, 0);
	if (pos) {
		u16 ctrl = pci_conf_read16(v->pci.bdf, pos + 2);
		u32 table = pci_conf_read32(v->pci.bdf, pos + 4);
		u8 bir = table & 7;

		v->msix_cap = pos;
		v->msix_count = (ctrl & 0x7FF) + 1;
		if (bir > 5 || !v->pci.bar[bir])
			return kit_reason("MSI-X table in BAR%u, which is not assigned", bir);
		v->msix_table = v->pci.bar[bir] + (table & ~7u);
		serial_printf("virtio:   MSI-X: %u vectors, table at BAR%u + %x\n", v->msix_count,
			      bir, table & ~7u);
	}
	serial_printf("virtio:   notify multiplier %u, %u queue(s)\n", v->notify_mult,
		      mmio_read16(v->common + VCC_NUM_QUEUES));
	return NULL;
}

u8 virtio_status(struct virtio_dev *v)
{
	return mmio_read8(v->common + VCC_DEVICE_STATUS);
}

static void virtio_set_status(struct virtio_dev *v, u8 bits)
{
	mmio_write8(v->common + VCC_DEVICE_STATUS, virtio_status(v) | bits);
}

void virtio_reset(struct virtio_dev *v)
{
	u64 end = tsc_deadline_us(1000000);

	mmio_write8(v->common + VCC_DEVICE_STATUS, 0);
	while (virtio_status(v) != 0 && !tsc_passed(end))
		cpu_pause();
}

const char *virtio_negotiate(struct virtio_dev *v, u64 want, u64 need)
{
	u32 lo, hi;

	virtio_reset(v);
	if (virtio_status(v) != 0)
		return kit_reason("device status %x after reset, expected 0", virtio_status(v));
	virtio_set_status(v, VIRTIO_STATUS_ACKNOWLEDGE);
	virtio_set_status(v, VIRTIO_STATUS_DRIVER);
	mmio_write32(v->common + VCC_DEVICE_FEATURE_SELECT, 0);
	lo = mmio_read32(v->common + VCC_DEVICE_FEATURE);
	mmio_write32(v->common + VCC_DEVICE_FEATURE_SELECT, 1);
	hi = mmio_read32(v->common + VCC_DEVICE_FEATURE);
	v->offered = (u64)hi << 32 | lo;
	serial_printf("virtio:   device features %lx: %s\n", v->offered,
		      virtio_feature_names(v->type, v->offered));
	need |= VIRTIO_F_VERSION_1;
	if ((v->offered & need) != need)
		return kit_reason("device does not offer features %lx (%s); offers %lx",
				  need & ~v->offered, virtio_feature_names(v->type, need & ~v->offered),
				  v->offered);
	v->features = v->offered & (want | need);
	mmio_write32(v->common + VCC_DRIVER_FEATURE_SELECT, 0);
	mmio_write32(v->common + VCC_DRIVER_FEATURE, (u32)v->features);
	mmio_write32(v->common + VCC_DRIVER_FEATURE_SELECT, 1);
	mmio_write32(v->common + VCC_DRIVER_FEATURE, (u32)(v->features >> 32));
	virtio_set_status(v, VIRTIO_STATUS_FEATURES_OK);
	if (!(virtio_status(v) & VIRTIO_STATUS_FEATURES_OK))
		return kit_reason("device cleared FEATURES_OK for features %lx (status %x)",
				  v->features, virtio_status(v));
	serial_printf("virtio:   driver features %lx: %s\n", v->features,
		      virtio_feature_names(v->type, v->features));
	mmio_write16(v->common + VCC_CONFIG_MSIX_VECTOR, VIRTIO_NO_VECTOR);
	v->num_queues = mmio_read16(v->common + VCC_NUM_QUEUES);
	return NULL;
}

const char *virtio_queue_setup(struct virtio_dev *v, struct virtq *q, u16 index, u16 max_size,
			       u16 msix_vector)
{
	u16 size, off, got;

	if (index >= v->num_queues)
		return kit_reason("queue %u requested, device has %u", index, v->num_queues);
	mmio_write16(v->common + VCC_QUEUE_SELECT, index);
	size = mmio_read16(v->common + VCC_QUEUE_SIZE);
	if (!size)
		return kit_reason("queue %u: size 0 (not available)", index);
	if (mmio_read16(v->common + VCC_QUEUE_ENABLE))
		return kit_reason("queue %u already enabled after reset", index);
	if (size > max_size)
		size = max_size;
	if (size > VIRTQ_MAX_SIZE)
		size = VIRTQ_MAX_SIZE;
	if (!virtq_init(q, index, size, v->features & VIRTIO_F_EVENT_IDX,
			v->features & VIRTIO_F_INDIRECT_DESC))
		return "out of DMA memory for the rings";
	virtq_irq(q, false);
	off = mmio_read16(v->common + VCC_QUEUE_NOTIFY_OFF);
	q->notify_addr = v->notify + (u64)off * v->notify_mult;
	mmio_write16(v->common + VCC_QUEUE_SIZE, size);
	vcc_write64(v, VCC_QUEUE_DESC, (u64)(uintptr_t)q->desc);
	vcc_write64(v, VCC_QUEUE_DRIVER, (u64)(uintptr_t)q->avail);
	vcc_write64(v, VCC_QUEUE_DEVICE, (u64)(uintptr_t)q->used);
	mmio_write16(v->common + VCC_QUEUE_MSIX_VECTOR, msix_vector);
	got = mmio_read16(v->common + VCC_QUEUE_MSIX_VECTOR);
	if (got != msix_vector)
		return kit_reason("queue %u: MSI-X vector %x reads back as %x", index, msix_vector,
				  got);
	mmio_write16(v->common + VCC_QUEUE_ENABLE, 1);
	if (mmio_read16(v->common + VCC_QUEUE_ENABLE) != 1)
		return kit_reason("queue %u: queue_enable does not read back 1", index);
	serial_printf("virtio:   queue %u: %u entries, notify at %lx\n", index, size,
		      q->notify_addr);
	return NULL;
}

void virtio_driver_ok(struct virtio_dev *v)
{
	virtio_set_status(v, VIRTIO_STATUS_DRIVER_OK);
}

u8 virtio_cfg_read8(struct virtio_dev *v, u32 off)
{
	return mmio_read8(v->devcfg + off);
}

u16 virtio_cfg_read16(struct virtio_dev *v, u32 off)
{
	return mmio_read16(v->devcfg + off);
}

u32 virtio_cfg_read32(struct virtio_dev *v, u32 off)
{
	return mmio_read32(v->devcfg + off);
}

/* 64-bit fields: two 32-bit reads, retried until config_generation is stable */
u64 virtio_cfg_read64(struct virtio_dev *v, u32 off)
{
	u8 gen;
	u64 val;
	int tries = 10;

	do {
		gen = mmio_read8(v->common + VCC_CONFIG_GENERATION);
		val = mmio_read32(v->devcfg + off) |
		      (u64)mmio_read32(v->devcfg + off + 4) << 32;
	} while (gen != mmio_read8(v->common + VCC_CONFIG_GENERATION) && --tries);
	return val;
}

const char *virtio_msix_route(struct virtio_dev *v, u16 entry, u8 vector)
{
	u64 e;
	u16 ctrl;

	if (!v->msix_cap)
		return "the device has no MSI-X capability";
	if (entry >= v->msix_count)
		return kit_reason("MSI-X entry %u, the table has %u", entry, v->msix_count);
	if (lapic_id() > 255)
		return "APIC ID above 255: needs x2APIC MSI routing";
	e = v->msix_table + 16ULL * entry;
	mmio_write32(e + 0, 0xFEE00000u | lapic_id() << 12);	/* physical, fixed */
	mmio_write32(e + 4, 0);
	mmio_write32(e + 8, vector);				/* edge, fixed */
	mmio_write32(e + 12, 0);				/* unmasked */
	ctrl = pci_conf_read16(v->pci.bdf, v->msix_cap + 2);
	ctrl = (ctrl | 0x8000) & ~0x4000;			/* enable, no function mask */
	pci_conf_write16(v->pci.bdf, v->msix_cap + 2, ctrl);
	if (!(pci_conf_read16(v->pci.bdf, v->msix_cap + 2) & 0x8000))
		return "MSI-X enable bit does not stick";
	return NULL;
}

void virtio_msix_off(struct virtio_dev *v)
{
	if (v->msix_cap)
		pci_conf_write16(v->pci.bdf, v->msix_cap + 2,
				 pci_conf_read16(v->pci.bdf, v->msix_cap + 2) & ~0x8000);
}

const char *virtio_feature_names(u16 type, u64 f)
{
	static char buf[320];
	static const struct { u16 type; u8 bit; const char *name; } names[] = {
		{ 0, 28, "INDIRECT_DESC" }, { 0, 29, "EVENT_IDX" }, { 0, 32, "VERSION_1" },
		{ 0, 33, "ACCESS_PLATFORM" }, { 0, 34, "RING_PACKED" }, { 0, 35, "IN_ORDER" },
		{ 0, 36, "ORDER_PLATFORM" }, { 0, 37, "SR_IOV" }, { 0, 38, "NOTIFICATION_DATA" },
		{ 0, 40, "RING_RESET" },
		{ VIRTIO_ID_BLOCK, 1, "SIZE_MAX" }, { VIRTIO_ID_BLOCK, 2, "SEG_MAX" },
		{ VIRTIO_ID_BLOCK, 4, "GEOMETRY" }, { VIRTIO_ID_BLOCK, 5, "RO" },
		{ VIRTIO_ID_BLOCK, 6, "BLK_SIZE" }, { VIRTIO_ID_BLOCK, 9, "FLUSH" },
		{ VIRTIO_ID_BLOCK, 10, "TOPOLOGY" }, { VIRTIO_ID_BLOCK, 11, "CONFIG_WCE" },
		{ VIRTIO_ID_BLOCK, 12, "MQ" }, { VIRTIO_ID_BLOCK, 13, "DISCARD" },
		{ VIRTIO_ID_BLOCK, 14, "WRITE_ZEROES" }, { VIRTIO_ID_BLOCK, 15, "LIFETIME" },
		{ VIRTIO_ID_BLOCK, 16, "SECURE_ERASE" },
		{ VIRTIO_ID_NET, 0, "CSUM" }, { VIRTIO_ID_NET, 1, "GUEST_CSUM" },
		{ VIRTIO_ID_NET, 3, "MTU" }, { VIRTIO_ID_NET, 5, "MAC" },
		{ VIRTIO_ID_NET, 7, "GUEST_TSO4" }, { VIRTIO_ID_NET, 11, "HOST_TSO4" },
		{ VIRTIO_ID_NET, 15, "MRG_RXBUF" }, { VIRTIO_ID_NET, 16, "STATUS" },
		{ VIRTIO_ID_NET, 17, "CTRL_VQ" }, { VIRTIO_ID_NET, 22, "MQ" },
		{ VIRTIO_ID_CONSOLE, 0, "SIZE" }, { VIRTIO_ID_CONSOLE, 1, "MULTIPORT" },
		{ VIRTIO_ID_CONSOLE, 2, "EMERG_WRITE" },
	};
	u32 n = 0;

	buf[0] = '\0';
	for (u32 i = 0; i < KIT_ARRAY_SIZE(names); i++) {
		if ((names[i].type && names[i].type != type) || !(f & (1ULL << names[i].bit)))
			continue;
		n += fmt_snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? " " : "", names[i].name);
		if (n >= sizeof(buf) - 1)
			break;
	}
	return buf;
}
