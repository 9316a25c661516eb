/*
 * cpu.h - inline CPU helpers (included by kit.h).
 */
#ifndef KIT_CPU_H
#define KIT_CPU_H

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u16 inw(u16 port) { u16 v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline u8 mmio_read8(u64 a) { return *(volatile u8 *)(uintptr_t)a; }
static inline u16 mmio_read16(u64 a) { return *(volatile u16 *)(uintptr_t)a; }
static inline u32 mmio_read32(u64 a) { return *(volatile u32 *)(uintptr_t)a; }
static inline u64 mmio_read64(u64 a) { return *(volatile u64 *)(uintptr_t)a; }
static inline void mmio_write8(u64 a, u8 v) { *(volatile u8 *)(uintptr_t)a = v; }
static inline void mmio_write16(u64 a, u16 v) { *(volatile u16 *)(uintptr_t)a = v; }
static inline void mmio_write32(u64 a, u32 v) { *(volatile u32 *)(uintptr_t)a = v; }
static inline void mmio_write64(u64 a, u64 v) { *(volatile u64 *)(uintptr_t)a = v; }

static inline void cpu_cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void cpu_sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void cpu_hlt(void) { __asm__ volatile("hlt" ::: "memory"); }
static inline void cpu_pause(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void cpu_barrier(void) { __asm__ volatile("" ::: "memory"); }

static inline u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static inline void wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)));
}

static inline void cpuid(u32 leaf, u32 sub, u32 *a, u32 *b, u32 *c, u32 *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

static inline u64 read_cr2(void) { u64 v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline u64 read_cr3(void) { u64 v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline void write_cr3(u64 v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }

/*
 * Time bounds use the TSC assuming it runs at no more than TSC_MAX_MHZ, so
 * a wait of N microseconds lasts at least N microseconds (longer on slower
 * TSCs).  Good enough for timeouts and INIT/SIPI delays.
 */
#define TSC_MAX_MHZ	4000ULL
static inline u64 tsc_deadline_us(u64 us) { return rdtsc() + us * TSC_MAX_MHZ; }
static inline bool tsc_passed(u64 deadline) { return (s64)(rdtsc() - deadline) >= 0; }
static inline void tsc_delay_us(u64 us)
{
	u64 end = tsc_deadline_us(us);
	while (!tsc_passed(end))
		cpu_pause();
}

#endif
