/// \file
/// oci_archive.hpp - chapter 07: images on the wire, as OCI image layout tars.
///
/// `save` writes, and `load` reads, the format every OCI tool knows (umoci,
/// skopeo, podman, containerd, Docker 25+): a tar of
///
/// \code{.unparsed}
///   oci-layout                 {"imageLayoutVersion": "1.0.0"}
///   index.json                 the image index: one manifest per image,
///                              named by annotations
///   blobs/sha256/<digest>      content-addressed blobs: each manifest, each
///                              image config, each layer (a tar whose
///                              deletions are ".wh.NAME" files)
/// \endcode
///
/// \code{.cpp}
///   save_archive(store, {store.image("web:v1")}, "/tmp/web.tar");
///   for (const Image& image : load_archive(store, "/tmp/web.tar")) ...
/// \endcode
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "store.hpp"

namespace minidocker {

/// The OCI image config of `image` (architecture, os, config, rootfs.diff_ids,
/// history), given the sha256 of each layer's tar, bottom first.
nlohmann::json oci_image_config(const Image& image, const std::vector<std::string>& diff_ids);

/// The image `config` of an OCI image config, back in our words.
ImageConfig image_config_from_oci(const nlohmann::json& config);

/// Writes `images` as an OCI image layout tar at `path` ("-": standard
/// output). The file appears whole or not at all (written aside, renamed).
void save_archive(const Store& store, const std::vector<Image>& images, const std::string& path);

/// Reads an OCI image layout tar (ours, or made by another tool; plain or
/// compressed) from `path` ("-": standard input), adds its layers and images
/// to the store and returns the images. Every blob's digest is checked, and
/// every entry's name too (no absolute paths, no "..", no links). On any
/// failure the store is left as it was and UsageError says why. An image's
/// name comes from the index's annotations "io.containerd.image.name"
/// ("web:v1") or "org.opencontainers.image.ref.name" (a tag, or a whole
/// reference); `default_name` is used for a tag alone or no name at all.
std::vector<Image> load_archive(const Store& store, const std::string& path, const std::string& default_name);

}  // namespace minidocker
