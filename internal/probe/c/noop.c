/*
 * noop: the smallest useful static program. It calls exit_group(0) and
 * nothing else, so a seccomp filter that allows only execve and exit_group
 * can run it, and benchmarks measure process creation rather than startup.
 *
 * Build: cc -static -nostdlib -O2 -fno-stack-protector -o noop noop.c
 */
#if !defined(__x86_64__)
#error "noop.c supports only amd64"
#endif

void _start(void) __attribute__((noreturn));

void _start(void)
{
	/* exit_group(0): rax = 231 (__NR_exit_group), rdi = 0. */
	__asm__ volatile("mov $231, %%eax\n\t"
			 "xor %%edi, %%edi\n\t"
			 "syscall"
			 : : : "rax", "rdi", "rcx", "r11", "memory");
	__builtin_unreachable();
}
