/// \file
/// layer.hpp - an image layer: a directory on disk, a tar on the wire.
///
/// Introduced in chapter 04; chapter 07 (commit, save) writes layers with it.
///
/// A layer is stored extracted, as a directory that overlayfs can use as a
/// lower layer. Deletions are kept the way overlayfs writes them (a character
/// device 0/0 named like the deleted file; an "opaque" directory has the
/// xattr trusted.overlay.opaque=y). In a tar, as OCI images carry layers,
/// the same facts are the empty files `.wh.NAME` and `.wh..wh..opq`.
///
/// \code{.cpp}
///   extract_layer("alpine.tar.gz", "/var/lib/minidocker/tmp/x");  // checks every name
///   std::string id = layer_digest("/var/lib/minidocker/tmp/x");   // 64 hex digits
///   write_layer_tar(dir, "/tmp/layer.tar");                       // the canonical tar
/// \endcode
///
/// A layer's id is the sha256 of its *canonical* tar: entries sorted by name,
/// numeric owners, whole-second times, no user names, no xattrs but the
/// whiteouts. The same content always gets the same id, wherever it came from.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace minidocker {

/// \fn void check_entry(std::string_view path, EntryKind kind, std::string_view link)
/// Throws UsageError when a tar entry named `path` (with `link`, the target of
/// a hard or symbolic link, or "") would write, or point, outside the layer:
/// an absolute path, a ".." component, a hard link to such a path, or a
/// relative symbolic link that climbs above the layer's root. (A symbolic
/// link to an absolute path is fine: in the container it resolves inside the
/// container's root, as /bin/sh -> /bin/busybox does.) A link's target is
/// judged by its own text: a chain through other links is not followed here.
/// Such a chain can only point out of the layer on the host, where nothing
/// follows it: extract_layer() never writes through a link, and in the
/// container it resolves inside the container's root.
enum class EntryKind { file, hardlink, symlink };
void check_entry(std::string_view path, EntryKind kind, std::string_view link);

/// Extracts the tar (plain or compressed) at `tar_path` into the existing
/// directory `dir`, turning OCI whiteouts into overlayfs ones. Refuses, with
/// UsageError, any entry check_entry() refuses, and never writes through a
/// symbolic link.
void extract_layer(const std::string& tar_path, const std::string& dir);

/// \fn void write_layer_tar(const std::string& dir, const ByteSink& sink, const EntryFilter& leave_out)
/// Streams `dir` as its canonical tar to `sink`, overlayfs whiteouts as OCI
/// ones. An entry `leave_out` says yes to ("etc/hosts", its lstat()) is not
/// in the tar, as if it were not in `dir` (chapter 07 takes the digest of a
/// container's read-write layer without its init layer's files this way).
using ByteSink = std::function<void(const void* data, size_t size)>;
using EntryFilter = std::function<bool(const std::string& path, const struct stat& st)>;
void write_layer_tar(const std::string& dir, const ByteSink& sink, const EntryFilter& leave_out = nullptr);
void write_layer_tar(const std::string& dir, const std::string& tar_path);

/// sha256 of the canonical tar of `dir`: the layer's id, 64 hex digits.
std::string layer_digest(const std::string& dir, const EntryFilter& leave_out = nullptr);

/// sha256 of some bytes, 64 hex digits (OpenSSL EVP).
std::string sha256_hex(std::string_view bytes);

/// sha256 of bytes as they stream by: update() with each piece, then hex().
class Sha256 {
public:
    Sha256();
    void update(const void* data, size_t size);
    std::string hex();  ///< 64 hex digits; call it once

private:
    std::unique_ptr<evp_md_ctx_st, void (*)(evp_md_ctx_st*)> ctx_;
};

/// Bytes of the regular files in `dir` (what `images` shows as SIZE).
unsigned long long tree_size(const std::string& dir);

/// overlayfs' marks, as they are on disk.
bool is_whiteout(const std::string& path);    ///< character device 0/0
bool is_opaque_dir(const std::string& path);  ///< xattr trusted.overlay.opaque=y

}  // namespace minidocker
