/// \file
/// inspect.hpp - chapter 06: `inspect`, everything about a container as
/// Docker's JSON.
///
/// One JSON object per container, with `docker inspect`'s field names, read
/// from the container's records (config.json, state.json, monitor.json,
/// chapter 05's mounts.json, chapter 08's inspect.json) and checked against
/// the kernel (is its PID 1 still the process state.json names?). `-f`
/// fills in a Go template instead (common/template.hpp):
///
/// \code{.unparsed}
///   ch06 inspect web                          [ { "Id": "...", "State": {...}, ... } ]
///   ch06 inspect -f '{{.State.Pid}}' web      4242
/// \endcode
#pragma once

#include <nlohmann/json.hpp>

#include "container_view.hpp"
#include "runtime.hpp"

namespace minidocker {

/// `inspect`'s JSON for one container, with Docker's field names.
nlohmann::json inspect_json(const ContainerView& view);

/// Registers `inspect [-f TEMPLATE] CONTAINER...`.
void add_inspect_command(Runtime& rt);

}  // namespace minidocker
