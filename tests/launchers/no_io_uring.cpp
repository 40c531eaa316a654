// evs_no_io_uring: runs a program as if the kernel had no io_uring. Installs a
// seccomp filter that makes io_uring_setup fail with ENOSYS (what a kernel built
// without io_uring, or a container's seccomp profile, answers), then execs argv[1]
// with the rest of the arguments. The filter is inherited by every process the
// program forks: an evserve master and its workers. Used by the integration tests
// of the io_uring fallback; nothing in the server knows about it.
//
// Usage: evs_no_io_uring PROGRAM [ARG...]. Single-threaded, exits 127 on failure.

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>

namespace {

#if defined(__x86_64__)
constexpr unsigned k_arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr unsigned k_arch = AUDIT_ARCH_AARCH64;
#else
#error "evs_no_io_uring: unknown architecture"
#endif

bool install_filter() {
    // Another architecture's system calls (x86's int 0x80) are let through: the
    // server is not built for them. io_uring_setup fails; everything else runs.
    sock_filter program[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k_arch, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog fprog{static_cast<unsigned short>(sizeof(program) / sizeof(program[0])), program};
    // Required to install a filter without CAP_SYS_ADMIN; it also keeps set-user-id
    // programs from gaining privileges, which evserve never execs.
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        std::fprintf(stderr, "evs_no_io_uring: prctl(PR_SET_NO_NEW_PRIVS): %s\n",
                     std::strerror(errno));
        return false;
    }
    if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0) {
        std::fprintf(stderr, "evs_no_io_uring: prctl(PR_SET_SECCOMP): %s\n", std::strerror(errno));
        return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: evs_no_io_uring PROGRAM [ARG...]\n");
        return 127;
    }
    if (!install_filter()) {
        return 127;
    }
    ::execv(argv[1], argv + 1);
    std::fprintf(stderr, "evs_no_io_uring: execv(%s): %s\n", argv[1], std::strerror(errno));
    return 127;
}
