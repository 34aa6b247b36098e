// volume_commands.cpp - chapter 05's subcommands, in Docker's words:
//
//   volume create [NAME]      make a named volume (a random name without one)
//   volume ls [-q]            DRIVER  VOLUME NAME
//   volume inspect NAME...    JSON, as docker volume inspect prints it
//   volume rm NAME...         refused while a container uses it
#include <fmt/format.h>

#include <memory>

#include "error.hpp"
#include "runtime.hpp"
#include "state.hpp"
#include "store.hpp"
#include "volume_store.hpp"
#include "volumes.hpp"

namespace minidocker {

void Volumes::add_commands(Runtime& rt) {
    CLI::App* volume = rt.app().add_subcommand("volume", "Manage volumes");
    volume->require_subcommand(1);

    auto name = std::make_shared<std::string>();
    CLI::App* create = volume->add_subcommand("create", "Create a volume");
    create->add_option("name", *name, "Its name (default: a random id)");
    create->callback([&rt, name] {
        VolumeStore volumes{rt.root_dir()};
        std::string n = name->empty() ? random_id() : *name;
        volumes.create(n, name->empty());
        fmt::print("{}\n", n);
    });

    auto quiet = std::make_shared<bool>(false);
    CLI::App* ls = volume->add_subcommand("ls", "List volumes");
    ls->add_flag("-q,--quiet", *quiet, "Only the names");
    ls->callback([&rt, quiet] {
        VolumeStore volumes{rt.root_dir()};
        if (!*quiet) {
            fmt::print("{:<10} {}\n", "DRIVER", "VOLUME NAME");
        }
        for (const VolumeInfo& v : volumes.list()) {
            if (*quiet) {
                fmt::print("{}\n", v.name);
            } else {
                fmt::print("{:<10} {}\n", "local", v.name);
            }
        }
    });

    auto names = std::make_shared<std::vector<std::string>>();
    CLI::App* inspect = volume->add_subcommand("inspect", "Show volumes as JSON");
    inspect->add_option("name", *names, "Volume names")->required();
    inspect->callback([&rt, names] {
        VolumeStore volumes{rt.root_dir()};
        nlohmann::json all = nlohmann::json::array();
        for (const std::string& n : *names) {
            std::optional<VolumeInfo> v = volumes.find(n);
            if (!v) {
                throw UsageError(fmt::format("No such volume: {}", n));
            }
            all.push_back(*v);
        }
        fmt::print("{}\n", all.dump(4));
    });

    auto remove = std::make_shared<std::vector<std::string>>();
    CLI::App* rm = volume->add_subcommand("rm", "Remove volumes (refused while a container uses one)");
    rm->add_option("name", *remove, "Volume names")->required();
    rm->callback([&rt, remove] {
        VolumeStore volumes{rt.root_dir()};
        Store store{rt.root_dir()};
        Fd lock = store.lock();
        for (const std::string& n : *remove) {
            volumes.remove(n);
            fmt::print("{}\n", n);
        }
    });
}

}  // namespace minidocker
