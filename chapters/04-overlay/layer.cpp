// layer.cpp - see layer.hpp. Tar reading and writing is libarchive's; the
// digest is OpenSSL's. What is ours: the safety checks, the whiteout
// translation and the canonical order.
#include "layer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <dirent.h>
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>
#include <vector>

#include "archive_ptr.hpp"
#include "error.hpp"
#include "fd.hpp"
#include "state.hpp"
#include "sys.hpp"

namespace minidocker {

namespace {

constexpr const char* whiteout_prefix = ".wh.";
constexpr const char* opaque_marker = ".wh..wh..opq";
constexpr const char* opaque_xattr = "trusted.overlay.opaque";

std::vector<std::string_view> components(std::string_view path) {
    std::vector<std::string_view> parts;
    size_t start = 0;
    while (start <= path.size()) {
        size_t slash = path.find('/', start);
        if (slash == std::string_view::npos) {
            slash = path.size();
        }
        std::string_view part = path.substr(start, slash - start);
        if (!part.empty() && part != ".") {
            parts.push_back(part);
        }
        start = slash + 1;
    }
    return parts;
}

[[noreturn]] void refuse(std::string_view path, std::string_view why) {
    throw UsageError(fmt::format("tar entry \"{}\": {}; refusing the whole archive", path, why));
}

void check_path(std::string_view entry, std::string_view path, std::string_view what) {
    if (!path.empty() && path[0] == '/') {
        refuse(entry, fmt::format("{} is absolute", what));
    }
    for (std::string_view part : components(path)) {
        if (part == "..") {
            refuse(entry, fmt::format("{} climbs out of the layer with \"..\"", what));
        }
    }
}

// "./usr/bin/" -> "usr/bin"
std::string clean_entry_name(const char* name) {
    std::string_view s = name != nullptr ? name : "";
    while (s.substr(0, 2) == "./") {
        s.remove_prefix(2);
    }
    while (!s.empty() && s.back() == '/') {
        s.remove_suffix(1);
    }
    return std::string(s == "." ? "" : s);
}

struct ResolverFree {
    void operator()(archive_entry_linkresolver* r) const { archive_entry_linkresolver_free(r); }
};

// Opens the directory `rel` below `root_fd`, creating what is missing, and
// refusing to follow any symbolic link on the way (O_NOFOLLOW on each step).
Fd open_dir_beneath(int root_fd, const std::string& rel) {
    Fd dir{::fcntl(root_fd, F_DUPFD_CLOEXEC, 0)};
    for (std::string_view part : components(rel)) {
        std::string name(part);
        if (::mkdirat(dir.get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
            throw_errno(fmt::format("mkdir(\"{}\")", rel));
        }
        Fd next{::openat(dir.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
        if (!next) {
            throw_errno(fmt::format("open(\"{}\", O_DIRECTORY|O_NOFOLLOW)", rel));
        }
        dir = std::move(next);
    }
    return dir;
}

//! [ch04-whiteout-in]
// An OCI whiteout in a tar becomes the mark overlayfs understands.
void extract_whiteout(int root_fd, const std::string& parent, const std::string& base) {
    Fd dir = open_dir_beneath(root_fd, parent);
    if (base == opaque_marker) {
        // "Everything below this directory in lower layers is gone."
        if (::fsetxattr(dir.get(), opaque_xattr, "y", 1, 0) != 0) {
            throw_errno(fmt::format("setxattr(\"{}\", \"{}\", \"y\")", parent, opaque_xattr));
        }
        return;
    }
    // "This one name in lower layers is gone": a character device 0/0.
    std::string name = base.substr(std::string_view(whiteout_prefix).size());
    ::unlinkat(dir.get(), name.c_str(), 0);
    if (::mknodat(dir.get(), name.c_str(), S_IFCHR | 0000, ::makedev(0, 0)) != 0) {
        throw_errno(fmt::format("mknod(\"{}/{}\", S_IFCHR, 0/0)", parent, name));
    }
}
//! [ch04-whiteout-in]

// The directories a tar does not list (`tar cf x.tar dir/file` has no entry
// "dir/") are made on the way, with the time of day and the importer's
// umask. Give them fixed ones, so that the layer, and so its id, depend on
// the tar's content only.
void fix_unlisted_dirs(const std::string& root, const std::set<std::string>& listed) {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        if (it->symlink_status().type() != fs::file_type::directory ||
            listed.count(it->path().lexically_relative(root).string()) != 0) {
            continue;
        }
        sys::chmod(it->path().string(), 0755);
        sys::utimensat(it->path().string(), 0, AT_SYMLINK_NOFOLLOW);
    }
    if (ec) {
        throw std::system_error(ec, fmt::format("walking \"{}\"", root));
    }
}

// The current entry's content, from the tar to the disk, block by block.
void copy_entry_data(archive* in, archive* out, const std::string& tar_path, const std::string& path) {
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int rc;
    while ((rc = archive_read_data_block(in, &block, &size, &offset)) == ARCHIVE_OK) {
        if (archive_write_data_block(out, block, size, offset) < ARCHIVE_WARN) {
            throw UsageError(fmt::format("{}: \"{}\": {}", tar_path, path, archive_error_string(out)));
        }
    }
    if (rc < ARCHIVE_WARN) {
        throw UsageError(fmt::format("{}: \"{}\": {}", tar_path, path, archive_error_string(in)));
    }
}

}  // namespace

void check_entry(std::string_view path, EntryKind kind, std::string_view link) {
    check_path(path, path, "its path");
    if (kind == EntryKind::hardlink) {
        check_path(path, link, fmt::format("its hard link target \"{}\"", link));
    }
    if (kind == EntryKind::symlink && !link.empty() && link[0] != '/') {
        // Resolve the target by name only, from the link's own directory.
        std::vector<std::string_view> parts = components(path);
        long depth = static_cast<long>(parts.size()) - 1;
        for (std::string_view part : components(link)) {
            depth += part == ".." ? -1 : 1;
            if (depth < 0) {
                refuse(path, fmt::format("its symbolic link target \"{}\" points outside the layer", link));
            }
        }
    }
}

//! [ch04-extract]
void extract_layer(const std::string& tar_path, const std::string& dir) {
    ReadArchive in{archive_read_new()};
    archive_read_support_format_tar(in.get());
    archive_read_support_filter_all(in.get());  // .gz, .xz, .zst, .bz2 ...
    if (archive_read_open_filename(in.get(), tar_path == "-" ? nullptr : tar_path.c_str(), 65536) != ARCHIVE_OK) {
        throw UsageError(fmt::format("{}: {}", tar_path, archive_error_string(in.get())));
    }
    char real[PATH_MAX];
    if (::realpath(dir.c_str(), real) == nullptr) {
        throw_errno(fmt::format("realpath(\"{}\")", dir));
    }
    std::string root = real;
    Fd root_fd = open_fd(root, O_RDONLY | O_DIRECTORY);

    // libarchive writes the files. Its SECURE flags are our second fence
    // (check_entry is the first): no "..", and never write *through* a
    // symbolic link, e.g. an entry "etc -> /etc" followed by "etc/passwd".
    WriteArchive out{archive_write_disk_new()};
    archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_OWNER |
                                                  ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS);
    std::set<std::string> listed_dirs;
    for (;;) {
        archive_entry* entry = nullptr;
        int rc = archive_read_next_header(in.get(), &entry);
        if (rc == ARCHIVE_EOF) {
            break;
        }
        if (rc < ARCHIVE_WARN) {
            throw UsageError(fmt::format("{}: {}", tar_path, archive_error_string(in.get())));
        }
        std::string path = clean_entry_name(archive_entry_pathname(entry));
        if (path.empty()) {
            continue;  // the entry for the layer's root, "./"
        }
        const char* hardlink = archive_entry_hardlink(entry);
        const char* symlink = archive_entry_symlink(entry);
        if (hardlink != nullptr) {
            check_entry(path, EntryKind::hardlink, hardlink);
        } else if (symlink != nullptr) {
            check_entry(path, EntryKind::symlink, symlink);
        } else {
            check_entry(path, EntryKind::file, "");
        }

        if (archive_entry_filetype(entry) == AE_IFDIR) {
            listed_dirs.insert(path);
        }
        size_t slash = path.rfind('/');
        std::string parent = slash == std::string::npos ? "" : path.substr(0, slash);
        std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
        if (base.rfind(whiteout_prefix, 0) == 0) {
            extract_whiteout(root_fd.get(), parent, base);
            continue;
        }

        archive_entry_set_pathname(entry, join_path(root, path).c_str());
        if (hardlink != nullptr) {
            archive_entry_set_hardlink(entry, join_path(root, clean_entry_name(hardlink)).c_str());
        }
        if (archive_write_header(out.get(), entry) < ARCHIVE_WARN) {
            throw UsageError(fmt::format("{}: \"{}\": {}", tar_path, path, archive_error_string(out.get())));
        }
        copy_entry_data(in.get(), out.get(), tar_path, path);
        if (archive_write_finish_entry(out.get()) < ARCHIVE_WARN) {
            throw UsageError(fmt::format("{}: \"{}\": {}", tar_path, path, archive_error_string(out.get())));
        }
    }
    // Directory times and permissions are set last, once nothing more is
    // written into them.
    if (archive_write_close(out.get()) < ARCHIVE_WARN) {
        throw UsageError(fmt::format("{}: {}", tar_path, archive_error_string(out.get())));
    }
    fix_unlisted_dirs(root, listed_dirs);
}
//! [ch04-extract]

namespace {

struct TarWriter {
    archive* out;
    archive_entry_linkresolver* links;
    const EntryFilter& leave_out;

