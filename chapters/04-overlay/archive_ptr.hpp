/// \file
/// archive_ptr.hpp - libarchive's handles, owned: freed however a function
/// leaves, as Fd does for file descriptors.
///
/// Introduced in chapter 04 (layer.cpp); chapter 07's save and load use it.
///
/// \code{.cpp}
///   ReadArchive in{archive_read_new()};
///   Entry e{archive_entry_new()};
/// \endcode
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <memory>

namespace minidocker {

struct ArchiveReadFree {
    void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteFree {
    void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
    void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using ReadArchive = std::unique_ptr<archive, ArchiveReadFree>;
using WriteArchive = std::unique_ptr<archive, ArchiveWriteFree>;
using Entry = std::unique_ptr<archive_entry, EntryFree>;

}  // namespace minidocker
