// SPDX-License-Identifier: GPL-2.0-only
/* MSI-X capability, vector table and pending bits. */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "pci/msix.h"

static uint16_t msix_ctrl(const struct msix *m)
{
	/* Written by config writes under the PCI host lock; read here without it. */
	uint8_t lo = __atomic_load_n(&m->pdev->cfg[m->cap + 2], __ATOMIC_RELAXED);
	uint8_t hi = __atomic_load_n(&m->pdev->cfg[m->cap + 3], __ATOMIC_RELAXED);

	return lo | hi << 8;
}

bool msix_enabled(const struct msix *m)
{
	return msix_ctrl(m) & MSIX_CTRL_ENABLE;
}

static bool msix_active(const struct msix *m, const struct msix_vec *v)
{
	return (msix_ctrl(m) & (MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK)) == MSIX_CTRL_ENABLE &&
	       !(v->ctrl & MSIX_VEC_MASKED);
}

static void msix_fire(struct msix_vec *v)
{
	uint64_t one = 1;

	if (write(v->efd, &one, sizeof(one)) < 0)
		pr_debug("msix: eventfd write: %m");
}

/* Bring vector i's route up to date and deliver a pending message; lock held. */
static void msix_update(struct msix *m, unsigned int i)
{
	struct msix_vec *v = &m->vec[i];
	uint64_t addr = v->addr_lo | (uint64_t)v->addr_hi << 32;
	int ret;

	if (!msix_active(m, v))
		return;
	if (!v->routed || v->r_addr != addr || v->r_data != v->data) {
		ret = m->router.route(m->router.ctx, &v->gsi, addr, v->data, v->efd);
		if (ret) {
			pr_warn("%s: cannot route MSI-X vector %u: %s", m->pdev->name, i,
				strerror(-ret));
			v->routed = false;
			return;
		}
		v->routed = true;
		v->r_addr = addr;
		v->r_data = v->data;
	}
	if (m->pba[i / 64] & (1ULL << (i % 64))) {
		m->pba[i / 64] &= ~(1ULL << (i % 64));
		msix_fire(v);
	}
}

int msix_init(struct msix *m, struct pci_dev *d, unsigned int nr, unsigned int bar,
	      uint32_t table_off, uint32_t pba_off, struct msi_router router)
{
	int cap;

	memset(m, 0, sizeof(*m));
	if (!nr || nr > MSIX_MAX_VECTORS || bar >= PCI_NUM_BARS || (table_off & 7) ||
	    (pba_off & 7))
		return -EINVAL;
	cap = pci_dev_add_cap(d, PCI_CAP_ID_MSIX, 12);
	if (cap < 0)
		return cap;
	m->pdev = d;
	m->cap = cap;
	m->nr = nr;
	m->router = router;
	pci_set16(d, cap + 2, nr - 1);
	d->wmask[cap + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK) >> 8;
	pci_set32(d, cap + 4, table_off | bar);
	pci_set32(d, cap + 8, pba_off | bar);
	for (unsigned int i = 0; i < nr; i++) {
		m->vec[i].ctrl = MSIX_VEC_MASKED;
		m->vec[i].gsi = -1;
		m->vec[i].efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (m->vec[i].efd < 0) {
			int ret = -errno;

			while (i--)
				close(m->vec[i].efd);
			return ret;
		}
	}
	pthread_mutex_init(&m->lock, NULL);
	return 0;
}

void msix_destroy(struct msix *m)
{
	for (unsigned int i = 0; i < m->nr; i++) {
		if (m->vec[i].gsi >= 0 && m->router.release)
			m->router.release(m->router.ctx, m->vec[i].gsi, m->vec[i].efd);
		close(m->vec[i].efd);
	}
	if (m->nr)
		pthread_mutex_destroy(&m->lock);
	m->nr = 0;
}

static uint32_t *msix_field(struct msix *m, uint64_t off)
{
	struct msix_vec *v = &m->vec[off / MSIX_ENTRY_SIZE];

	switch (off % MSIX_ENTRY_SIZE / 4) {
	case 0: return &v->addr_lo;
	case 1: return &v->addr_hi;
	case 2: return &v->data;
	default: return &v->ctrl;
	}
}

uint64_t msix_table_read(struct msix *m, uint64_t off, unsigned int size)
{
	uint64_t v;

	if (size == 8)
		return msix_table_read(m, off, 4) | msix_table_read(m, off + 4, 4) << 32;
	if (size != 4 || (off & 3) || off >= (uint64_t)m->nr * MSIX_ENTRY_SIZE)
		return 0;
	pthread_mutex_lock(&m->lock);
	v = *msix_field(m, off);
	pthread_mutex_unlock(&m->lock);
	return v;
}