    void write_file_data(const std::string& path) {
        Fd fd = open_fd(path, O_RDONLY | O_NOFOLLOW);
        char buf[64 * 1024];
        for (;;) {
            ssize_t n = ::read(fd.get(), buf, sizeof buf);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                throw_errno(fmt::format("read(\"{}\")", path));
            }
            if (n == 0) {
                return;
            }
            if (archive_write_data(out, buf, static_cast<size_t>(n)) < 0) {
                throw std::runtime_error(fmt::format("tar: \"{}\": {}", path, archive_error_string(out)));
            }
        }
    }

    void write_header(archive_entry* entry) {
        if (archive_write_header(out, entry) < ARCHIVE_WARN) {
            throw std::runtime_error(
                fmt::format("tar: \"{}\": {}", archive_entry_pathname(entry), archive_error_string(out)));
        }
    }

    // An empty regular file: how OCI tars spell whiteouts. A mark has no
    // owner or time worth keeping: fixed ones keep the digest about content.
    void write_marker(const std::string& name) {
        Entry e{archive_entry_new()};
        archive_entry_set_pathname(e.get(), name.c_str());
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_perm(e.get(), 0644);
        archive_entry_set_mtime(e.get(), 0, 0);
        write_header(e.get());
    }

    //! [ch04-canonical]
    // Depth first, names in byte order: the same tree always gives the same
    // bytes, so the same digest.
    void write_tree(const std::string& dir, const std::string& rel) {
        std::string here = rel.empty() ? dir : dir + "/" + rel;
        std::vector<std::string> names;
        {
            std::unique_ptr<DIR, int (*)(DIR*)> d{::opendir(here.c_str()), ::closedir};
            if (!d) {
                throw_errno(fmt::format("opendir(\"{}\")", here));
            }
            while (dirent* de = ::readdir(d.get())) {
                std::string name = de->d_name;
                if (name != "." && name != "..") {
                    names.push_back(name);
                }
            }
        }
        std::sort(names.begin(), names.end());
        for (const std::string& name : names) {
            std::string path = join_path(here, name);
            std::string entry_name = join_path(rel, name);
            struct stat st {};
            if (::lstat(path.c_str(), &st) != 0) {
                throw_errno(fmt::format("lstat(\"{}\")", path));
            }
            if (S_ISSOCK(st.st_mode)) {
                continue;  // tar has no sockets; they are remade by whoever listens
            }
            if (leave_out && leave_out(entry_name, st)) {
                continue;
            }
            if (S_ISCHR(st.st_mode) && st.st_rdev == ::makedev(0, 0)) {
                write_marker(join_path(rel, whiteout_prefix + name));
                continue;
            }
            Entry e{archive_entry_new()};
            archive_entry_set_pathname(e.get(), entry_name.c_str());
            archive_entry_copy_stat(e.get(), &st);
            // Only what the layer's content is: no access/change times, no
            // sub-second times, no user names.
            archive_entry_unset_atime(e.get());
            archive_entry_unset_ctime(e.get());
            archive_entry_unset_birthtime(e.get());
            archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, 0);
            if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
                if (n < 0) {
                    throw_errno(fmt::format("readlink(\"{}\")", path));
                }
                target[n] = '\0';
                archive_entry_set_symlink(e.get(), target);
            }
            archive_entry* first = e.get();
            archive_entry* spare = nullptr;
            archive_entry_linkify(links, &first, &spare);  // a second name of a file becomes a hard link
            if (first != nullptr) {
                write_header(first);
                if (S_ISREG(st.st_mode) && archive_entry_hardlink(first) == nullptr && st.st_size > 0) {
                    write_file_data(path);
                }
            }
            if (S_ISDIR(st.st_mode)) {
                if (is_opaque_dir(path)) {
                    write_marker(join_path(entry_name, opaque_marker));
                }
                write_tree(dir, entry_name);
            }
        }
    }
    //! [ch04-canonical]
};

