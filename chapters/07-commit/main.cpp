// ch07 - chapter 07: commit, the read-write layer becomes an image layer.
#include "cgroups.hpp"
#include "commit.hpp"
#include "lifecycle.hpp"
#include "namespaces.hpp"
#include "overlay.hpp"
#include "rootfs.hpp"
#include "volumes.hpp"

int main(int argc, char** argv) {
    minidocker::Runtime rt{"07", "commit"};
    rt.add<minidocker::Namespaces>();  // 01
    rt.add<minidocker::Cgroups>();     // 02
    rt.add<minidocker::RootFs>();      // 03
    rt.add<minidocker::Images>();      // 04
    rt.add<minidocker::Volumes>();     // 05
    rt.add<minidocker::Lifecycle>();   // 06
    rt.add<minidocker::Commit>();      // 07
    return rt.main(argc, argv);
}
