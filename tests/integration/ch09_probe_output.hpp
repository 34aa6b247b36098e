// ch09_probe_output.hpp - reading what chapter 09's tests print: the probe's
// "WHAT ok" / "WHAT ERRNO" lines and /proc/PID/status fields. Shared by
// ch09_escapes_test.cpp and ch09_privileges_test.cpp.
#pragma once

#include <string>

#include "harness.hpp"

namespace minidocker::test::ch09 {

// A result as a failed expectation shows it.
inline std::string shown(const Result& r) {
    return "exit " + std::to_string(r.code) + "\nstdout:\n" + r.out + "stderr:\n" + r.err;
}

// The line the probe (or a script) printed for step `what` ("mount EPERM"), or "".
inline std::string step(const Result& r, const std::string& what) {
    for (const std::string& line : lines(r.out)) {
        if (line.rfind(what + " ", 0) == 0) {
            return line;
        }
    }
    return "";
}

// True when the step failed as a privilege refusal does.
inline bool refused(const std::string& line) {
    for (const char* err : {" EPERM", " EACCES", " EROFS"}) {
        size_t n = std::string(err).size();
        if (line.size() > n && line.compare(line.size() - n, n, err) == 0) {
            return true;
        }
    }
    return false;
}

// The value of a /proc/PID/status field ("CapEff") in `text`, or "".
inline std::string field(const std::string& text, const std::string& name) {
    for (const std::string& line : lines(text)) {
        if (line.rfind(name + ":", 0) == 0) {
            return trim(line.substr(name.size() + 1));
        }
    }
    return "";
}

}  // namespace minidocker::test::ch09