la_ssize_t to_sink(archive* /*a*/, void* client, const void* buffer, size_t length) {
    (*static_cast<const ByteSink*>(client))(buffer, length);
    return static_cast<la_ssize_t>(length);
}

}  // namespace

void write_layer_tar(const std::string& dir, const ByteSink& sink, const EntryFilter& leave_out) {
    WriteArchive out{archive_write_new()};
    archive_write_set_format_pax_restricted(out.get());
    archive_write_set_bytes_in_last_block(out.get(), 1);  // no padding after the end marker
    if (archive_write_open(out.get(), const_cast<ByteSink*>(&sink), nullptr, to_sink, nullptr) != ARCHIVE_OK) {
        throw std::runtime_error(fmt::format("tar: {}", archive_error_string(out.get())));
    }
    std::unique_ptr<archive_entry_linkresolver, ResolverFree> links{archive_entry_linkresolver_new()};
    archive_entry_linkresolver_set_strategy(links.get(), ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
    TarWriter writer{out.get(), links.get(), leave_out};
    writer.write_tree(dir, "");
    if (archive_write_close(out.get()) != ARCHIVE_OK) {
        throw std::runtime_error(fmt::format("tar: {}", archive_error_string(out.get())));
    }
}

void write_layer_tar(const std::string& dir, const std::string& tar_path) {
    Fd fd = open_fd(tar_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write_layer_tar(dir, [&](const void* data, size_t size) {
        const char* p = static_cast<const char*>(data);
        while (size > 0) {
            ssize_t n = ::write(fd.get(), p, size);
            if (n < 0 && errno != EINTR) {
                throw_errno(fmt::format("write(\"{}\")", tar_path));
            }
            if (n > 0) {
                p += n;
                size -= static_cast<size_t>(n);
            }
        }
    });
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("EVP_DigestInit_ex(sha256) failed");
    }
}

void Sha256::update(const void* data, size_t size) { EVP_DigestUpdate(ctx_.get(), data, size); }

std::string Sha256::hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_DigestFinal_ex(ctx_.get(), digest, &size);
    std::string out;
    for (unsigned int i = 0; i < size; ++i) {
        out += fmt::format("{:02x}", digest[i]);
    }
    return out;
}

