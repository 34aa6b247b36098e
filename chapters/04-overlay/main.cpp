// ch04 - chapter 04: images, overlayfs and the init layer.
#include "cgroups.hpp"
#include "namespaces.hpp"
#include "overlay.hpp"
#include "rootfs.hpp"

int main(int argc, char** argv) {
    minidocker::Runtime rt{"04", "overlay"};
    rt.add<minidocker::Namespaces>();  // 01
    rt.add<minidocker::Cgroups>();     // 02
    rt.add<minidocker::RootFs>();      // 03
    rt.add<minidocker::Images>();      // 04
    return rt.main(argc, argv);
}
