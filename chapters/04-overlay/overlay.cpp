// overlay.cpp - chapter 04: images, overlayfs and the init layer.
//
// The whole chapter in one sentence: stack the image's read-only layers
// under an init layer and a fresh read-write layer with one overlayfs mount,
// and make that the container's root; every write lands in the top layer,
// which is all that `diff` (and, in chapter 07, `commit`) has to read.
#include "overlay.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>
#include <algorithm>
#include <cerrno>
#include <memory>
#include <sstream>

#include "error.hpp"
#include "guard.hpp"
#include "layer.hpp"
#include "state.hpp"
#include "sys.hpp"
#include "trace.hpp"

namespace minidocker {

namespace {

// A plain write: the init layer is rebuilt for every container, so a crash
// halfway costs nothing worth an fsync().
void write_init_file(const std::string& dir, const std::string& path, const std::string& content, mode_t mode) {
    std::string full = dir + path;
    Fd fd = open_fd(full, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
        throw_errno(fmt::format("write(\"{}\")", full));
    }
    trace::step(fmt::format("init layer: {} ({} bytes)", path, content.size()));
}

void make_init_dir(const std::string& dir, const std::string& path) {
    sys::mkdir({dir + path, trace::quote("init" + path)}, 0755);
}

// Does the image show a directory at `path` ("/proc")? `layers` top first.
// The topmost layer with an entry there decides, as in the overlay: a
// directory shows through; a whiteout or a file hides what is below. An
// opaque root hides every layer below it.
bool image_has_dir(const std::vector<std::string>& layers, const std::string& path) {
    for (const std::string& layer : layers) {
        struct stat st {};
        if (::lstat((layer + path).c_str(), &st) == 0) {
            return S_ISDIR(st.st_mode);
        }
        if (is_opaque_dir(layer)) {
            return false;
        }
    }
    return false;
}

// The host's resolv.conf, without the servers that are the host's own
// loopback addresses: in the container, 127.0.0.1 is the container.
std::string container_resolv_conf(const std::string& host) {
    std::istringstream in(host);
    std::string out = "# the host's /etc/resolv.conf, without loopback name servers\n";
    for (std::string line; std::getline(in, line);) {
        bool loopback = line.rfind("nameserver 127.", 0) == 0 || line.rfind("nameserver ::1", 0) == 0;
        if (!loopback) {
            out += line + "\n";
        }
    }
    return out;
}

}  // namespace

//! [ch04-init-layer]
void write_init_layer(const std::string& dir, const std::string& hostname, const std::string& host_resolv_conf,
                      const std::vector<std::string>& image_layers) {
    // Mount points: chapters 01 and 03 mount /proc, /sys and /dev on them.
    // One the image lacks is made here, so it is never created in the
    // read-write layer. (Docker's list also has /dev/console, /dev/pts and
    // /dev/shm; under chapter 03's tmpfs on /dev nobody would see them.)
    // TODO(04.4): for each of /proc, /sys and /dev that the image lacks
    //   (!image_has_dir(image_layers, path), above), make the empty
    //   directory in the init layer with make_init_dir(dir, path). /etc is
    //   made on the next line already, for the files below. Why? The child
    //   mounts /proc (chapter 01), /dev and /sys (chapter 03) on these
    //   paths once the overlay is its "/". Chapter 03 creates a mount point
    //   the root lacks, and in an overlay a new directory is a write: it
    //   lands in upper/, where it looks like a change the container made
    //   (`diff` says "A /proc"). The busybox image has /proc, /sys and
    //   /dev, so it does not show; an image without them does:
    //   InitLayerProvidesMountPoints. Read overlayfs.rst ("Upper and
    //   Lower": a lower directory shows through until it is written to).
    //{ TODO(04.4)
    //| static_cast<void>(image_layers), static_cast<void>(image_has_dir);  // Delete: it only keeps -Werror quiet.
    for (const char* path : {"/proc", "/sys", "/dev"}) {
        if (!image_has_dir(image_layers, path)) {
            make_init_dir(dir, path);
        }
    }
    //} TODO(04.4)
    make_init_dir(dir, "/etc");
    // The files that must say who *this* container is. They sit above the
    // image's layers, so they hide the image's copies, and each container
    // has its own without changing the image.
    // TODO(04.3): write the container's own /etc/hostname and /etc/hosts,
    //   each mode 0644, with write_init_file() as /etc/resolv.conf below (it
    //   traces each write; a test reads the trace). /etc/hostname holds the
    //   hostname and a newline. /etc/hosts names the addresses, one per
    //   line, the names after a tab (man 5 hosts): 127.0.0.1 "localhost",
    //   ::1 "localhost ip6-localhost ip6-loopback", and 127.0.1.1 the
    //   hostname. The hostname is -h's, or the first 12 digits of the id.
    //   Mind what is not written: nothing goes into upper/. The container
    //   reads these files from a lower layer, so `diff` does not list them
    //   and the image stays as it was; a container that edits /etc/hosts
    //   gets a copy-up of it, as of any image file.
    //{ TODO(04.3)
    //| static_cast<void>(hostname);  // Delete this line: it only keeps -Werror quiet until you use hostname.
    write_init_file(dir, "/etc/hostname", hostname + "\n", 0644);
    write_init_file(
        dir, "/etc/hosts",
        fmt::format("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{}\n", hostname),
        0644);
    //} TODO(04.3)
    write_init_file(dir, "/etc/resolv.conf", container_resolv_conf(host_resolv_conf), 0644);
    sys::symlink("/proc/mounts", {dir + "/etc/mtab", "\"init/etc/mtab\""});
}
//! [ch04-init-layer]

//! [ch04-options]
std::string overlay_options(const std::vector<std::string>& lowers, const std::string& upper, const std::string& work,
                            bool volatile_upper) {
    std::string lowerdir;
    for (const std::string& layer : lowers) {
        lowerdir += (lowerdir.empty() ? "" : ":") + layer;
    }
    // redirect_dir, metacopy and index off: then a rename or a chmod in the
    // container copies whole files up, and upper/ is a plain diff of the
    // image that chapter 07 can commit as a layer.
    std::string options = fmt::format("lowerdir={},upperdir={},workdir={},redirect_dir=off,metacopy=off,index=off",
                                      lowerdir, upper, work);
    if (volatile_upper) {
        // The kernel syncs upper/'s disk when it unmounts an overlay: on
        // ext4, a journal commit that waits for the disk (about 1 ms here,
        // when the container exits). "volatile" (Linux 5.10) skips every
        // sync to upper/. Only for what will be thrown away (podman does the
        // same for its --rm containers): after a crash, a volatile upper/ is
        // not to be trusted, and the kernel refuses to mount it again.
        options += ",volatile";
    }
    // mount(2) copies at most one page of options: a longer string would be
    // cut off. That is why layers are named by short links (see store.hpp).
    long page = ::sysconf(_SC_PAGESIZE);
    if (static_cast<long>(options.size()) >= page) {
        throw UsageError(
            fmt::format("the image has too many layers ({}): the overlay options take {} bytes, "
                        "more than the {} the kernel reads",
                        lowers.size() - 1, options.size(), page - 1));
    }
    return options;
}
//! [ch04-options]

namespace {

// Does `rel` exist in the stack `lowers` (top first)? Each layer is read as
// overlayfs reads it: name by name, never through a symbolic link. A
// whiteout, a file or a symbolic link where a directory on the way should
// be, or an opaque directory on the way, hides the layers below.
bool exists_below(const std::vector<std::string>& lowers, const std::string& rel) {
    for (const std::string& layer : lowers) {
        bool opaque_on_the_way = false;
        bool here = true;
        for (size_t slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
            std::string ancestor = join_path(layer, rel.substr(0, slash));
            struct stat st {};
            if (::lstat(ancestor.c_str(), &st) != 0) {
                here = false;  // not in this layer
                break;
            }
            if (!S_ISDIR(st.st_mode)) {
                return false;  // a whiteout, file or link hides the directory below
            }
            opaque_on_the_way = opaque_on_the_way || is_opaque_dir(ancestor);
        }
        std::string path = join_path(layer, rel);
        struct stat st {};
        if (here && ::lstat(path.c_str(), &st) == 0) {
            return !is_whiteout(path);
        }
        if (opaque_on_the_way) {
            return false;
        }
    }
    return false;
}

std::vector<std::string> names_in(const std::string& dir) {
    std::vector<std::string> names;
    std::unique_ptr<DIR, int (*)(DIR*)> d{::opendir(dir.c_str()), ::closedir};
    while (d) {
        dirent* de = ::readdir(d.get());
        if (de == nullptr) {
            break;
        }
        std::string name = de->d_name;
        if (name != "." && name != "..") {
            names.push_back(name);
        }
    }
    return names;
}

//! [ch04-diff]
void walk_changes(const std::string& upper, const std::vector<std::string>& lowers, const std::string& rel,
                  std::vector<Change>& out) {
    std::vector<std::string> names = names_in(rel.empty() ? upper : join_path(upper, rel));
    for (const std::string& name : names) {
        std::string path = join_path(rel, name);
        std::string full = join_path(upper, path);
        // TODO(04.5): say what this entry of upper/ means, as `docker diff`
        //   does: push {kind, "/" + path} onto `out`, where kind is
        //   - 'D' when `full` is a whiteout, overlayfs' mark for "deleted"
        //     (is_whiteout(), layer.hpp: a character device 0/0). A whiteout
        //     is only a mark: go on with the next name (continue);
        //   - else 'C' when a lower layer has `path` (the file was copied up,
        //     or the directory has new entries), 'A' when none has. "Has" is
        //     what the container saw: exists_below(lowers, path), above,
        //     which stops at the first layer that has the name, and treats a
        //     whiteout or an opaque directory above as "no". Keep that answer
        //     in `below`: the code after this TODO uses it.
        //   Read overlayfs.rst, "whiteouts and opaque directories". The init
        //   layer is in `lowers` too, so an edited /etc/hosts is 'C'.
        //{ TODO(04.5)
        //| bool below = false;
        if (is_whiteout(full)) {
            out.push_back({'D', "/" + path});  // overlayfs' mark for "deleted"
            continue;
        }
        bool below = exists_below(lowers, path);
        out.push_back({below ? 'C' : 'A', "/" + path});
        //} TODO(04.5)
        struct stat st {};
        if (::lstat(full.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
            continue;
        }
        if (below && is_opaque_dir(full)) {
            // "rm -rf dir; mkdir dir": an opaque directory hides everything
            // the layers below had in it. Those entries were deleted.
            std::vector<std::string> kept = names_in(full);
            for (const std::string& layer : lowers) {
                struct stat below {};
                std::string there = join_path(layer, path);
                if (::lstat(there.c_str(), &below) != 0 || !S_ISDIR(below.st_mode)) {
                    continue;  // never list what a symbolic link in a layer points to
                }
                for (const std::string& child : names_in(there)) {
                    std::string deleted = "/" + join_path(path, child);
                    bool listed =
                        std::any_of(out.begin(), out.end(), [&](const Change& c) { return c.path == deleted; });
                    if (std::find(kept.begin(), kept.end(), child) == kept.end() && !listed &&
                        exists_below(lowers, join_path(path, child))) {
                        out.push_back({'D', deleted});
                    }
                }
            }
        }
        walk_changes(upper, lowers, path, out);
    }
}
//! [ch04-diff]

}  // namespace

std::vector<Change> container_changes(const std::string& upper, const std::vector<std::string>& lowers) {
    std::vector<Change> changes;
    walk_changes(upper, lowers, "", changes);
    std::sort(changes.begin(), changes.end(), [](const Change& a, const Change& b) { return a.path < b.path; });
    return changes;
}

void Images::add_run_options(CLI::App& run) {
    run.add_option("--name", name_, "Name the container (default: the first 12 digits of its id)");
    run.add_flag("--rm", auto_remove_, "Remove the container (its directory and read-write layer) when it exits");
}

//! [ch04-prepare]
void Images::prepare(Container& c) {
    // The forms of chapters 01-03 run without an image.
    if (!c.rootfs.empty() || c.command_after_dashes) {
        if (!name_.empty() || auto_remove_) {
            throw UsageError("--name and --rm need an image: run [OPTIONS] IMAGE [CMD...]");
        }
        return;
    }
    if ((c.clone_flags & CLONE_NEWNS) == 0) {
        throw UsageError("an image needs the mnt namespace (add mnt to --ns)");
    }
    if (c.command[0].find('/') != std::string::npos) {
        throw UsageError(
            fmt::format("\"{}\" is not an image; to run a host program without an image, put \"--\" "
                        "before it: run [OPTIONS] -- {}",
                        c.command[0], c.command[0]));
    }
    store_.emplace(c.store_root);
    c.auto_remove = auto_remove_;
    // Until config.json names the image, `rmi` must not delete it.
    Fd lock = store_->lock();
    Image image = store_->image(c.command[0]);
    trace::step(fmt::format("image {} is {}: {} layer(s), bottom first: {}", c.command[0], image.id.substr(0, 12),
                            image.layers.size(), fmt::join(image.layers, " ")));
    describe(c, image);
    make_container_dir(c);
    stack_layers(c);
    store_->save_container_config(config_);
    store_->save_container_state(c.id, ContainerState{});

    c.command = config_.command;
    c.env = config_.env;
    c.rootfs = c.dir + "/merged";
}

// config.json: the image and the command line, with the image's defaults.
void Images::describe(const Container& c, const Image& image) {
    config_.id = c.id;
    config_.name = name_.empty() ? c.id.substr(0, 12) : name_;
    config_.image = c.command[0];
    config_.image_id = image.id;
    config_.layers = image.layers;
    config_.command.assign(c.command.begin() + 1, c.command.end());
    if (config_.command.empty()) {
        config_.command = image.config.cmd;
    }
    if (config_.command.empty()) {
        throw UsageError(
            fmt::format("no command: the image {} has no Cmd, so give one: run {} CMD...", image.ref(), config_.image));
    }
    // The image's environment, then the runtime's defaults for what it lacks.
    config_.env = image.config.env;
    for (const std::string& kv : c.env) {
        std::string key = kv.substr(0, kv.find('=') + 1);
        bool set = std::any_of(config_.env.begin(), config_.env.end(),
                               [&](const std::string& have) { return have.rfind(key, 0) == 0; });
        if (!set) {
            config_.env.push_back(kv);
        }
    }
    config_.hostname = c.hostname;
    config_.working_dir = image.config.working_dir;
    config_.created = now_rfc3339();
    config_.auto_remove = c.auto_remove;
}

// Its folder and its name; a bad or taken name is refused first.
void Images::make_container_dir(Container& c) {
    store_->check_name(config_.name);
    c.dir = store_->container_dir(c.id);
    sys::mkdir(c.dir, 0700);
    store_->reserve_name(config_.name, c.id);
    name_taken_ = true;
    for (const char* sub : {"/init", "/upper", "/work", "/merged"}) {
        sys::mkdir(c.dir + sub, 0755);
    }
}

// The init layer, then the overlay's options: the stack of layers.
void Images::stack_layers(const Container& c) {
    std::string resolv;
    try {
        resolv = read_text_file("/etc/resolv.conf");
    } catch (const std::system_error&) {
        // no resolv.conf on the host: the container gets an empty one
    }
    // The image's layers from the newest down: as the overlay stacks them.
    std::vector<std::string> image_layers;
    for (auto layer = config_.layers.rbegin(); layer != config_.layers.rend(); ++layer) {
        image_layers.push_back(store_->layer_dir(*layer));
    }
    write_init_layer(c.dir + "/init", c.hostname, resolv, image_layers);

    std::string here = "containers/" + c.id;
    // TODO(04.1): stack the layers. Fill `lowers`, the overlay's lowerdir
    //   list, in overlayfs' order: the *top* layer first, the one whose files
    //   hide the others'. The top is the init layer (here + "/init", written
    //   just above), so that its /etc/hostname wins over any image's; then
    //   the image's layers, newest first. config_.layers lists them bottom
    //   first (as image JSON does), so walk it backwards. Name each layer by
    //   store_->short_link(id), "l/" and 16 digits, not by its directory:
    //   mount(2) copies one page of options, and 60 layers named
    //   "/var/lib/.../layers/<64 digits>" do not fit (overlay_options(),
    //   above, checks). Like here + "/init", these names are relative to the
    //   store: the child does chdir() there before mounting (TODO 04.2).
    //   Read overlayfs.rst, "Multiple lower layers". Then delete the throw.
    //{ TODO(04.1)
    //| std::vector<std::string> lowers;
    //| throw UsageError("TODO(04.1): no lowerdir yet, so the overlay has no layers to show");
    // lowerdir, top first: the init layer, then the image's layers from the
    // newest down; layers by their short links (see store.hpp).
    std::vector<std::string> lowers = {here + "/init"};
    for (auto layer = config_.layers.rbegin(); layer != config_.layers.rend(); ++layer) {
        lowers.push_back(store_->short_link(*layer));
    }
    //} TODO(04.1)
    // With --rm, upper/ goes when the container does: no need to sync it.
    options_ = overlay_options(lowers, here + "/upper", here + "/work", c.auto_remove);
}
//! [ch04-prepare]

void Images::join(Container& c) {
    if (!store_) {
        return;
    }
    state_.status = "running";
    state_.pid = c.pid;
    state_.started_at = now_rfc3339();
    store_->save_container_state(c.id, state_);
    started_ = true;
}

//! [ch04-mount]
void Images::setup_before_root(Container& c) {
    if (!store_) {
        return;
    }
    // TODO(04.2): mount the overlay on merged/ (c.rootfs, which prepare()
    //   set), so that chapter 03's pivot_root() makes it the container's "/".
    //   First chdir(2) to the store, store_->root(), with sys::chdir()
    //   (sys.hpp): options_ names every layer relative to it,
    //   and the kernel resolves them from the current directory of the
    //   process that mounts (ours, in this child only). Then
    //   sys::mount("overlay", c.rootfs, "overlay", 0, options_.c_str()): source
    //   "overlay" (a name only, shown in mountinfo), type "overlay", no
    //   flags, the options as data. This runs in the child, in its own mount
    //   namespace: when its last process exits, the kernel unmounts the
    //   overlay, and the host never sees it. Read mount(2) (the data
    //   argument), overlayfs.rst ("Upper and Lower"), and the trace of the
    //   reference: `ch04 --trace run --rm busybox true`. Delete the line
    //   below.
    //{ TODO(04.2)
    //| throw UsageError(fmt::format("TODO(04.2): nothing is mounted on {} yet: it is an empty directory", c.rootfs));
    // The options name layers relative to $ROOT. Relative names resolve from
    // the current directory: ours, in this child only.
    sys::chdir(store_->root());
    // In the container's own mount namespace: when its last process exits,
    // the kernel unmounts it. Nothing can leak onto the host.
    sys::mount("overlay", c.rootfs, "overlay", 0, options_.c_str());
    //} TODO(04.2)
}
//! [ch04-mount]

void Images::setup_after_root(Container& /*c*/) {
    if (!store_ || config_.working_dir.empty()) {
        return;
    }
    make_dirs(config_.working_dir);
    // Refuses an image's WorkingDir outside the container (/proc/self/fd/N).
    chdir_inside(config_.working_dir);
}

void Images::after_exit(Container& c) {
    // A --rm container's folder goes in a moment (cleanup): no one could
    // read an "exited" record, and writing it would cost a block allocated
    // and freed again. (A runtime killed before cleanup leaves "running"
    // with a dead pid, which ps and rm see through, as after any kill.)
    if (!store_ || !started_ || c.auto_remove) {
        return;
    }
    state_.status = "exited";
    state_.exit_code = c.exit_code;
    state_.oom_killed = c.oom_killed;
    state_.finished_at = now_rfc3339();
    store_->save_container_state(c.id, state_);
}

void Images::cleanup(Container& c) noexcept {
    if (!store_ || c.dir.empty() || (started_ && !c.auto_remove)) {
        return;  // no image; or it stays for `diff` and `rm`
    }
    try {
        // TODO(04.6): remove the container: give back its name, if
        //   prepare() took it (name_taken_), with store_->release_name(), then
        //   delete its directory c.dir with remove_tree() (state.hpp), and
        //   trace::step("removed <c.dir>"). The test above decided that it
        //   goes: with --rm, or when the start failed before join(). No
        //   umount first: the overlay on merged/ lived in the container's
        //   mount namespace, which the kernel tore down with its last
        //   process, so merged/ is a plain empty directory again. Compare
        //   Store::remove_container() (store.cpp), what `rm NAME` runs.
        //{ TODO(04.6)
        if (name_taken_) {
            store_->release_name(config_.name);
        }
        remove_tree(c.dir);
        trace::step(fmt::format("removed {}", c.dir));
        //} TODO(04.6)
    } catch (...) {
        // cleanup must not throw; `rm` can finish the job
    }
}

}  // namespace minidocker
