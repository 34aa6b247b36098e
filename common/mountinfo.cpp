// mountinfo.cpp - see mountinfo.hpp.
#include "mountinfo.hpp"

#include <sstream>
#include <utility>

namespace minidocker {

std::string unescape_mountinfo(std::string_view field) {
    auto is_octal = [](char c) { return c >= '0' && c <= '7'; };
    std::string out;
    out.reserve(field.size());
    for (size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size() && is_octal(field[i + 1]) && is_octal(field[i + 2]) &&
            is_octal(field[i + 3])) {
            out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0'));
            i += 3;
        } else {
            out += field[i];
        }
    }
    return out;
}

std::vector<MountEntry> parse_mountinfo(std::string_view text) {
    std::vector<MountEntry> mounts;
    std::istringstream lines{std::string(text)};
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        MountEntry m;
        std::string root, point;
        if (!(words >> m.id >> m.parent >> m.device >> root >> point >> m.options)) {
            continue;
        }
        // Zero or more optional fields ("shared:1", "master:2"), then "-".
        std::string word;
        bool dash = false;
        while (words >> word) {
            if (word == "-") {
                dash = true;
                break;
            }
            m.optional += (m.optional.empty() ? "" : " ") + word;
        }
        std::string source;
        if (!dash || !(words >> m.fstype >> source)) {
            continue;
        }
        words >> m.super_options;  // may be missing
        m.root = unescape_mountinfo(root);
        m.point = unescape_mountinfo(point);
        m.source = unescape_mountinfo(source);
        mounts.push_back(std::move(m));
    }
    return mounts;
}

}  // namespace minidocker
