// overlay_floor.c - the least that a container start costs with what
// minidocker promises, and nothing of a runtime: the kernel calls alone.
//
//   cc -O2 -o overlay_floor overlay_floor.c
//   overlay_floor LAYER DIR     # as root, on cgroup v1 (exit 3 without)
//
// LAYER is an image's layer (busybox's: it has /bin/true, /proc, /etc).
// DIR is a scratch folder on the disk where the store lives. One start:
//
//   host:  a container folder: init/etc/{hostname,hosts,resolv.conf},
//          upper/, work/, merged/, config.json, state.json
//          cgroup v1 minidocker/floor-PID in memory, cpu and pids, limits
//          clone(NEWNS|NEWUTS|NEWIPC|NEWPID|NEWNET)
//   child: write "0" to each tasks; unshare(NEWCGROUP); / rprivate;
//          the overlay (init layer over LAYER, volatile) on merged/;
//          pivot_root; the old root unmounted; /proc; exec /bin/true
//   host:  waitpid; the cgroups and the folder removed
//
// No /dev, /sys, masks, hostname, loopback, records rewritten, checks or
// messages: whatever a runtime adds comes on top of this. tests/bench/bench.sh
// runs it next to `minidocker run --rm`, crun and the namespaces-only floor.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char* const controllers[] = {"memory", "cpu", "pids"};
static char dir[1024], lower[1024];
static char cgroups[3][512];

static void die(const char* what) {
    fprintf(stderr, "overlay_floor: %s: %s\n", what, strerror(errno));
    exit(125);
}

static void write_file(const char* path, const char* text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) != 0) {
        die(path);
    }
}

static void make_dir(const char* path) {
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        die(path);
    }
}

static char* in(const char* base, const char* name) {
    static char buf[8][4096];
    static int next;
    char* out = buf[next++ % 8];
    snprintf(out, sizeof buf[0], "%s/%s", base, name);
    return out;
}

static int child(void* arg) {
    (void)arg;
    for (int i = 0; i < 3; ++i) {
        write_file(in(cgroups[i], "tasks"), "0");
    }
    if (unshare(CLONE_NEWCGROUP) != 0)
        die("unshare");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        die("mount / rprivate");
    char options[8192];
    snprintf(options, sizeof options, "lowerdir=%s/init:%s,upperdir=%s/upper,workdir=%s/work,volatile", dir, lower, dir,
             dir);
    if (mount("overlay", in(dir, "merged"), "overlay", 0, options) != 0)
        die("mount overlay");
    if (chdir(in(dir, "merged")) != 0)
        die("chdir");
    if (syscall(SYS_pivot_root, ".", ".") != 0)
        die("pivot_root");
    if (umount2(".", MNT_DETACH) != 0)
        die("umount2");
    if (chdir("/") != 0)
        die("chdir /");
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
        die("mount proc");
    execl("/bin/true", "true", (char*)NULL);
    die("execl /bin/true");
    return 125;
}

static int remove_one(const char* path, const struct stat* st, int flag, struct FTW* ftw) {
    (void)st, (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: overlay_floor LAYER DIR\n");
        return 2;
    }
    if (strlen(argv[1]) > 900 || strlen(argv[2]) > 900) {
        fprintf(stderr, "overlay_floor: paths of at most 900 bytes, please\n");
        return 2;
    }
    struct stat st;
    if (stat("/sys/fs/cgroup/memory/memory.limit_in_bytes", &st) != 0) {
        fprintf(stderr, "overlay_floor: speaks cgroup v1 only, and this host has no v1 memory controller\n");
        return 3;
    }
    snprintf(lower, sizeof lower, "%s", argv[1]);
    snprintf(dir, sizeof dir, "%s/floor-%d", argv[2], (int)getpid());

    make_dir(dir);
    const char* dirs[] = {"init", "init/etc", "upper", "work", "merged"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; ++i) {
        make_dir(in(dir, dirs[i]));
    }
    write_file(in(dir, "init/etc/hostname"), "floor\n");
    write_file(in(dir, "init/etc/hosts"), "127.0.0.1\tlocalhost\n127.0.1.1\tfloor\n");
    write_file(in(dir, "init/etc/resolv.conf"), "nameserver 192.0.2.1\n");
    write_file(in(dir, "config.json"), "{\"Cmd\": [\"true\"]}\n");
    write_file(in(dir, "state.json"), "{\"Status\": \"created\"}\n");

    const char* limits[][2] = {
        {"memory.limit_in_bytes", "67108864"}, {"cpu.cfs_quota_us", "100000"}, {"pids.max", "1024"}};
    for (int i = 0; i < 3; ++i) {
        char parent[256];
        snprintf(parent, sizeof parent, "/sys/fs/cgroup/%s/minidocker", controllers[i]);
        make_dir(parent);
        snprintf(cgroups[i], sizeof cgroups[i], "%s/floor-%d", parent, (int)getpid());
        make_dir(cgroups[i]);
        write_file(in(cgroups[i], limits[i][0]), limits[i][1]);
    }

    static char stack[256 * 1024];
    int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET | SIGCHLD;
    pid_t pid = clone(child, stack + sizeof stack, flags, NULL);
    if (pid < 0)
        die("clone");
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        die("waitpid");

    for (int i = 0; i < 3; ++i) {
        if (rmdir(cgroups[i]) != 0)
            die(cgroups[i]);
        char parent[256];
        snprintf(parent, sizeof parent, "/sys/fs/cgroup/%s/minidocker", controllers[i]);
        rmdir(parent);  // EBUSY while another container uses it: fine
    }
    if (nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        die(dir);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
