// probe - a small static program the tests run inside containers.
//
// It reports what the container sees, one fact per command, in a format easy
// to compare from outside, and it does the nasty things limits must stop.
// Static, so it runs in any root filesystem (copied in as /probe).
//
//   probe pid              our PID as we see it
//   probe pids             the PIDs in /proc, space-separated
//   probe ns               "TYPE INODE" for each /proc/self/ns entry
//   probe hostname         the UTS hostname
//   probe fds              our open file descriptors, space-separated
//   probe cgroup           /proc/self/cgroup
//   probe lo               "up" or "down": the loopback device's state
//   probe memhog MIB       allocate and touch MIB mebibytes, then say "ok"
//   probe forkbomb N       try to have N processes; print how many we got
//   probe spin SECONDS     burn CPU for SECONDS of wall time
//   probe sleep SECONDS    sleep (with a handler for SIGTERM: exit 143)
//   probe chroot-escape F  try the classic chroot break-out and read F
#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::vector<std::string> list_dir(const char* path) {
    std::vector<std::string> names;
    DIR* d = opendir(path);
    if (d == nullptr) {
        return names;
    }
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] != '.') {
            names.emplace_back(e->d_name);
        }
    }
    closedir(d);
    return names;
}

void print_numbers(std::vector<long> v) {
    std::sort(v.begin(), v.end());
    for (size_t i = 0; i < v.size(); ++i) {
        std::printf("%s%ld", i ? " " : "", v[i]);
    }
    std::printf("\n");
}

int cat(const char* path) {
    FILE* f = std::fopen(path, "r");
    if (f == nullptr) {
        std::perror(path);
        return 1;
    }
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
        std::fwrite(buf, 1, n, stdout);
    }
    std::fclose(f);
    return 0;
}

double now() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

int cmd_pids() {
    std::vector<long> pids;
    for (const std::string& name : list_dir("/proc")) {
        if (name.find_first_not_of("0123456789") == std::string::npos) {
            pids.push_back(std::stol(name));
        }
    }
    print_numbers(pids);
    return 0;
}

int cmd_ns() {
    std::vector<std::string> types = list_dir("/proc/self/ns");
    std::sort(types.begin(), types.end());
    for (const std::string& type : types) {
        struct stat st {};
        if (stat(("/proc/self/ns/" + type).c_str(), &st) == 0) {
            std::printf("%s %lu\n", type.c_str(), static_cast<unsigned long>(st.st_ino));
        }
    }
    return 0;
}

int cmd_fds() {
    // Open the directory first, then leave its own descriptor out.
    DIR* d = opendir("/proc/self/fd");
    if (d == nullptr) {
        std::perror("/proc/self/fd");
        return 1;
    }
    std::vector<long> fds;
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] != '.' && std::atol(e->d_name) != dirfd(d)) {
            fds.push_back(std::atol(e->d_name));
        }
    }
    closedir(d);
    print_numbers(fds);
    return 0;
}

int cmd_lo() {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    ifreq req{};
    std::strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &req) != 0) {
        std::perror("SIOCGIFFLAGS lo");
        return 1;
    }
    std::printf("%s\n", (req.ifr_flags & IFF_UP) ? "up" : "down");
    return 0;
}

int cmd_memhog(long mib) {
    const long chunk = 1 << 20;
    for (long i = 0; i < mib; ++i) {
        char* p = static_cast<char*>(std::malloc(chunk));
        if (p == nullptr) {
            std::printf("malloc failed after %ld MiB\n", i);
            return 1;
        }
        std::memset(p, 1, chunk);  // touch every page: only touched pages count
    }
    std::printf("ok\n");
    return 0;
}

int cmd_forkbomb(long wanted) {
    std::vector<pid_t> children;
    for (long i = 1; i < wanted; ++i) {
        pid_t pid = fork();
        if (pid < 0) {
            break;  // EAGAIN: the pids limit (or the kernel's) said no
        }
        if (pid == 0) {
            pause();
            _exit(0);
        }
        children.push_back(pid);
    }
    std::printf("%ld\n", static_cast<long>(children.size()) + 1);  // with ourselves
    std::fflush(stdout);
    for (pid_t pid : children) {
        kill(pid, SIGKILL);
    }
    while (wait(nullptr) > 0) {
    }
    return 0;
}

int cmd_spin(double seconds) {
    double end = now() + seconds;
    volatile unsigned long x = 0;
    while (now() < end) {
        for (int i = 0; i < 100000; ++i) {
            x = x + 1;
        }
    }
    return 0;
}

void on_term(int) { _exit(143); }

int cmd_sleep(double seconds) {
    signal(SIGTERM, on_term);  // PID 1 needs a handler to be stoppable
    timespec ts{static_cast<time_t>(seconds), static_cast<long>((seconds - static_cast<long>(seconds)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return 0;
}

// The classic escape: chroot() into a subdirectory without chdir() into it
// leaves our working directory outside the new root, and ".." from there
// walks up to the real root.
int cmd_chroot_escape(const char* file) {
    mkdir("/.escape", 0700);
    if (chroot("/.escape") != 0) {
        std::perror("chroot(/.escape)");
        return 2;
    }
    for (int i = 0; i < 64; ++i) {
        if (chdir("..") != 0) {
            break;
        }
    }
    if (chroot(".") != 0) {
        std::perror("chroot(.)");
        return 2;
    }
    return cat(file) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(
            stderr,
            "usage: probe pid|pids|ns|hostname|fds|cgroup|lo|memhog N|forkbomb N|spin S|sleep S|chroot-escape F\n");
        return 2;
    }
    std::string cmd = argv[1];
    const char* arg = argc > 2 ? argv[2] : "0";
    if (cmd == "pid") {
        std::printf("%d\n", getpid());
        return 0;
    }
    if (cmd == "pids")
        return cmd_pids();
    if (cmd == "ns")
        return cmd_ns();
    if (cmd == "hostname") {
        char name[256] = {};
        gethostname(name, sizeof name - 1);
        std::printf("%s\n", name);
        return 0;
    }
    if (cmd == "fds")
        return cmd_fds();
    if (cmd == "cgroup")
        return cat("/proc/self/cgroup");
    if (cmd == "lo")
        return cmd_lo();
    if (cmd == "memhog")
        return cmd_memhog(std::atol(arg));
    if (cmd == "forkbomb")
        return cmd_forkbomb(std::atol(arg));
    if (cmd == "spin")
        return cmd_spin(std::atof(arg));
    if (cmd == "sleep")
        return cmd_sleep(std::atof(arg));
    if (cmd == "chroot-escape")
        return cmd_chroot_escape(arg);
    std::fprintf(stderr, "probe: unknown command %s\n", cmd.c_str());
    return 2;
}
