// ch09 - chapter 09: privileges: capabilities, seccomp, devices, users.
#include "cgroups.hpp"
#include "commit.hpp"
#include "lifecycle.hpp"
#include "namespaces.hpp"
#include "net.hpp"
#include "overlay.hpp"
#include "privileges.hpp"
#include "rootfs.hpp"
#include "volumes.hpp"

int main(int argc, char** argv) {
    minidocker::Runtime rt{"09", "privileges"};
    rt.add<minidocker::Namespaces>();  // 01
    rt.add<minidocker::Cgroups>();     // 02
    rt.add<minidocker::RootFs>();      // 03
    rt.add<minidocker::Images>();      // 04
    rt.add<minidocker::Volumes>();     // 05
    rt.add<minidocker::Lifecycle>();   // 06
    rt.add<minidocker::Commit>();      // 07
    rt.add<minidocker::Network>();     // 08
    rt.add<minidocker::Privileges>();  // 09
    return rt.main(argc, argv);
}