void msix_table_write(struct msix *m, uint64_t off, unsigned int size, uint64_t val)
{
	uint32_t *f;

	if (size == 8) {
		msix_table_write(m, off, 4, (uint32_t)val);
		msix_table_write(m, off + 4, 4, val >> 32);
		return;
	}
	if (size != 4 || (off & 3) || off >= (uint64_t)m->nr * MSIX_ENTRY_SIZE)
		return;
	pthread_mutex_lock(&m->lock);
	f = msix_field(m, off);
	*f = (off % MSIX_ENTRY_SIZE == 12) ? (val & MSIX_VEC_MASKED) : (uint32_t)val;
	msix_update(m, off / MSIX_ENTRY_SIZE);
	pthread_mutex_unlock(&m->lock);
}

uint64_t msix_pba_read(struct msix *m, uint64_t off, unsigned int size)
{
	uint64_t v;

	if ((size != 4 && size != 8) || (off & (size - 1)) ||
	    off >= (m->nr + 63) / 64 * 8 || size > (m->nr + 63) / 64 * 8 - off)
		return 0;
	pthread_mutex_lock(&m->lock);
	v = m->pba[off / 8];
	pthread_mutex_unlock(&m->lock);
	if (size == 4)
		v = (uint32_t)(v >> (8 * (off & 4)));
	return v;
}

void msix_config_written(struct msix *m, uint32_t off, unsigned int size)
{
	if (off > m->cap + 3 || off + size <= m->cap + 2)
		return;
	pthread_mutex_lock(&m->lock);
	for (unsigned int i = 0; i < m->nr; i++)
		msix_update(m, i);
	pthread_mutex_unlock(&m->lock);
}

int msix_notify(struct msix *m, unsigned int i)
{
	struct msix_vec *v;

	if (i >= m->nr)
		return -EINVAL;
	v = &m->vec[i];
	pthread_mutex_lock(&m->lock);
	if (msix_active(m, v) && v->routed)
		msix_fire(v);
	else
		m->pba[i / 64] |= 1ULL << (i % 64);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

void msix_reset(struct msix *m)
{
	pthread_mutex_lock(&m->lock);
	for (unsigned int i = 0; i < m->nr; i++) {
		m->vec[i].addr_lo = m->vec[i].addr_hi = m->vec[i].data = 0;
		m->vec[i].ctrl = MSIX_VEC_MASKED;
	}
	memset(m->pba, 0, sizeof(m->pba));
	m->pdev->cfg[m->cap + 3] &= ~((MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK) >> 8);
	pthread_mutex_unlock(&m->lock);
}

void msix_save(struct msix *m, struct msix_state *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&m->lock);
	s->nr = m->nr;
	for (unsigned int i = 0; i < m->nr; i++) {
		s->vec[i].addr_lo = m->vec[i].addr_lo;
		s->vec[i].addr_hi = m->vec[i].addr_hi;
		s->vec[i].data = m->vec[i].data;
		s->vec[i].ctrl = m->vec[i].ctrl;
	}
	memcpy(s->pba, m->pba, sizeof(s->pba));
	pthread_mutex_unlock(&m->lock);
}

int msix_restore(struct msix *m, const struct msix_state *s)
{
	if (s->nr != m->nr || s->reserved)
		return -EINVAL;
	for (unsigned int i = 0; i < MSIX_MAX_VECTORS; i++) {
		if (i < m->nr ? (s->vec[i].ctrl & ~MSIX_VEC_MASKED) :
		    (s->vec[i].addr_lo | s->vec[i].addr_hi | s->vec[i].data | s->vec[i].ctrl))
			return -EINVAL;
		if (i >= m->nr && (s->pba[i / 64] & (1ULL << (i % 64))))
			return -EINVAL;
	}
	pthread_mutex_lock(&m->lock);
	for (unsigned int i = 0; i < m->nr; i++) {
		m->vec[i].addr_lo = s->vec[i].addr_lo;
		m->vec[i].addr_hi = s->vec[i].addr_hi;
		m->vec[i].data = s->vec[i].data;
		m->vec[i].ctrl = s->vec[i].ctrl;
		m->vec[i].routed = false;
	}
	memcpy(m->pba, s->pba, sizeof(m->pba));
	for (unsigned int i = 0; i < m->nr; i++)
		msix_update(m, i);
	pthread_mutex_unlock(&m->lock);
	return 0;
}
