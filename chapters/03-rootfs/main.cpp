// ch03 - chapter 03: a root filesystem of its own, chroot vs pivot_root.
#include "cgroups.hpp"
#include "namespaces.hpp"
#include "rootfs.hpp"

int main(int argc, char** argv) {
    minidocker::Runtime rt{"03", "rootfs"};
    rt.add<minidocker::Namespaces>();  // 01
    rt.add<minidocker::Cgroups>();     // 02
    rt.add<minidocker::RootFs>();      // 03
    return rt.main(argc, argv);
}
