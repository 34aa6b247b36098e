// ch05 - chapter 05: volumes, bind mounts that do not break isolation.
#include "cgroups.hpp"
#include "namespaces.hpp"
#include "overlay.hpp"
#include "rootfs.hpp"
#include "volumes.hpp"

int main(int argc, char** argv) {
    minidocker::Runtime rt{"05", "volumes"};
    rt.add<minidocker::Namespaces>();  // 01
    rt.add<minidocker::Cgroups>();     // 02
    rt.add<minidocker::RootFs>();      // 03
    rt.add<minidocker::Images>();      // 04
    rt.add<minidocker::Volumes>();     // 05
    return rt.main(argc, argv);
}
