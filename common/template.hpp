/// \file
/// template.hpp - Docker's `--format`: a small subset of Go's text/template.
///
/// A tool, not a chapter's idea: chapter 06's `inspect -f TEMPLATE` uses it,
/// as `docker inspect --format` uses Go's.
///
/// \code{.cpp}
///   render_template("{{.State.Pid}}", info);                    // "4242"
///   render_template("{{json .State}}", info);                   // {"ExitCode":0,"Pid":4242,...}
///   render_template("{{range .Mounts}}{{.Source}} {{end}}", info);
/// \endcode
///
/// What the subset has, with Go's meaning:
/// * literal text, copied as it is; actions {{ ... }}. `{{- ` and ` -}}` trim
///   the white space of the literal text on their side.
/// * `.` (the data itself, or the element inside range) and field paths
///   `.A.B.C`: object keys, case-sensitive. A missing key, or a field of
///   something that is not an object, is an error, as a missing field of a
///   Docker struct is.
/// * string constants ("a\tb" or `raw`) and integer constants.
/// * the functions `json X` (compact JSON) and `index X KEY...` (object key or
///   array position; a missing key gives no value, as for a Go map).
/// * `if X` and `range X` (over an array, or an object's values in key order;
///   null is empty), each with an optional `else`, closed by `end`. X is false
///   when it is false, 0, "", null, or an empty array or object.
/// * values print as Go's fmt \%v prints them: strings raw, numbers as numbers
///   (a float as Go's \%g: 0.5, 3, 1e+06), true/false, null as \<no value\>,
///   arrays as [a b c] and objects as map[k1:v1 k2:v2] with sorted keys.
///
/// Not there: variables ($x), pipelines (|), parentheses, with, define,
/// comments and Go's other functions (len, eq, ...); each is an error.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace minidocker {

/// Renders `text` against `data` (the JSON `inspect` prints for one
/// container). Throws UsageError with one line that names the problem and
/// where it is: `template: unclosed action at offset 4 in "pid {{.State.Pid"`,
/// `template: no field "Foo" in .State at offset 0 in "{{.State.Foo}}"`.
std::string render_template(const std::string& text, const nlohmann::json& data);

}  // namespace minidocker