std::string layer_digest(const std::string& dir, const EntryFilter& leave_out) {
    Sha256 sha;
    write_layer_tar(
        dir, [&](const void* data, size_t size) { sha.update(data, size); }, leave_out);
    return sha.hex();
}

std::string sha256_hex(std::string_view bytes) {
    Sha256 sha;
    sha.update(bytes.data(), bytes.size());
    return sha.hex();
}

unsigned long long tree_size(const std::string& dir) {
    unsigned long long total = 0;
    std::unique_ptr<DIR, int (*)(DIR*)> d{::opendir(dir.c_str()), ::closedir};
    if (!d) {
        return 0;
    }
    while (dirent* de = ::readdir(d.get())) {
        std::string name = de->d_name;
        if (name == "." || name == "..") {
            continue;
        }
        std::string path = join_path(dir, name);
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            total += tree_size(path);
        } else if (S_ISREG(st.st_mode)) {
            total += static_cast<unsigned long long>(st.st_size);
        }
    }
    return total;
}

bool is_whiteout(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == ::makedev(0, 0);
}

bool is_opaque_dir(const std::string& path) {
    char value[2] = {};
    ssize_t n = ::lgetxattr(path.c_str(), opaque_xattr, value, sizeof value);
    return n == 1 && value[0] == 'y';
}

}  // namespace minidocker

// Why minidocker defines a libarchive function: a static program gets every
// format *writer* libarchive has, because archive_write_set_format_pax(),
// which we use, shares a file with libarchive's table of all writers. One of
// them, xar, is XML: it pulls in libxml2, which pulls in ICU (30 MB of
// Unicode tables) and its network code, and the linker warns about getaddrinfo
// and dlopen in a static program. We never write xar: this definition takes
// the table's reference, so none of that is linked. Reading is unaffected.
extern "C" int archive_write_set_format_xar(struct archive* a) {
    archive_set_error(a, ENOTSUP, "minidocker writes no xar archives");
    return ARCHIVE_FATAL;
}
